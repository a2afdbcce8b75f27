"""What each API read answers, for each caller: the keys of the JSON, which records are listed,
and whether personal data is masked (with the audit event an unmasked view leaves behind).

Written before the output moved into the schemas, to hold the answers to what they were:
every GET endpoint, for the public, a donor, village staff in and out of the household's
village, administrators in and out of its county, an auditor and a superuser; and the match
answered by the actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role, TokenScope
from marketplace.accounts.services import create_token
from marketplace.audit.models import AuditEvent
from marketplace.needs.models import NeedStatus
from marketplace.privacy import mask_id_number, mask_name, mask_phone
from marketplace.timefmt import beijing_today
from tests.conftest import World

NEED_KEYS = {
    "id", "title", "description", "category", "subcategory", "village", "village_code",
    "quantity", "open_quantity", "unit", "estimated_value", "urgency", "needed_by", "status",
    "household",
}  # fmt: skip
HOUSEHOLD_BRIEF_KEYS = {"id", "name", "status", "causes"}
RESOURCE_KEYS = {
    "id", "title", "description", "kind", "organization", "categories", "capacity", "remaining",
    "unit", "unit_value", "service_area", "eligible_statuses", "eligible_causes", "valid_from",
    "valid_until", "delivery_deadline", "status",
    "per_household", "labour_required", "priority_statuses", "priority_causes",
}  # fmt: skip
MATCH_KEYS = {
    "id", "need_id", "resource_id", "quantity", "status", "score", "household", "village",
    "received_quantity", "satisfaction", "feedback",
    "follow_ups",  # marketplace.followups: due date, status, outcome (never staff's note)
}  # fmt: skip
HOUSEHOLD_KEYS = {
    "id", "register_number", "name", "id_number", "phone", "village", "member_count",
    "primary_cause", "other_causes", "status", "labour_capacity", "identification", "members",
    "plan",
}  # fmt: skip
SUGGESTION_KEYS = {
    "id",
    "title",
    "score",
    "components",
    "points",
    "component_points",
    "explanations",
}
SEARCH_KEYS = {"total", "total_capped", "page", "notes", "facets", "hits"}
HIT_KEYS = {"type", "id", "title", "highlight"}
ERROR_KEYS = {"status", "message"}

CALLERS = ("anonymous", "donor", "staff", "other_staff", "admin", "huining_admin", "auditor",
           "superuser")  # fmt: skip
# Who sees the scene's household unmasked: a role with the right, inside its region.
SEES_PERSONAL = {"staff", "admin", "superuser"}
# Who reads every need of their regions (the others: open, verified needs only).
IN_REGION = {"staff", "admin", "auditor", "superuser"}
OUT_OF_REGION = {"other_staff", "huining_admin"}


@dataclass
class Scene:
    world: World
    ids: dict[str, int]
    headers: dict[str, dict[str, str]]
    head: dict[str, str]  # the household's name, id number and phone as registered


@pytest.fixture
def scene(db: Any, world: World, make_user: Any, make_need: Any) -> Scene:
    """The world, plus: a second need of the same household, a need without a household, a
    submitted (not yet public) need, a superuser, a pledged match; a read-only token each."""
    from marketplace.matches import services as matches

    second = make_need(world.village, world.household, title="需要一台冰箱")
    bare = make_need(world.village, title="村里需要一台洗衣机")
    submitted = make_need(world.village, world.household, status=NeedStatus.SUBMITTED)
    superuser = make_user(Role.SUPERUSER, username="root")
    match = matches.pledge(world.donor, world.need, world.resource, 1)
    users = {name: getattr(world, name, None) for name in CALLERS}
    users["superuser"] = superuser
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for name, user in users.items():
        if user is not None:
            _token, plain = create_token(user, f"shape {name}", scope=TokenScope.READ)
            headers[name] = {"Authorization": f"Bearer {plain}"}
    db.session.commit()
    household = world.household
    return Scene(
        world=world,
        ids={
            "need": world.need.id,
            "second": second.id,
            "bare": bare.id,
            "submitted": submitted.id,
            "resource": world.resource.id,
            "match": match.id,
            "household": household.id,
        },
        headers=headers,
        head={
            "name": household.head_name,
            "id_number": household.head_id_number,
            "phone": household.phone,
        },
    )


def personal_views(db: Any) -> list[AuditEvent]:
    db.session.commit()  # a fresh snapshot: the request committed in its own session
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "personal_data_viewed")
            .order_by(AuditEvent.id)
        )
    )


def call(client: Any, db: Any, scene: Scene, caller: str, path: str) -> tuple[Any, list[Any]]:
    """The answer, and the personal-data audit events the request recorded."""
    before = len(personal_views(db))
    answer = client.get(path, headers=scene.headers[caller])
    return answer, personal_views(db)[before:]


def assert_unmasked_views(events: list[AuditEvent], caller: str, shown: list[int]) -> None:
    """One audit event naming the households shown unmasked (in the order shown), or none."""
    if caller in SEES_PERSONAL and shown:
        assert len(events) == 1, events
        assert events[0].after == {"households": shown}
        assert events[0].actor_role == ("superuser" if caller == "superuser" else caller)
    else:
        assert events == []


def assert_name(scene: Scene, caller: str, name: str) -> None:
    expected = scene.head["name"] if caller in SEES_PERSONAL else mask_name(scene.head["name"])
    assert name == expected, (caller, name)
    if caller not in SEES_PERSONAL:
        assert name != scene.head["name"] and "*" in name


def assert_error(answer: Any, status: int) -> None:
    assert answer.status_code == status, answer.data
    body = answer.get_json()
    assert set(body) == ERROR_KEYS and body["status"] == status and body["message"]


def check_need(scene: Scene, caller: str, item: dict[str, Any]) -> list[int]:
    """The need's keys and its household's masking; the household ids shown unmasked."""
    assert set(item) == NEED_KEYS
    assert isinstance(item["estimated_value"], str) and item["estimated_value"].count(".") == 1
    household = item["household"]
    if item["id"] == scene.ids["bare"]:
        assert household is None
        return []
    assert set(household) == HOUSEHOLD_BRIEF_KEYS
    assert household["id"] == scene.ids["household"]
    assert household["status"] == "poor" and household["causes"] == ["illness"]
    assert_name(scene, caller, household["name"])
    return [household["id"]] if caller in SEES_PERSONAL else []


def check_match(scene: Scene, caller: str, item: dict[str, Any]) -> list[int]:
    assert set(item) == MATCH_KEYS
    assert item["need_id"] == scene.ids["need"] and item["resource_id"] == scene.ids["resource"]
    assert item["score"] is None or isinstance(item["score"], float)
    follow_up_keys = {"months", "questions", "due_on", "status", "overdue", "visited_on",
                      "outcome"}  # fmt: skip
    assert all(set(f) == follow_up_keys for f in item["follow_ups"])
    assert_name(scene, caller, item["household"])
    return [scene.ids["household"]] if caller in SEES_PERSONAL else []


def check_household(scene: Scene, caller: str, item: dict[str, Any]) -> list[int]:
    assert set(item) == HOUSEHOLD_KEYS
    assert item["id"] == scene.ids["household"]
    assert_name(scene, caller, item["name"])
    if caller in SEES_PERSONAL:
        assert item["id_number"] == scene.head["id_number"]
        assert item["phone"] == scene.head["phone"]
        return [item["id"]]
    assert item["id_number"] == mask_id_number(scene.head["id_number"])
    assert item["phone"] == mask_phone(scene.head["phone"])
    assert item["id_number"] != scene.head["id_number"] and item["phone"] != scene.head["phone"]
    return []


def check_resource(scene: Scene, caller: str, item: dict[str, Any]) -> list[int]:
    assert set(item) == RESOURCE_KEYS
    assert item["unit_value"] == "1200.00"
    return []


def check_suggestion(scene: Scene, caller: str, item: dict[str, Any]) -> list[int]:
    assert set(item) == SUGGESTION_KEYS
    assert isinstance(item["score"], float) and 0 <= item["score"] <= 1
    assert all(isinstance(v, float) for v in item["components"].values())
    assert sum(item["component_points"].values()) == item["points"]  # points add up
    assert all(isinstance(w, str) and w for w in item["explanations"])
    return []


def listed_needs(caller: str) -> list[str]:
    if caller in OUT_OF_REGION:
        return []
    if caller in IN_REGION:
        return ["need", "second", "bare", "submitted"]
    return ["need", "second", "bare"]


def one_status(caller: str, *, region_readers: bool = False, in_region: bool = False) -> int:
    if caller == "anonymous":
        return 401
    if region_readers and caller == "donor":
        return 403
    if in_region and caller in OUT_OF_REGION:
        return 404
    return 200


@pytest.mark.parametrize("caller", CALLERS)
def test_needs(client: Any, db: Any, scene: Scene, caller: str) -> None:
    answer, events = call(client, db, scene, caller, "/api/v1/needs")
    assert answer.status_code == 200
    items = answer.get_json()
    assert [n["id"] for n in items] == [scene.ids[k] for k in listed_needs(caller)]
    shown = [h for item in items for h in check_need(scene, caller, item)]
    assert_unmasked_views(events, caller, shown)

    answer, events = call(client, db, scene, caller, f"/api/v1/needs/{scene.ids['need']}")
    assert answer.status_code == 200
    assert_unmasked_views(events, caller, check_need(scene, caller, answer.get_json()))

    answer, events = call(client, db, scene, caller, f"/api/v1/needs/{scene.ids['bare']}")
    assert answer.status_code == 200
    assert check_need(scene, caller, answer.get_json()) == [] and events == []

    answer, events = call(client, db, scene, caller, f"/api/v1/needs/{scene.ids['submitted']}")
    if caller in IN_REGION:
        assert answer.status_code == 200
        assert_unmasked_views(events, caller, check_need(scene, caller, answer.get_json()))
    else:
        assert_error(answer, 404)
        assert events == []


@pytest.mark.parametrize("caller", CALLERS)
def test_resources(client: Any, db: Any, scene: Scene, caller: str) -> None:
    answer, events = call(client, db, scene, caller, "/api/v1/resources")
    assert answer.status_code == 200
    items = answer.get_json()
    assert [r["id"] for r in items] == [scene.ids["resource"]]
    for item in items:
        check_resource(scene, caller, item)
    answer, events = call(client, db, scene, caller, f"/api/v1/resources/{scene.ids['resource']}")
    assert answer.status_code == 200
    check_resource(scene, caller, answer.get_json())
    assert events == []


@pytest.mark.parametrize("caller", CALLERS)
def test_matches(client: Any, db: Any, scene: Scene, caller: str) -> None:
    answer, events = call(client, db, scene, caller, "/api/v1/matches")
    if caller == "anonymous":
        assert_error(answer, 401)
    else:
        assert answer.status_code == 200
        items = answer.get_json()
        expected = [] if caller in OUT_OF_REGION else [scene.ids["match"]]
        assert [m["id"] for m in items] == expected
        shown = [h for item in items for h in check_match(scene, caller, item)]
        assert_unmasked_views(events, caller, shown)

    answer, events = call(client, db, scene, caller, f"/api/v1/matches/{scene.ids['match']}")
    status = one_status(caller, in_region=True)
    if status != 200:
        assert_error(answer, status)
        assert events == []
    else:
        assert answer.status_code == 200
        assert_unmasked_views(events, caller, check_match(scene, caller, answer.get_json()))


@pytest.mark.parametrize("caller", CALLERS)
def test_households(client: Any, db: Any, scene: Scene, caller: str) -> None:
    answer, events = call(client, db, scene, caller, "/api/v1/households")
    status = one_status(caller, region_readers=True)
    if status != 200:
        assert_error(answer, status)
        assert events == []
    else:
        items = answer.get_json()
        expected = [] if caller in OUT_OF_REGION else [scene.ids["household"]]
        assert [h["id"] for h in items] == expected
        shown = [h for item in items for h in check_household(scene, caller, item)]
        assert_unmasked_views(events, caller, shown)

    path = f"/api/v1/households/{scene.ids['household']}"
    answer, events = call(client, db, scene, caller, path)
    status = one_status(caller, region_readers=True, in_region=True)
    if status != 200:
        assert_error(answer, status)
        assert events == []
    else:
        assert answer.status_code == 200
        assert_unmasked_views(events, caller, check_household(scene, caller, answer.get_json()))


@pytest.mark.parametrize("caller", CALLERS)
def test_suggestions(client: Any, db: Any, scene: Scene, caller: str) -> None:
    """A need suggests the resource, a resource suggests public needs (its members,
    administrators, auditors and staff may ask)."""
    public_needs = {scene.ids["need"], scene.ids["second"], scene.ids["bare"]}
    for path, suggested in (
        (f"/api/v1/needs/{scene.ids['need']}/suggestions", {scene.ids["resource"]}),
        (f"/api/v1/resources/{scene.ids['resource']}/suggestions", public_needs),
    ):
        answer, events = call(client, db, scene, caller, path)
        assert events == []
        if caller == "anonymous":
            assert_error(answer, 401)
            continue
        assert answer.status_code == 200, (path, answer.data)
        items = answer.get_json()
        assert items and {s["id"] for s in items} <= suggested, path
        for item in items:
            check_suggestion(scene, caller, item)


@pytest.mark.parametrize("caller", CALLERS)
def test_search(client: Any, db: Any, scene: Scene, caller: str) -> None:
    for query in ("q=洗衣机", "type=resource", "type=planet&category=x&region=1&kind=y&page=0"):
        answer, events = call(client, db, scene, caller, f"/api/v1/search?{query}")
        assert answer.status_code == 200
        body = answer.get_json()
        assert set(body) == SEARCH_KEYS
        assert isinstance(body["total"], int) and isinstance(body["total_capped"], bool)
        assert body["page"] == 1 and all(isinstance(n, str) for n in body["notes"])
        assert all(set(hit) == HIT_KEYS for hit in body["hits"])
        assert events == []
        if "planet" in query:
            assert len(body["notes"]) == 4  # type, category, region and kind ignored


def test_actions_answer_the_match_masked_as_for_the_caller(
    client: Any, db: Any, world: World, make_need: Any
) -> None:
    """The match an action answers: masked for the donor, unmasked (and audited) for the
    administrator and the staff in the household's region."""
    headers = {}
    for name in ("donor", "admin", "staff"):
        _token, plain = create_token(getattr(world, name), name, scope=TokenScope.WRITE)
        headers[name] = {"Authorization": f"Bearer {plain}"}
    db.session.commit()
    scene = Scene(world=world, ids={"need": world.need.id, "resource": world.resource.id,
                                    "household": world.household.id}, headers=headers,
                  head={"name": world.household.head_name})  # fmt: skip

    def act(caller: str, path: str, body: Any, status: int = 200) -> dict[str, Any]:
        before = len(personal_views(db))
        answer = client.post(path, json=body, headers=headers[caller])
        assert answer.status_code == status, answer.data
        item = answer.get_json()
        assert_unmasked_views(personal_views(db)[before:], caller, check_match(scene, caller, item))
        return item

    body = {"resource_id": world.resource.id, "quantity": 1}
    created = act("donor", f"/api/v1/needs/{world.need.id}/pledge", body, 201)
    assert created["status"] == "proposed" and created["feedback"] == ""
    match = f"/api/v1/matches/{created['id']}"
    assert act("admin", f"{match}/approve", None)["status"] == "approved"
    assert act("donor", f"{match}/deliver", {"note": "已送达"})["status"] == "delivered"
    confirmed = act("staff", f"{match}/confirm", {"received_quantity": 1, "satisfaction": 5,
                    "received_on": beijing_today().isoformat(), "feedback": "很好"})  # fmt: skip
    assert confirmed["status"] == "confirmed"
    assert (confirmed["received_quantity"], confirmed["satisfaction"]) == (1, 5)
    assert confirmed["feedback"] == "很好"

    refused = client.post(f"/api/v1/needs/{world.need.id}/pledge", json=body,
                          headers=headers["donor"])  # fmt: skip
    assert_error(refused, 409)  # the need has nothing open any more

    other = make_need(world.village, world.household, title="需要一台冰箱")
    scene.ids["need"] = other.id
    created = act("donor", f"/api/v1/needs/{other.id}/pledge", body, 201)
    rejected = act("admin", f"/api/v1/matches/{created['id']}/reject", {"reason": "重复"})
    assert rejected["status"] == "rejected"
