"""The API's household answer carries its roster: each member with their labour capacity, names
and ID card numbers masked by the reader's rights as the head's are, birth dates and health
only for readers with the right; one audit event for what a reader sees unmasked."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role, TokenScope
from marketplace.accounts.services import create_token
from marketplace.audit.models import AuditEvent
from marketplace.demo import id_number
from marketplace.households import services
from marketplace.privacy import mask_id_number, mask_name
from tests.conftest import World

CHILD = id_number("620421000000", date(2012, 9, 1), 44)
MEMBER_KEYS = {
    "id", "relation", "name", "id_number", "sex", "birth_date", "labour", "health",
    "disability_grade", "schooling", "in_school", "skills", "working_away",
}  # fmt: skip


@pytest.fixture
def roster(db: Any, world: World) -> list[Any]:
    household = world.household
    head = services.add_member(
        world.staff, household, relation="head", name=household.head_name,
        id_number=household.head_id_number, labour="strong", health="disabled",
        disability_grade=4, schooling="junior", in_school=False, skills="养羊", working_away=True,
    )  # fmt: skip
    child = services.add_member(
        world.staff, household, relation="daughter", name="张小燕", id_number=CHILD,
        labour="none", health="healthy", disability_grade=None, schooling="primary",
        in_school=True, skills="", working_away=False,
    )  # fmt: skip
    db.session.commit()
    return [head, child]


def headers(db: Any, user: Any) -> dict[str, str]:
    _token, plain = create_token(user, "roster", scope=TokenScope.READ)
    db.session.commit()
    return {"Authorization": f"Bearer {plain}"}


def views(db: Any) -> list[AuditEvent]:
    db.session.commit()
    return list(db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "personal_data_viewed")
        .order_by(AuditEvent.id)))  # fmt: skip


@pytest.mark.parametrize("reader", ["staff", "admin", "superuser", "auditor"])
def test_the_roster_in_the_household_answer(
    client: Any, db: Any, world: World, roster: list[Any], make_user: Any, reader: str
) -> None:
    user = make_user(Role.SUPERUSER, username="root") if reader == "superuser" else getattr(
        world, reader)  # fmt: skip
    auth = headers(db, user)
    before = len(views(db))
    answer = client.get(f"/api/v1/households/{world.household.id}", headers=auth)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["identification"] == "confirmed" and body["labour_capacity"] == "full"
    head, child = body["members"]
    assert set(head) == set(child) == MEMBER_KEYS
    assert head["relation"] == "head" and child["relation"] == "daughter"
    # Labour, sex, schooling and work away are given to every reader of the register.
    assert (head["labour"], child["labour"]) == ("strong", "none")
    assert child["sex"] == "female" and child["schooling"] == "primary" and child["in_school"]
    assert head["working_away"] and head["skills"] == "养羊"
    events = views(db)[before:]
    if reader == "auditor":
        assert child["name"] == mask_name("张小燕") and child["id_number"] == mask_id_number(CHILD)
        assert head["name"] == mask_name(world.household.head_name)
        assert child["birth_date"] is None and head["health"] is None
        assert head["disability_grade"] is None
        assert "张小燕" not in answer.get_data(as_text=True) and CHILD not in answer.get_data(
            as_text=True)  # fmt: skip
        assert events == []
    else:
        assert child["name"] == "张小燕" and child["id_number"] == CHILD
        assert child["birth_date"] == "2012-09-01" and child["health"] == "healthy"
        assert head["health"] == "disabled" and head["disability_grade"] == 4
        assert len(events) == 1
        assert events[0].after == {"households": [world.household.id],
                                   "members": [m.id for m in roster]}  # fmt: skip


def test_the_list_answer_masks_the_rosters_as_well(
    client: Any, db: Any, world: World, roster: list[Any]
) -> None:
    listed = client.get("/api/v1/households", headers=headers(db, world.auditor)).get_json()
    (household,) = [h for h in listed if h["id"] == world.household.id]
    assert [m["name"] for m in household["members"]] == [
        mask_name(world.household.head_name), mask_name("张小燕")]  # fmt: skip
    before = len(views(db))
    listed = client.get("/api/v1/households", headers=headers(db, world.staff)).get_json()
    (household,) = [h for h in listed if h["id"] == world.household.id]
    assert household["members"][1]["id_number"] == CHILD
    (event,) = views(db)[before:]
    assert event.after["members"] == [m.id for m in roster]


def test_the_roster_is_no_wider_than_the_register(
    client: Any, db: Any, world: World, roster: list[Any]
) -> None:
    other = client.get(f"/api/v1/households/{world.household.id}",
                       headers=headers(db, world.other_staff))  # fmt: skip
    assert other.status_code == 404
    donor = client.get(f"/api/v1/households/{world.household.id}", headers=headers(db, world.donor))
    assert donor.status_code == 403
