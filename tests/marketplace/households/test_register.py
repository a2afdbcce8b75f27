"""The household register pages: scope, masking, audit of unmasked views, bad input."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.households.models import Household
from tests.conftest import World


def _form(village_id: int, **changes: Any) -> dict[str, Any]:
    from datetime import date

    from marketplace.demo import id_number

    data = {
        "village": str(village_id),
        "register_number": "620421100001X01",
        "head_name": "李四海",
        "head_id_number": id_number("620421000000", date(1965, 3, 9), 77),
        "phone": "13800001111",
        "member_count": "4",
        "primary_cause": "illness",
        "other_causes": ["skills"],
        "status": "poor",
        "labour_capacity": "weak",
        "income_per_capita": "3200",
    }
    data.update(changes)
    return data


def _count(db: Any) -> int:
    return db.session.scalar(sa.select(sa.func.count(Household.id)))


def test_staff_registers_a_household(client: Any, db: Any, login: Any, world: World) -> None:
    login(world.staff)
    response = client.post("/households/new", data=_form(world.village.id))
    assert response.status_code == 302
    created = db.session.scalar(sa.select(Household).where(Household.head_name == "李四海"))
    assert created.other_causes == ["skills"] and created.member_count == 4


def test_bad_id_number_and_phone_change_nothing(
    client: Any, db: Any, login: Any, world: World
) -> None:
    login(world.staff)
    before = _count(db)
    response = client.post(
        "/households/new",
        data=_form(world.village.id, head_id_number="620421196503090771", phone="12345"),
    )
    page = response.data.decode()
    assert response.status_code == 400
    assert "身份证号码无效" in page and "手机号码应为以1开头的11位数字" in page
    assert _count(db) == before


def test_duplicate_id_number_is_refused(client: Any, db: Any, login: Any, world: World) -> None:
    login(world.staff)
    data = _form(world.village.id, head_id_number=world.household.head_id_number)
    response = client.post("/households/new", data=data)
    assert response.status_code == 400
    assert "该身份证号码的农户已经登记" in response.data.decode()


def test_staff_cannot_register_in_another_village(
    client: Any, db: Any, login: Any, world: World
) -> None:
    login(world.staff)
    response = client.post("/households/new", data=_form(world.huining_village.id))
    assert response.status_code == 400  # not one of the form's choices
    assert _count(db) == 1


def test_household_outside_scope_is_not_found(
    client: Any, db: Any, login: Any, world: World
) -> None:
    login(world.other_staff)
    assert client.get(f"/households/{world.household.id}").status_code == 404
    assert client.get(f"/households/{world.household.id}/edit").status_code == 404
    response = client.post(f"/households/{world.household.id}/edit", data=_form(world.village.id))
    assert response.status_code == 404
    db.session.refresh(world.household)
    assert world.household.head_name == "张三丰"


def test_staff_sees_full_data_and_the_view_is_audited(
    client: Any, db: Any, login: Any, world: World
) -> None:
    login(world.staff)
    page = client.get(f"/households/{world.household.id}").data.decode()
    assert world.household.head_name in page
    assert world.household.head_id_number in page
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "personal_data_viewed")
    )
    assert event is not None and event.after == {"households": [world.household.id]}
    assert event.actor_id == world.staff.id


def test_auditor_sees_only_masked_data(client: Any, db: Any, login: Any, world: World) -> None:
    login(world.auditor)
    page = client.get(f"/households/{world.household.id}").data.decode()
    assert world.household.head_name not in page
    assert world.household.head_id_number not in page
    assert world.household.phone not in page
    assert "张**" in page
    assert world.household.head_id_number[:6] + "********" in page
    listing = client.get("/households/").data.decode()
    assert world.household.head_name not in listing


def test_search_is_posted_so_names_stay_out_of_urls(
    client: Any, db: Any, login: Any, world: World
) -> None:
    login(world.staff)
    assert client.get("/households/search").status_code == 405
    page = client.post("/households/search", data={"q": "张三"}).data.decode()
    assert world.household.register_number in page
    page = client.post("/households/search", data={"q": "王"}).data.decode()
    assert world.household.register_number not in page


def test_staff_edits_a_household(client: Any, db: Any, login: Any, world: World) -> None:
    login(world.staff)
    data = _form(
        world.village.id,
        register_number=world.household.register_number,
        head_name="张三丰",
        head_id_number=world.household.head_id_number,
        status="exited",
    )
    assert client.post(f"/households/{world.household.id}/edit", data=data).status_code == 302
    db.session.refresh(world.household)
    # The status is not edited on the form: exit is an assessment (marketplace.plans).
    assert world.household.status.value == "poor"
    assert world.household.income_per_capita == 3200
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "household_updated"))
    # Field names only: the audit trail is not a second copy of the personal data.
    assert "张三丰" not in str(event.after) and "status" not in event.after["fields"]
    assert "income_per_capita" in event.after["fields"]


def test_the_status_is_not_an_edit_of_the_register(db: Any, world: World) -> None:
    """A household's status moves only through households.policy.STATUS_WORKFLOW, by the plan's
    decisions: the register's fields leave it out and its service refuses to edit it."""
    import pytest

    from marketplace.errors import ServiceError
    from marketplace.households import services
    from marketplace.households.policy import STATUS_WORKFLOW
    from marketplace.vocab import HouseholdStatus as HS

    household = world.household
    assert "status" not in services.EDITABLE_FIELDS
    values = {name: getattr(household, name) for name in services.EDITABLE_FIELDS}
    with pytest.raises(ServiceError) as refused:
        services.update_household(world.staff, household, world.village, **values,
                                  status=HS.EXITED)  # fmt: skip
    assert refused.value.status == 409 and refused.value.message == services.STATUS_NOT_EDITED
    db.session.refresh(household)
    assert household.status == HS.POOR
    # The legal moves, each from where the household is: poor only exits (by assessment).
    assert STATUS_WORKFLOW.allows(household, HS.EXITED)
    assert not STATUS_WORKFLOW.allows(household, HS.MONITORED)
    with pytest.raises(ServiceError) as illegal:
        STATUS_WORKFLOW.move(household, HS.MONITORED)
    assert illegal.value.status == 409 and household.status == HS.POOR
    assert STATUS_WORKFLOW.moves[HS.EXITED] == {HS.MONITORED, HS.POOR}
    assert STATUS_WORKFLOW.moves[HS.MONITORED] == {HS.EXITED, HS.POOR}


