"""The audit trail proves its end too (issue 13): sealed events and signed checkpoints of the
head. Deleting the last event, appending or inserting one with a correctly computed hash,
changing one: each is found by ``marketplace audit verify``, which names the event. The latest
checkpoint is published on the disclosure page.

Tampering is done as an intruder with the database but not the key would: raw SQL behind the
application's back, hashes computed exactly as the application computes them.
"""

from __future__ import annotations

import os
import stat
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.audit import checkpoints, keys
from marketplace.audit.checkpoints import TrailBroken, verify_trail, write_checkpoint
from marketplace.audit.models import AuditCheckpoint, AuditEvent
from marketplace.audit.services import content_hash, record_event, verify_chain
from marketplace.db import utcnow
from marketplace.roles import Role
from tests.conftest import BAIYIN


@pytest.fixture
def chain(db: Any, make_user: Any, region: Any) -> list[int]:
    admin = make_user(Role.ADMIN, [region(BAIYIN)])
    for n in range(6):
        record_event("test_event", admin, admin, after={"n": n, "文字": "中文"})
        db.session.commit()
    return _ids(db)


def _ids(db: Any) -> list[int]:
    return list(db.session.scalars(sa.select(AuditEvent.id).order_by(AuditEvent.id)))


def _cli(app: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["audit", *args])


def _behind_the_back(db: Any, sql: str, **params: Any) -> None:
    with db.engine.begin() as conn:
        conn.execute(sa.text(sql), params)
    db.session.expire_all()


def _forge(db: Any, prev_id: int | None, event_id: int | None = None, seal: str = "") -> int:
    """An event with a correctly computed hash linking to ``prev_id`` (the last one when None),
    inserted behind the application's back: everything but a seal, which needs the key."""
    if prev_id is None:
        prev_id = _ids(db)[-1]
    prev = db.session.get(AuditEvent, prev_id)
    forged = AuditEvent(
        created_at=utcnow(), actor_id=None, actor_role="", action="user_created",
        object_type="user", object_id=1, before=None, after={"role": "superuser"}, ip="",
        region_path="",
    )  # fmt: skip
    forged.prev_hash = prev.hash
    forged.hash = content_hash(forged, prev.hash)
    values = {
        c.name: getattr(forged, c.key)
        for c in AuditEvent.__table__.columns
        if c.name not in ("id", "seal")
    }
    values["seal"] = seal
    if event_id is not None:
        values["id"] = event_id
    with db.engine.begin() as conn:
        new_id = conn.execute(AuditEvent.__table__.insert().values(**values)).inserted_primary_key
    db.session.expire_all()
    assert new_id is not None
    return int(new_id[0])


def _problem(app: Any) -> tuple[Any, str]:
    report = verify_trail()
    result = _cli(app, "verify")
    assert report.problem is not None, "the tampering went unnoticed"
    assert result.exit_code != 0
    return report.problem, result.output


# --- intact -----------------------------------------------------------------------------------


def test_checkpoint_signs_the_head_and_an_intact_trail_verifies(
    app: Any, db: Any, chain: list[int]
) -> None:
    result = _cli(app, "verify")
    assert result.exit_code == 0 and "no checkpoint yet" in result.output
    written = _cli(app, "checkpoint")
    assert written.exit_code == 0, written.output
    checkpoint = db.session.scalar(sa.select(AuditCheckpoint))
    last = db.session.get(AuditEvent, chain[-1])
    assert (checkpoint.seq, checkpoint.event_count, checkpoint.last_event_id) == (1, 6, chain[-1])
    assert checkpoint.head_hash == last.hash and checkpoint.head_hash in written.output
    # Events go on after the checkpoint: still intact, counted as not yet covered.
    record_event("later_event", None)
    db.session.commit()
    report = verify_trail()
    assert report.intact and report.events == 7 and report.after_checkpoint == 1
    verified = _cli(app, "verify")
    assert verified.exit_code == 0 and "intact" in verified.output
    assert "checkpoint 1" in verified.output and "1 events since" in verified.output
    second = write_checkpoint()
    assert (second.seq, second.event_count, second.prev_signature) == (2, 7, checkpoint.signature)
    assert verify_trail().intact and verify_chain() is None


def test_every_event_is_sealed_with_the_key(db: Any, chain: list[int]) -> None:
    key = keys.audit_key()
    for event in db.session.scalars(sa.select(AuditEvent)):
        assert event.seal == keys.mac(key, "audit-event", event.hash)


