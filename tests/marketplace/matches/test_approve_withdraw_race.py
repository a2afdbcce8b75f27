"""An administrator approves a pledge at the moment the village's staff withdraw its need.
Both hold the need's row first: one waits for the other, so either the approval goes through
and the withdrawal is refused (a match is under way), or the need is withdrawn, its pledge
cancelled, and the approval refused. Taken in opposite orders (the match, then the need; the
need, then the match) the two deadlocked on PostgreSQL, and on SQLite the withdrawal counted
no match under way and left a withdrawn need with an approved match."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from marketplace.accounts.models import User
from marketplace.errors import ServiceError
from marketplace.extensions import db as _db
from marketplace.matches import services
from marketplace.matches.models import Match, MatchStatus
from marketplace.needs import services as need_services
from marketplace.needs.models import Need, NeedStatus
from tests.conftest import World


def test_approving_and_withdrawing_at_once_leave_one_consistent_outcome(
    app: Any, db: Any, world: World, monkeypatch: Any
) -> None:
    match = services.pledge(world.donor, world.need, world.resource, 1)
    db.session.commit()
    ids = {"match": match.id, "need": world.need.id, "admin": world.admin.id,
           "staff": world.staff.id}  # fmt: skip
    # Each request stops just before its first change, until the other has reached the same
    # point, if nothing holds it back: without the row held first both get there.
    checked = threading.Barrier(2, timeout=3)

    def wait_for_the_other() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            checked.wait()

    limit_check = services._refuse_beyond_household_limit
    move = need_services.move

    def checked_limit(m: Match) -> None:
        limit_check(m)
        wait_for_the_other()

    def checked_move(need: Need, status: NeedStatus) -> Any:
        wait_for_the_other()
        return move(need, status)

    monkeypatch.setattr(services, "_refuse_beyond_household_limit", checked_limit)
    monkeypatch.setattr(need_services, "move", checked_move)
    outcomes: dict[str, ServiceError | None] = {}
    failures: list[BaseException] = []

    def request(name: str) -> None:
        with app.app_context():
            try:
                if name == "approve":
                    services.approve(_db.session.get(User, ids["admin"]),
                                     _db.session.get(Match, ids["match"]))  # fmt: skip
                else:
                    services.withdraw_need(_db.session.get(User, ids["staff"]),
                                           _db.session.get(Need, ids["need"]))  # fmt: skip
                _db.session.commit()
                outcomes[name] = None
            except ServiceError as refused:
                _db.session.rollback()
                outcomes[name] = refused
            except BaseException as exc:  # a deadlock, reported below
                _db.session.rollback()
                failures.append(exc)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=request, args=(n,)) for n in ("approve", "withdraw")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert sorted(outcomes) == ["approve", "withdraw"]
    refused = [name for name, r in outcomes.items() if r is not None]
    assert len(refused) == 1 and outcomes[refused[0]].status == 409  # type: ignore[union-attr]
    db.session.expire_all()
    need, match = db.session.get(Need, ids["need"]), db.session.get(Match, ids["match"])
    if refused == ["withdraw"]:
        assert match.status == MatchStatus.APPROVED and need.status != NeedStatus.WITHDRAWN
    else:
        assert need.status == NeedStatus.WITHDRAWN and match.status == MatchStatus.CANCELLED
