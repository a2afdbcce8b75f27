"""Signed checkpoints of the trail's head, and the check of the whole trail against them.

The hash chain alone proves that no event was changed, or removed from the middle; it cannot
prove where it ends: deleting the last events, or appending one whose hash was computed
correctly, leaves a chain that links up. Two things close that gap, both made with the audit key
(``keys.py``), which the database does not hold:

- every event carries a seal (its hash signed with the key): an event written behind the
  application's back has none that checks out, wherever it was put;
- a checkpoint signs the head at a moment (how many events, the last one's id and hash), written
  by the periodic job and by ``marketplace audit checkpoint``. Events deleted from the end show
  as missing from the last checkpoint. Checkpoints are numbered and each signs the one before,
  so one removed from its table shows as well; the latest is published (dated) on the public
  disclosure page, so that removing the latest ones shows to anyone who noted it.

``verify_trail`` (``marketplace audit verify``) reads the whole trail once and names the first
event changed, inserted or deleted: the inserted one itself, not the one after it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace.audit.keys import audit_key, key_id, mac, same
from marketplace.audit.models import AuditCheckpoint, AuditEvent
from marketplace.audit.services import GENESIS, _take_chain_lock, content_hash, seal_of
from marketplace.db import utcnow
from marketplace.extensions import db

KIND = "audit-checkpoint-v1"
BATCH = 5000
# Events remembered behind the one read: an event linking back to one of them tells that the
# events in between were inserted.
WINDOW = 1000


@dataclass(frozen=True)
class TrailProblem:
    """The first thing wrong. ``event_id``: the event changed or inserted, or the first one
    missing (None when a deletion left no id to name, e.g. before the first event)."""

    kind: str  # "changed" | "inserted" | "deleted" | "checkpoint"
    event_id: int | None
    # content: differs from its hash; seal: no valid seal; link: the chain breaks there;
    # checkpoint: the chain differs from a checkpoint of it; forged / other_key / missing /
    # order: the checkpoints themselves
    reason: str
    after_id: int | None = None  # deleted: the last event kept before the gap
    before_id: int | None = None  # deleted: the first event kept after it; else a range's end
    missing: int | None = None  # deleted: how many, when a checkpoint says
    checkpoint: int | None = None  # the checkpoint's number

    def describe(self) -> str:
        where = f" (checkpoint {self.checkpoint})" if self.checkpoint is not None else ""
        if self.kind == "checkpoint":
            return {
                "forged": f"checkpoint {self.checkpoint} does not carry a valid signature: it"
                " was written or changed outside the application.",
                "other_key": f"checkpoint {self.checkpoint} was signed with another key: is"
                " AUDIT_CHECKPOINT_KEY (or instance/audit-checkpoint.key) the one it was?",
                "missing": f"checkpoint {self.checkpoint} is missing: it was deleted.",
                "order": f"checkpoint {self.checkpoint} counts fewer events than the one"
                " before it.",
            }[self.reason]
        if self.kind == "deleted":
            if self.event_id is not None and (self.missing or 1) == 1:
                return f"audit event {self.event_id} was deleted{where}."
            if self.event_id is not None:
                return (
                    f"{self.missing} audit events were deleted, from event {self.event_id}{where}."
                )
            span = f"after event {self.after_id}" if self.after_id is not None else "at the start"
            if self.before_id is not None:
                span += f", before event {self.before_id}"
            return f"audit events were deleted {span}{where}."
        why = {
            "content": "its content does not match its hash",
            "seal": "it carries no valid seal (it was written outside the application, or"
            " sealed with another key: is AUDIT_CHECKPOINT_KEY the same for every process?)",
            "link": "the next event does not link to it",
            "checkpoint": "the chain was recomputed and differs from a checkpoint"
            + (f" up to event {self.before_id}" if self.before_id is not None else ""),
        }[self.reason]
        return f"audit event {self.event_id} was {self.kind}: {why}{where}."


@dataclass(frozen=True)
class TrailReport:
    problem: TrailProblem | None
    events: int  # read and found in order (up to the problem, if any)
    last_event_id: int | None
    head_hash: str
    checkpoint: AuditCheckpoint | None  # the latest checkpoint, when its signature holds
    after_checkpoint: int  # events after it: not covered by a checkpoint yet
    sealing: bool = False  # a sealed event was read: every later one must be sealed
    head_sealed: bool = False

    @property
    def intact(self) -> bool:
        return self.problem is None


class TrailBroken(RuntimeError):
    def __init__(self, problem: TrailProblem) -> None:
        super().__init__(problem.describe())
        self.problem = problem


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def signature_of(checkpoint: AuditCheckpoint, key: bytes) -> str:
    text = "|".join([
        str(checkpoint.seq), _stamp(checkpoint.created_at), str(checkpoint.event_count),
        "" if checkpoint.last_event_id is None else str(checkpoint.last_event_id),
        checkpoint.head_hash, checkpoint.prev_signature,
    ])  # fmt: skip
    return mac(key, KIND, text)


def latest_checkpoint() -> AuditCheckpoint | None:
    return db.session.scalar(
        sa.select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)
    )


def write_checkpoint() -> AuditCheckpoint:
    """Check the trail, then sign its head; committed. Refused (``TrailBroken``) when the trail
    does not verify: a checkpoint must never vouch for a trail already altered.

    The long read runs without a lock; the events appended meanwhile are checked under the
    chain's lock, which is held only for them and the checkpoint (event writers wait that
    long)."""
    report = verify_trail()
    if report.problem is not None:
        raise TrailBroken(report.problem)
    key = audit_key()
    _take_chain_lock()
    walk = _Walk(key, [])
    walk.resume(report)
    tail = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.id > (report.last_event_id or 0))
        .order_by(AuditEvent.id)
    ).all()
    for event, following in zip(tail, [*tail[1:], None][: len(tail)], strict=True):
        problem = walk.step(event, following)
        if problem is not None:
            db.session.rollback()
            raise TrailBroken(problem)
    last = report.checkpoint
    checkpoint = AuditCheckpoint(
        seq=(last.seq + 1) if last is not None else 1,
        created_at=utcnow(),
        event_count=walk.count,
        last_event_id=walk.prev_id,
        head_hash=walk.prev_hash,
        prev_signature=last.signature if last is not None else "",
        key_id=key_id(key),
    )
    checkpoint.signature = signature_of(checkpoint, key)
    db.session.add(checkpoint)
    db.session.commit()
    return checkpoint


def verify_trail() -> TrailReport:
    """The checkpoints' signatures and order, then every event in id order: its content, its
    seal, its link to the one before, and the head at each checkpoint."""
    key = audit_key()
    with Session(db.engine) as reader:
        checkpoints = list(reader.scalars(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.seq)))
        reader.expunge_all()
        trusted: AuditCheckpoint | None = None
        walk = _Walk(key, checkpoints)
        problem = _check_checkpoints(checkpoints, key)
        if problem is None:
            trusted = checkpoints[-1] if checkpoints else None
            events = _events(reader)
            current = next(events, None)
            while current is not None and problem is None:
                following = next(events, None)
                problem = walk.step(current, following)
                current = following
            if problem is None:
                problem = walk.finish()
    covered = trusted.event_count if trusted is not None else 0
    return TrailReport(
        problem=problem, events=walk.count, last_event_id=walk.prev_id,
        head_hash=walk.prev_hash, checkpoint=trusted,
        after_checkpoint=max(walk.count - covered, 0), sealing=walk.sealing,
        head_sealed=walk.prev_sealed,
    )  # fmt: skip


def _events(reader: Session) -> Iterator[AuditEvent]:
    last = 0
    while True:
        batch = reader.scalars(
            sa.select(AuditEvent).where(AuditEvent.id > last).order_by(AuditEvent.id).limit(BATCH)
        ).all()
        if not batch:
            return
        yield from batch
        last = batch[-1].id
        reader.expunge_all()


def _check_checkpoints(checkpoints: list[AuditCheckpoint], key: bytes) -> TrailProblem | None:
    mine = key_id(key)
    previous: AuditCheckpoint | None = None
    for checkpoint in checkpoints:
        if checkpoint.key_id != mine:
            return TrailProblem("checkpoint", None, "other_key", checkpoint=checkpoint.seq)
        if not same(checkpoint.signature, signature_of(checkpoint, key)):
            return TrailProblem("checkpoint", None, "forged", checkpoint=checkpoint.seq)
        expected = previous.seq + 1 if previous is not None else 1
        if checkpoint.seq != expected:
            return TrailProblem("checkpoint", None, "missing", checkpoint=expected)
        if not same(checkpoint.prev_signature, previous.signature if previous else ""):
            return TrailProblem("checkpoint", None, "missing", checkpoint=checkpoint.seq - 1)
        if previous is not None and (
            checkpoint.event_count < previous.event_count
            or (checkpoint.last_event_id or 0) < (previous.last_event_id or 0)
        ):
            return TrailProblem("checkpoint", None, "order", checkpoint=checkpoint.seq)
        previous = checkpoint
    return None


class _Walk:
    """The check of events in id order, one at a time, with the next one in view."""

    def __init__(self, key: bytes, checkpoints: list[AuditCheckpoint]) -> None:
        self.key = key
        self.marks = deque(c for c in checkpoints if c.last_event_id is not None)
        self.last_mark = max((c.last_event_id or 0 for c in checkpoints), default=0)
        self.count = 0
        self.prev_id: int | None = None
        self.prev_hash = GENESIS
        self.prev_sealed = False
        self.sealing = False  # from the first sealed event on, every event must be sealed
        self.checked_to: int | None = None  # the last event a checkpoint confirmed
        self.recent: deque[tuple[int, str]] = deque(maxlen=WINDOW)

    def resume(self, report: TrailReport) -> None:
        """Go on from the end of a verified report (write_checkpoint)."""
        self.count, self.prev_id, self.prev_hash = (
            report.events, report.last_event_id, report.head_hash
        )  # fmt: skip
        self.sealing, self.prev_sealed = report.sealing, report.head_sealed
        last = report.checkpoint
        self.last_mark = (last.last_event_id or 0) if last is not None else 0

    def step(self, event: AuditEvent, following: AuditEvent | None) -> TrailProblem | None:
        # A checkpoint's last event was passed over: it is gone.
        if self.marks and (self.marks[0].last_event_id or 0) < event.id:
            return self._gone(self.marks[0], event)
        self.count += 1
        if content_hash(event, event.prev_hash) != event.hash:
            return TrailProblem("changed", event.id, "content")
        sealed = bool(event.seal) and same(event.seal, seal_of(event.hash, self.key))
        if event.seal:
            self.sealing = True
        if self.sealing and not sealed:
            return self._unsealed(event, following)
        if event.prev_hash != self.prev_hash:
            return self._broken_link(event)
        self.prev_id, self.prev_hash, self.prev_sealed = event.id, event.hash, sealed
        self.recent.append((event.id, event.hash))
        while self.marks and self.marks[0].last_event_id == event.id:
            mark = self.marks.popleft()
            if not same(event.hash, mark.head_hash) or self.count != mark.event_count:
                return self._differs(mark, event)
            self.checked_to = event.id
        return None

    def finish(self) -> TrailProblem | None:
        """Checkpoints beyond the last event: the events at the end were deleted."""
        if not self.marks:
            return None
        mark = self.marks[0]
        missing = mark.event_count - self.count
        first = mark.last_event_id if missing <= 1 else (self.prev_id or 0) + 1
        return TrailProblem(
            "deleted", first, "checkpoint", after_id=self.prev_id, missing=max(missing, 1),
            checkpoint=mark.seq,
        )  # fmt: skip

    def _gone(self, mark: AuditCheckpoint, event: AuditEvent) -> TrailProblem:
        missing = mark.event_count - self.count
        first = mark.last_event_id if missing <= 1 else (self.prev_id or 0) + 1
        return TrailProblem(
            "deleted", first, "checkpoint", after_id=self.prev_id, before_id=event.id,
            missing=max(missing, 1), checkpoint=mark.seq,
        )  # fmt: skip

    def _unsealed(self, event: AuditEvent, following: AuditEvent | None) -> TrailProblem:
        """An event without a valid seal: inserted when the chain goes around it or it ends
        the trail past the last checkpoint; changed when the next event links to another
        version of it."""
        if following is not None and following.prev_hash == event.prev_hash:
            return TrailProblem("inserted", event.id, "seal")
        if following is not None and following.prev_hash != event.hash:
            return TrailProblem("changed", event.id, "seal")
        return TrailProblem(
            "inserted" if event.id > self.last_mark else "changed", event.id, "seal"
        )

    def _broken_link(self, event: AuditEvent) -> TrailProblem:
        """The event checks out but links elsewhere than to the event before it."""
        earlier = [i for i, (_id, h) in enumerate(self.recent) if h == event.prev_hash]
        if earlier and earlier[-1] + 1 < len(self.recent):
            # It links to an earlier event: those after that one were put in between.
            return TrailProblem("inserted", self.recent[earlier[-1] + 1][0], "link")
        if self.prev_id is None:
            return TrailProblem("deleted", None, "link", before_id=event.id)
        gap = event.id > self.prev_id + 1
        if self.prev_sealed or gap:
            return TrailProblem(
                "deleted", self.prev_id + 1 if gap else None, "link", after_id=self.prev_id,
                before_id=event.id,
            )  # fmt: skip
        return TrailProblem("changed", self.prev_id, "link")  # rewritten with a new hash

    def _differs(self, mark: AuditCheckpoint, event: AuditEvent) -> TrailProblem:
        """The chain links up but not to what a checkpoint signed: recomputed (events written
        before seals existed). Named from the first event after the last confirmed one."""
        first = (self.checked_to or 0) + 1
        if self.count > mark.event_count:
            kind = "inserted"
        elif self.count < mark.event_count:
            return TrailProblem(
                "deleted", None, "checkpoint", after_id=self.checked_to, before_id=event.id,
                missing=mark.event_count - self.count, checkpoint=mark.seq,
            )  # fmt: skip
        else:
            kind = "changed"
        return TrailProblem(kind, first, "checkpoint", before_id=event.id, checkpoint=mark.seq)