# --- the end of the trail ---------------------------------------------------------------------


def test_deleting_the_last_event_is_found(app: Any, db: Any, chain: list[int]) -> None:
    write_checkpoint()
    assert verify_chain() is None
    _behind_the_back(db, "DELETE FROM audit_event WHERE id = :id", id=chain[-1])
    assert verify_chain() is None  # the chain alone still links up: what issue 13 found
    problem, output = _problem(app)
    assert (problem.kind, problem.event_id) == ("deleted", chain[-1])
    assert f"audit event {chain[-1]} was deleted" in output


def test_deleting_the_last_events_is_found(app: Any, db: Any, chain: list[int]) -> None:
    write_checkpoint()
    _behind_the_back(db, "DELETE FROM audit_event WHERE id >= :id", id=chain[-3])
    problem, output = _problem(app)
    assert (problem.kind, problem.event_id, problem.missing) == ("deleted", chain[-3], 3)
    assert f"3 audit events were deleted, from event {chain[-3]}" in output


def test_appending_an_event_with_a_correct_hash_is_found(
    app: Any, db: Any, chain: list[int]
) -> None:
    write_checkpoint()
    forged = _forge(db, None)
    assert verify_chain() is None  # it links up: what issue 13 found
    problem, output = _problem(app)
    assert (problem.kind, problem.event_id, problem.reason) == ("inserted", forged, "seal")
    assert f"audit event {forged} was inserted" in output


def test_an_appended_event_is_found_before_any_checkpoint_too(
    app: Any, db: Any, chain: list[int]
) -> None:
    forged = _forge(db, None)
    problem, _output = _problem(app)
    assert (problem.kind, problem.event_id) == ("inserted", forged)


# --- the middle -------------------------------------------------------------------------------


def _gap_after(db: Any, event_id: int) -> None:
    """Room for an id after ``event_id``: ids are not hashed, so the chain stays whole."""
    _behind_the_back(db, "UPDATE audit_event SET id = id + 100 WHERE id > :id", id=event_id)


def test_inserting_an_event_with_a_correct_hash_names_it_not_the_next(
    app: Any, db: Any, chain: list[int]
) -> None:
    _gap_after(db, chain[2])
    write_checkpoint()
    forged = _forge(db, chain[2], event_id=chain[2] + 1)
    problem, output = _problem(app)
    assert (problem.kind, problem.event_id) == ("inserted", forged)
    assert f"audit event {forged} was inserted" in output
    assert str(chain[3] + 100) not in output  # not the event after it


def test_an_inserted_event_is_named_in_a_trail_without_seals(
    app: Any, db: Any, chain: list[int]
) -> None:
    """Events written before migration 0012 carry no seal: the chain tells the inserted one
    by the next event linking past it."""
    _behind_the_back(db, "UPDATE audit_event SET seal = ''")
    _gap_after(db, chain[2])
    forged = _forge(db, chain[2], event_id=chain[2] + 1)
    problem, _output = _problem(app)
    assert (problem.kind, problem.event_id, problem.reason) == ("inserted", forged, "link")


def test_changing_an_event_is_found(app: Any, db: Any, chain: list[int]) -> None:
    write_checkpoint()
    _behind_the_back(db, "UPDATE audit_event SET action = 'innocent' WHERE id = :id", id=chain[2])
    problem, output = _problem(app)
    assert (problem.kind, problem.event_id, problem.reason) == ("changed", chain[2], "content")
    assert f"audit event {chain[2]} was changed" in output


def test_changing_an_event_and_its_hash_is_found(app: Any, db: Any, chain: list[int]) -> None:
    write_checkpoint()
    event = db.session.get(AuditEvent, chain[2])
    event.action = "innocent"
    rehashed = content_hash(event, event.prev_hash)
    db.session.rollback()
    _behind_the_back(
        db, "UPDATE audit_event SET action = 'innocent', hash = :hash WHERE id = :id",
        hash=rehashed, id=chain[2],
    )  # fmt: skip
    problem, output = _problem(app)
    assert (problem.kind, problem.event_id) == ("changed", chain[2])
    assert f"audit event {chain[2]} was changed" in output


def test_deleting_an_event_in_the_middle_names_it(app: Any, db: Any, chain: list[int]) -> None:
    write_checkpoint()
    _behind_the_back(db, "DELETE FROM audit_event WHERE id = :id", id=chain[2])
    problem, output = _problem(app)
    assert (problem.kind, problem.event_id) == ("deleted", chain[2])
    assert f"audit event {chain[2]} was deleted" in output