def test_the_household_page_is_the_hub(
    client: Any, db: Any, login: Any, world: World, make_resource: Any, region: Any
) -> None:
    """Every section a staff member needs, one tap away from the row at the top: the
    identification, members, guarantees, plan, needs, aid received (cards on a phone, each
    with its follow-ups of results) and the income from help."""
    import re

    from marketplace.matches import services as matches
    from tests.conftest import JINGYUAN

    need = world.need
    assert need.household_id == world.household.id
    resource = make_resource(world.org, [region(JINGYUAN)])
    match = matches.pledge(world.donor, need, resource, 1)
    matches.approve(world.admin, match)
    db.session.commit()
    login(world.staff)
    html = client.get(f"/households/{world.household.id}").data.decode()
    nav = html.split('aria-label="本页内容"', 1)[1].split("</nav>", 1)[0]
    anchors = re.findall(r'href="#([a-z-]+)"', nav)
    assert anchors == ["identification", "members", "guarantees", "plan", "needs", "aid",
                       "income-heading"]  # fmt: skip
    for anchor in anchors:
        assert f'id="{anchor}"' in html, anchor
    aid = html.split('id="aid"', 1)[1].split("</section>", 1)[0]
    assert 'class="table table-sm align-middle data-list"' in aid  # cards on a phone
    assert f'href="/matches/{match.id}/follow-ups"' in aid and need.title in aid
    needs = html.split('id="needs"', 1)[1].split("</section>", 1)[0]
    assert f'href="/needs/{need.id}"' in needs
