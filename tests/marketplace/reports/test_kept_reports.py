"""The live monthly report is kept per region and month (marketplace.facts) and read again
after each kind of change that alters it: the kept figures equal the ones computed afresh
after a need is posted, a match approved and confirmed, a follow-up recorded and a household's
status decided; and the report's page shows the change on the next request."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.followups import services as followups
from marketplace.followups.models import FollowUp
from marketplace.matches import services as matches
from marketplace.matches.models import Match
from marketplace.plans import services as plans
from marketplace.reports import services
from marketplace.reports.figures import compute_month as fresh_month
from marketplace.timefmt import beijing_today
from marketplace.vocab import HouseholdStatus
from tests.conftest import BAIYIN, HUINING, JINGYUAN, World


def _this_month() -> date:
    today = beijing_today()
    return date(today.year, today.month, 1)


def _parts(figures: services.RegionFigures) -> tuple[Any, ...]:
    return figures.entry, figures.children, figures.organization_names, figures.counted


def _kept_equals_fresh(db: Any, region: Any) -> dict[str, Any]:
    """The kept figures of the city and the county equal fresh ones; the city's totals."""
    db.session.rollback()  # what the next request reads
    for code in (BAIYIN, JINGYUAN):
        kept = services.report_figures(region(code), _this_month(), None)
        fresh = services.compute_region_figures(region(code), _this_month())
        assert _parts(kept) == _parts(fresh), code
    return dict(services.report_figures(region(BAIYIN), _this_month(), None).entry["all"])


def _confirmed(db: Any, world: World) -> Match:
    match = matches.pledge(world.donor, world.need, world.resource, 1)
    matches.approve(world.admin, match)
    matches.deliver(world.donor, match, "送到村委会")
    matches.confirm(world.staff, match, received_quantity=1, received_on=beijing_today(),
                    satisfaction=5, feedback="好")  # fmt: skip
    db.session.commit()
    return match


def _need_posted(db: Any, world: World, make_need: Any, make_household: Any) -> None:
    make_need(world.other_village, make_household(world.other_village), title="需要一张床")


def _match_approved(db: Any, world: World, make_need: Any, make_household: Any) -> None:
    match = matches.pledge(world.donor, world.need, world.resource, 1)
    db.session.commit()
    matches.approve(world.admin, match)
    db.session.commit()


def _match_confirmed(db: Any, world: World, make_need: Any, make_household: Any) -> None:
    _confirmed(db, world)


def _follow_up_recorded(db: Any, world: World, make_need: Any, make_household: Any) -> None:
    match = _confirmed(db, world)
    first = db.session.scalars(
        sa.select(FollowUp).where(FollowUp.match_id == match.id).order_by(FollowUp.months)
    ).first()
    assert first is not None
    first.due_on = beijing_today()  # due today, in the month the report covers
    db.session.commit()
    followups.record(world.staff, first, followups.Outcome(beijing_today(), True))
    db.session.commit()


def _household_status(db: Any, world: World, make_need: Any, make_household: Any) -> None:
    exited = make_household(world.village, status=HouseholdStatus.EXITED)
    plans.start_monitoring(world.admin, exited, "家人患病，收入下降")
    db.session.commit()


