"""Fair pledges (issue 12): one household gets at most the resource's ``per_household`` units
over all its needs, refused at the quantity field of the need page's pledge form; one live
pledge per (need, resource), answered 409 also when two requests race past the read (the
partial unique index refuses the second); the allocation proposes nothing beyond the limit;
pledges in flight count as aid in the ranking, not on the household page."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.errors import ServiceError
from marketplace.extensions import db as _db
from marketplace.matches import aid, services
from marketplace.matches.adapters import need_view, resource_view
from marketplace.matches.models import Match, MatchStatus
from marketplace.needs.models import Need
from marketplace.resources.models import Resource
from marketplace.vocab import HouseholdStatus, LabourCapacity, PovertyCause
from tests.conftest import World
from tests.marketplace.resources.conftest import errors_at
from tests.pages import find_form
from tests.races import from_the_same_read

S = MatchStatus
LIMIT_MESSAGE = "此资源每户最多 1 台；该户已认领或获得 1 台，最多还能认领 0 台。"
ALREADY = "该资源已经认领了此需求。"


@pytest.fixture
def second_need(db: Any, world: World, make_need: Any) -> Need:
    """Another washing machine asked for by the world's household (another of its needs)."""
    need: Need = make_need(world.village, world.household, title="再要一台洗衣机给老人房")
    world.resource.per_household = 1
    db.session.commit()
    return need


def _live(db: Any, resource: Resource) -> list[Match]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Match).where(Match.resource_id == resource.id, Match.status.in_(S.LIVE))
        )
    )


def test_a_household_gets_at_most_per_household_over_all_its_needs(
    client: Any, db: Any, login: Any, world: World, second_need: Need
) -> None:
    login(world.donor)
    first = client.post(
        f"/needs/{world.need.id}/pledge",
        data={"resource": str(world.resource.id), "quantity": "1"},
    )
    assert first.status_code == 302
    # The second need of the same household: the page's pledge form, refused at its quantity.
    url = f"/needs/{second_need.id}/pledge"
    page = client.get(f"/needs/{second_need.id}").data.decode()
    form = find_form(page, url)
    refused = client.post(url, data=form.data(resource=str(world.resource.id), quantity="1"))
    assert refused.status_code == 400
    shown = refused.data.decode()
    assert errors_at(shown, "quantity") == [LIMIT_MESSAGE]
    assert [m.need_id for m in _live(db, world.resource)] == [world.need.id]


def test_more_than_the_limit_on_one_need_is_refused_too(
    db: Any, world: World, second_need: Need
) -> None:
    world.need.quantity = world.need.open_quantity = 3
    world.resource.per_household = 2
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        services.pledge(world.donor, world.need, world.resource, 3)
    assert (refused.value.status, refused.value.field) == (400, "quantity")
    assert "每户最多 2 台" in str(refused.value.message)
    services.pledge(world.donor, world.need, world.resource, 2)  # up to the limit: fine
    db.session.commit()


def test_ended_matches_free_the_households_room(db: Any, world: World, second_need: Need) -> None:
    match = services.pledge(world.donor, world.need, world.resource, 1)
    services.withdraw_pledge(world.donor, match)
    db.session.commit()
    again = services.pledge(world.donor, second_need, world.resource, 1)
    db.session.commit()
    assert again.status == S.PROPOSED


def test_no_limit_and_other_resources_are_not_counted(
    db: Any, world: World, second_need: Need, make_resource: Any, region: Any
) -> None:
    other = make_resource(world.org, list(world.resource.service_area), title="另一批洗衣机")
    other.per_household = 1
    db.session.commit()
    services.pledge(world.donor, world.need, world.resource, 1)
    services.pledge(world.donor, second_need, other, 1)  # another resource: its own limit
    world.resource.per_household = None
    db.session.commit()
    third_need = Need(
        village=world.village, household=world.household, category="necessities",
        subcategory="necessities.washer", title="第三台", quantity=1, open_quantity=1,
        unit="台", status=world.need.status,
    )  # fmt: skip
    db.session.add(third_need)
    db.session.commit()
    services.pledge(world.donor, third_need, world.resource, 1)  # no limit now
    db.session.commit()


def test_approval_checks_the_limit_against_what_is_approved(
    db: Any, world: World, second_need: Need
) -> None:
    # Two pledges that passed their checks at the same moment (made here behind the service).
    a = Match(need=world.need, resource=world.resource, quantity=1, status=S.PROPOSED)
    b = Match(need=second_need, resource=world.resource, quantity=1, status=S.PROPOSED)
    db.session.add_all([a, b])
    db.session.commit()
    services.approve(world.admin, a)
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        services.approve(world.admin, b)
    assert refused.value.status == 409
    assert "每户最多 1 台" in str(refused.value.message)
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Match, b.id).status == S.PROPOSED


def test_a_second_live_pledge_of_the_resource_to_the_need_is_409(
    client: Any, db: Any, login: Any, world: World
) -> None:
    world.need.quantity = world.need.open_quantity = 2
    world.resource.per_household = None
    db.session.commit()
    login(world.donor)
    data = {"resource": str(world.resource.id), "quantity": "1"}
    assert client.post(f"/needs/{world.need.id}/pledge", data=data).status_code == 302
    again = client.post(f"/needs/{world.need.id}/pledge", data=data)
    assert again.status_code == 409
    assert ALREADY in again.data.decode()
    assert len(_live(db, world.resource)) == 1