# --- the checkpoints themselves ---------------------------------------------------------------


def test_a_checkpoint_changed_or_removed_is_found(app: Any, db: Any, chain: list[int]) -> None:
    for _ in range(3):
        write_checkpoint()
    _behind_the_back(db, "UPDATE audit_checkpoint SET event_count = 5 WHERE seq = 3")
    problem, output = _problem(app)
    assert (problem.kind, problem.reason, problem.checkpoint) == ("checkpoint", "forged", 3)
    assert "checkpoint 3" in output
    _behind_the_back(db, "DELETE FROM audit_checkpoint WHERE seq >= 2")
    write_checkpoint()  # number 2 again, signing after number 1: intact
    _behind_the_back(db, "DELETE FROM audit_checkpoint WHERE seq = 1")
    problem, output = _problem(app)
    assert (problem.kind, problem.reason, problem.checkpoint) == ("checkpoint", "missing", 1)


def test_no_checkpoint_vouches_for_an_altered_trail(app: Any, db: Any, chain: list[int]) -> None:
    _behind_the_back(db, "UPDATE audit_event SET action = 'innocent' WHERE id = :id", id=chain[1])
    with pytest.raises(TrailBroken, match=f"audit event {chain[1]} was changed"):
        write_checkpoint()
    result = _cli(app, "checkpoint")
    assert result.exit_code != 0 and "no checkpoint written" in result.output
    assert db.session.scalar(sa.select(sa.func.count(AuditCheckpoint.id))) == 0


def test_events_appended_while_the_trail_is_read_are_covered(
    db: Any, chain: list[int], monkeypatch: Any
) -> None:
    """The long read takes no lock; what was appended meanwhile is checked under the chain's
    lock and counted."""
    read = checkpoints.verify_trail

    def read_then_more_arrive() -> Any:
        report = read()
        for n in range(2):
            record_event("meanwhile", None, after={"n": n})
        db.session.commit()
        return report

    monkeypatch.setattr(checkpoints, "verify_trail", read_then_more_arrive)
    checkpoint = write_checkpoint()
    monkeypatch.undo()
    ids = _ids(db)
    assert (checkpoint.event_count, checkpoint.last_event_id) == (8, ids[-1])
    assert verify_trail().intact


# --- the key ------------------------------------------------------------------------------


def test_the_key_file_is_made_once_outside_the_database(app: Any, tmp_path: Any) -> None:
    with app.app_context():
        app.config["INSTANCE_DIR"], saved = str(tmp_path), app.config["INSTANCE_DIR"]
        try:
            key = keys.audit_key()
            path = tmp_path / keys.KEY_FILE
            assert path.read_text().strip().encode() == key and len(key) == 64
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
            keys._read.clear()
            assert keys.audit_key() == key  # read again, not made again
        finally:
            app.config["INSTANCE_DIR"] = saved


def test_a_checkpoint_signed_with_another_key_is_told_apart(
    app: Any, db: Any, monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, keys.SETTING, "k" * 40)  # the setting wins over the file
    for n in range(3):
        record_event("test_event", None, after={"n": n})
    db.session.commit()
    write_checkpoint()
    assert verify_trail().intact
    monkeypatch.setitem(app.config, keys.SETTING, "")  # back to the key file: not the signer
    problem, output = _problem(app)
    assert (problem.kind, problem.reason) == ("checkpoint", "other_key")
    assert "AUDIT_CHECKPOINT_KEY" in output
    monkeypatch.setitem(app.config, keys.SETTING, "short")
    with pytest.raises(RuntimeError, match="at least 32"):
        keys.audit_key()


# --- published ----------------------------------------------------------------------------


def test_the_disclosure_page_publishes_the_latest_checkpoint(
    client: Any, db: Any, chain: list[int]
) -> None:
    page = client.get("/disclosure").get_data(as_text=True)
    assert 'id="audit-checkpoint"' in page and "审计记录尚未签署检查点" in page
    write_checkpoint()
    record_event("later_event", None)
    db.session.commit()
    latest = write_checkpoint()
    page = client.get("/disclosure").get_data(as_text=True)
    assert f'<code class="text-break" id="audit-checkpoint-hash">{latest.head_hash}</code>' in page
    assert "第 2 号检查点" in page and "共有 7 条" in page
    assert "北京时间" in page  # dated, in Beijing time