CHANGES: dict[str, tuple[Callable[..., None], str]] = {
    "need posted": (_need_posted, "posted"),
    "match approved": (_match_approved, "matched"),
    "match confirmed": (_match_confirmed, "fulfilled"),
    "follow-up recorded": (_follow_up_recorded, "follow_ups_done"),
    "household status": (_household_status, "monitored"),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_the_kept_report_equals_the_recomputed_one_after_each_change(
    db: Any, world: World, region: Any, make_need: Any, make_household: Any, change: str
) -> None:
    before = _kept_equals_fresh(db, region)  # kept now
    make, figure = CHANGES[change]
    make(db, world, make_need, make_household)
    after = _kept_equals_fresh(db, region)
    assert after[figure] == before[figure] + 1, (figure, before[figure], after[figure])


def test_a_kept_report_is_computed_once_until_a_change(
    db: Any, world: World, region: Any, make_need: Any, make_household: Any, monkeypatch: Any
) -> None:
    computed = _computing(monkeypatch)
    db.session.rollback()
    for _ in range(3):
        services.report_figures(region(JINGYUAN), _this_month(), None)
    assert computed == [JINGYUAN]
    _need_posted(db, world, make_need, make_household)
    db.session.rollback()
    services.report_figures(region(JINGYUAN), _this_month(), None)
    assert computed == [JINGYUAN, JINGYUAN]


def test_the_report_page_shows_a_change_on_the_next_request(
    client: Any, login: Any, world: World, make_need: Any, make_household: Any
) -> None:
    login(world.admin)

    def posted() -> int:
        url = f"/reports/export.csv?region={JINGYUAN}&table=regions&month="
        answer = client.get(url + _this_month().strftime("%Y-%m"))
        rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
        column = rows[0].index("发布需求")
        return sum(int(row[column] or 0) for row in rows[1:])

    before = posted()
    assert posted() == before  # kept
    _need_posted(None, world, make_need, make_household)
    assert posted() == before + 1


def _computing(monkeypatch: Any) -> list[str]:
    computed: list[str] = []
    compute = services.compute_month

    def counting(root: Any, first: date) -> dict[str, Any]:
        computed.append(root.code)
        return compute(root, first)

    monkeypatch.setattr(services, "compute_month", counting)
    tallies = services.month_tallies

    def counting_tallies(root: Any, first: date) -> Any:
        computed.append("tallies " + root.code)
        return tallies(root, first)

    monkeypatch.setattr(services, "month_tallies", counting_tallies)
    return computed


def _read(db: Any, region: Any, *codes: str) -> None:
    db.session.rollback()  # what the next request reads
    for code in codes:
        kept = services.report_figures(region(code), _this_month(), None)
        # computed afresh, not through the counted services.compute_month
        fresh = services.region_figures(fresh_month(region(code), _this_month()), region(code))
        assert _parts(kept) == _parts(fresh), code


def test_a_change_in_one_county_keeps_the_other_countys_report(
    db: Any, world: World, region: Any, make_need: Any, make_household: Any, monkeypatch: Any
) -> None:
    """Tokens per county (marketplace.facts): Huining's need recomputes Huining's report and
    Huining's part of the city's, not Jingyuan's; a match approved in Jingyuan (bulk
    statements by id, the workflow's compare-and-set and capacity) the reverse."""
    computed = _computing(monkeypatch)
    _read(db, region, JINGYUAN, HUINING, BAIYIN)
    computed.clear()
    make_need(world.huining_village, make_household(world.huining_village), title="需要一张床")
    _read(db, region, JINGYUAN, HUINING, BAIYIN)
    assert computed == [HUINING, "tallies " + HUINING]
    computed.clear()
    match = matches.pledge(world.donor, world.need, world.resource, 1)
    db.session.commit()
    _read(db, region, JINGYUAN, HUINING, BAIYIN)
    assert computed == [JINGYUAN, "tallies " + JINGYUAN]
    computed.clear()
    matches.approve(world.admin, match)
    db.session.commit()
    _read(db, region, JINGYUAN, HUINING, BAIYIN)
    assert computed == [JINGYUAN, "tallies " + JINGYUAN]


def test_a_change_whose_county_is_unknown_recomputes_every_report(
    db: Any, world: World, region: Any, monkeypatch: Any
) -> None:
    from marketplace.needs.models import Need
    from marketplace.resources.models import Resource

    computed = _computing(monkeypatch)
    _read(db, region, JINGYUAN, HUINING)
    computed.clear()
    # a resource's remaining capacity: no report reads it
    db.session.execute(
        sa.update(Resource).where(Resource.id == world.resource.id).values(remaining=7)
    )
    db.session.commit()
    _read(db, region, JINGYUAN, HUINING)
    assert computed == []
    # rows not named by id: anywhere
    db.session.execute(sa.update(Need).where(Need.urgency >= 0).values(urgency=2))
    db.session.commit()
    _read(db, region, JINGYUAN, HUINING)
    assert computed == [JINGYUAN, HUINING]
    computed.clear()
    # a donor's value of a resource: every report reading its matches
    world.resource.unit_value = 123
    db.session.commit()
    _read(db, region, JINGYUAN, HUINING)
    assert computed == [JINGYUAN, HUINING]
