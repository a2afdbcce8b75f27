"""The facts' token (marketplace.facts): replaced by every committed change to a fact, in the
change's transaction, whichever session or process made it; kept by everything else."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace import facts
from marketplace.households.models import Household
from marketplace.needs.models import Need
from marketplace.notifications.services import notify
from tests.conftest import World


def _token(db: Any) -> int | None:
    db.session.rollback()  # a fresh read, as the next request makes
    return facts.token(db.session())


def test_a_committed_change_replaces_the_token(db: Any, world: World) -> None:
    before = _token(db)
    assert before is not None  # the world's rows made it
    world.need.title = "需要两台洗衣机"
    db.session.commit()
    after = _token(db)
    assert after not in (None, before)
    # a bulk statement through the session (how the workflows move a status) counts too
    db.session.execute(sa.update(Need).where(Need.id == world.need.id).values(urgency=3))
    db.session.commit()
    assert _token(db) not in (None, before, after)


def test_nothing_committed_keeps_the_token(db: Any, world: World) -> None:
    before = _token(db)
    world.household.head_name = "李四"
    db.session.flush()
    db.session.rollback()
    assert _token(db) == before
    # reading, and writing only the bookkeeping (a notification, a sign-in), keep it
    db.session.scalars(sa.select(Household)).all()
    notify([world.staff], "need_verified", "/needs/1", title="一条通知")
    world.staff.display_name = "村干部"
    db.session.commit()
    assert _token(db) == before
    # setting a value to what it already was is no change
    world.need.title = world.need.title
    db.session.commit()
    assert _token(db) == before


def test_another_session_commits_a_new_token_too(app: Any, db: Any, world: World) -> None:
    """What another process does arrives through its own session and connection."""
    before = _token(db)
    with Session(db.engine) as other:
        need = other.get(Need, world.need.id)
        assert need is not None
        need.open_quantity = 0
        other.commit()
    assert _token(db) not in (None, before)


def test_a_kept_answer_is_computed_once_per_token(db: Any, world: World) -> None:
    cache = facts.FactCache()
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    db.session.rollback()
    assert cache.get("k", compute) == 1 and cache.get("k", compute) == 1
    world.need.urgency = 1 if world.need.urgency != 1 else 2
    # uncommitted: computed (with the change) and not kept
    assert cache.get("k", compute) == 2
    db.session.commit()
    assert cache.get("k", compute) == 3 and cache.get("k", compute) == 3
    assert len(calls) == 3


def test_without_a_token_row_nothing_is_kept(db: Any) -> None:
    db.session.execute(sa.delete(facts.FactVersion))  # bookkeeping: keeps no token
    db.session.commit()
    assert _token(db) is None
    cache = facts.FactCache()
    calls: list[int] = []
    cache.get("k", lambda: calls.append(1))
    cache.get("k", lambda: calls.append(1))
    assert len(calls) == 2


def _county_tokens(db: Any, region: Any, code: str) -> Any:
    db.session.rollback()
    from marketplace.reports.services import report_counties

    return facts.region_tokens(db.session(), report_counties(region(code)))


def test_a_change_replaces_its_countys_token_only(db: Any, world: World, region: Any) -> None:
    """Tokens per county: what a report of a county, or of the city over both, is kept by."""
    from tests.conftest import BAIYIN, HUINING, JINGYUAN

    jingyuan, huining = (_county_tokens(db, region, c) for c in (JINGYUAN, HUINING))
    city = _county_tokens(db, region, BAIYIN)
    assert jingyuan is not None and huining is not None and city is not None
    # another session (another process): an ORM change of Jingyuan's need
    with Session(db.engine) as other:
        need = other.get(Need, world.need.id)
        assert need is not None
        need.urgency = 1 if need.urgency != 1 else 2
        other.commit()
    assert _county_tokens(db, region, HUINING) == huining
    assert _county_tokens(db, region, JINGYUAN) != jingyuan
    assert _county_tokens(db, region, BAIYIN) != city
    # a bulk statement naming the rows by id (IN) is followed to their county too
    jingyuan, city = _county_tokens(db, region, JINGYUAN), _county_tokens(db, region, BAIYIN)
    db.session.execute(sa.update(Need).where(Need.id.in_([world.need.id])).values(urgency=3))
    db.session.commit()
    assert _county_tokens(db, region, HUINING) == huining
    assert _county_tokens(db, region, JINGYUAN) != jingyuan
    # a household's village's county: of a township too
    township = region(JINGYUAN).children[0]
    assert _county_tokens(db, region, township.code) == _county_tokens(db, region, JINGYUAN)


def test_a_change_not_followed_to_a_county_replaces_all(db: Any, world: World, region: Any) -> None:
    from tests.conftest import HUINING

    huining = _county_tokens(db, region, HUINING)
    # a deleted row cannot be followed at commit: anywhere
    db.session.execute(sa.delete(Need).where(Need.id == world.need.id))
    db.session.rollback()
    assert _county_tokens(db, region, HUINING) == huining  # rolled back: nothing
    db.session.execute(sa.update(Household).values(head_name="王五"))  # no ids: anywhere
    db.session.commit()
    assert _county_tokens(db, region, HUINING) != huining