def test_racing_identical_pledges_leave_one_live_and_answer_409(
    app: Any, db: Any, world: World, monkeypatch: Any
) -> None:
    """Both requests read no live pledge; the first inserts and commits; the second, acting on
    its reading, is refused by the unique index: 409, its transaction rolled back."""
    world.need.quantity = world.need.open_quantity = 2
    world.resource.per_household = None
    db.session.commit()
    ids = (world.donor.id, world.need.id, world.resource.id)

    def read() -> tuple[Any, ...]:
        return (
            _db.session.get(User, ids[0]),
            _db.session.get(Need, ids[1]),
            _db.session.get(Resource, ids[2]),
        )

    def act(loaded: tuple[Any, ...]) -> None:
        services.pledge(*loaded, 1)

    def act_on_stale_read(loaded: tuple[Any, ...]) -> None:
        # What the second request read before the first committed: no live pledge.
        with monkeypatch.context() as m:
            m.setattr(services, "_live_pledge_of", lambda *_: None)
            services.pledge(*loaded, 1)

    first, second = from_the_same_read(app, (read, act), (read, act_on_stale_read))
    assert first is None
    assert second is not None and second.status == 409
    assert str(second.message) == ALREADY
    assert len(_live(db, world.resource)) == 1


def test_pledges_racing_to_two_needs_of_one_household_leave_one(
    app: Any, db: Any, world: World, second_need: Need, monkeypatch: Any
) -> None:
    """Two donors' requests pledge the same washer to two needs of one household at the same
    moment. Each would count what the household holds, then insert: without a lock both count
    nothing and both go through. The household's row is held from the count to the commit,
    so the second counts the first's pledge and is refused at its quantity."""
    ids = (world.donor.id, world.resource.id)
    counted = threading.Barrier(2, timeout=3)
    held_by_unit = services._held_by_unit

    def count_then_wait(need: Need, resource: Resource) -> int:
        held = held_by_unit(need, resource)
        with contextlib.suppress(threading.BrokenBarrierError):
            counted.wait()  # the other request counts now too, if nothing holds it back
        return held

    monkeypatch.setattr(services, "_held_by_unit", count_then_wait)
    outcomes: dict[int, ServiceError | None] = {}

    def request(need_id: int) -> None:
        with app.app_context():
            try:
                donor, resource = _db.session.get(User, ids[0]), _db.session.get(Resource, ids[1])
                services.pledge(donor, _db.session.get(Need, need_id), resource, 1)
                _db.session.commit()
                outcomes[need_id] = None
            except ServiceError as refused:
                _db.session.rollback()
                outcomes[need_id] = refused
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=request, args=(n,)) for n in (world.need.id, second_need.id)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == sorted((world.need.id, second_need.id))
    refused = [r for r in outcomes.values() if r is not None]
    assert len(refused) == 1 and refused[0].field == "quantity"
    assert str(refused[0].message) == LIMIT_MESSAGE
    assert len(_live(db, world.resource)) == 1


def test_the_index_takes_one_live_pledge_and_any_number_ended(db: Any, world: World) -> None:
    def add(status: MatchStatus) -> None:
        db.session.add(Match(need=world.need, resource=world.resource, quantity=1, status=status))
        db.session.commit()

    for ended in (S.CANCELLED, S.REJECTED, S.EXPIRED, S.CONFIRMED, S.CANCELLED):
        add(ended)
    add(S.PROPOSED)
    for live in (S.PROPOSED, S.APPROVED, S.DELIVERED, S.DISPUTED):
        with pytest.raises(sa.exc.IntegrityError):
            add(live)
        db.session.rollback()


def test_the_allocation_proposes_nothing_beyond_the_limit(
    db: Any, world: World, second_need: Need
) -> None:
    county = world.resource.service_area[0]
    made = services.allocate(world.admin, world.resource, county, None)
    db.session.commit()
    household_units = sum(m.quantity for m in made if m.need.household_id == world.household.id)
    assert household_units == 1
    # Run again: the household holds its unit (a proposal in flight), so nothing more.
    again = services.allocate(world.admin, world.resource, county, None)
    assert not [m for m in again if m.need.household_id == world.household.id]


def test_pledges_in_flight_count_for_ranking_not_on_the_household_page(
    db: Any, world: World
) -> None:
    services.pledge(world.donor, world.need, world.resource, 1)
    db.session.commit()
    assert aid.prior_aid_counts([world.household.id]) == {world.household.id: 1}
    assert aid.aid_received(world.household) == []
    assert aid.held_by_households(world.resource.id, [world.household.id]) == {
        world.household.id: 1
    }


def test_the_engine_sees_household_labour_limit_and_priorities(db: Any, world: World) -> None:
    world.household.labour_capacity = LabourCapacity.NONE
    world.resource.per_household = 2
    world.resource.labour_required = True
    world.resource.priority_causes = [PovertyCause.DISABILITY.value]
    world.resource.priority_statuses = [HouseholdStatus.MONITORED.value]
    db.session.commit()
    seen = need_view(world.need)
    assert (seen.household_id, seen.household_labour) == (world.household.id, "none")
    offered = resource_view(world.resource)
    assert (offered.per_household, offered.labour_required) == (2, True)
    assert offered.priority_causes == ("disability",)
    assert offered.priority_statuses == ("monitored",)
