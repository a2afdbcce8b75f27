"""The API's match answer carries its follow-ups (due date, status, outcome), masked like the
rest of it: staff's notes never, the household's name masked for the donor."""

from __future__ import annotations

import json
from typing import Any

import pytest

from marketplace.accounts.models import TokenScope
from marketplace.accounts.services import create_token
from marketplace.followups import services
from marketplace.timefmt import beijing_today
from tests.conftest import World
from tests.marketplace.followups.conftest import months_ago


@pytest.fixture
def token_for(db: Any) -> Any:
    def make(user: Any) -> dict[str, str]:
        _token, plain = create_token(user, "测试系统", scope=TokenScope.READ)
        db.session.commit()
        return {"Authorization": f"Bearer {plain}"}

    return make


def test_the_match_answer_includes_its_follow_ups(
    client: Any, db: Any, world: World, confirmed: Any, token_for: Any
) -> None:
    match = confirmed("jobs", days_ago=months_ago(3) + 2)
    first = services.follow_ups_of(match)[0]
    outcome = services.Outcome(beijing_today(), True, amount="2800", note="户主腿脚不便，儿子上班")
    services.record(world.staff, first, outcome)
    db.session.commit()
    answer = client.get(f"/api/v1/matches/{match.id}", headers=token_for(world.donor))
    assert answer.status_code == 200
    body = answer.get_json()
    one, three, six = body["follow_ups"]
    assert one == {
        "months": 1, "questions": "jobs", "due_on": first.due_on.isoformat(), "status": "done",
        "overdue": False, "visited_on": beijing_today().isoformat(),
        "outcome": {"effective": True, "producing": None, "amount": "2800.00",
                    "income": "2800.00"},
    }  # fmt: skip
    assert three["status"] == "scheduled" and three["overdue"] is True
    assert three["outcome"] is None and three["visited_on"] is None
    assert six["overdue"] is False
    text = json.dumps(body, ensure_ascii=False)
    assert "腿脚不便" not in text  # staff's note: personal data, never in the API
    assert body["household"] == "张**" and "张三丰" not in text
    listed = client.get("/api/v1/matches", headers=token_for(world.donor)).get_json()
    found = next(m for m in listed if m["id"] == match.id)
    assert [f["months"] for f in found["follow_ups"]] == [1, 3, 6]
    staff_view = client.get(f"/api/v1/matches/{match.id}", headers=token_for(world.staff))
    assert "腿脚不便" not in staff_view.get_data(as_text=True)
    assert staff_view.get_json()["household"] == "张三丰"  # the staff's right


def test_a_match_not_confirmed_has_none(client: Any, db: Any, world: World, token_for: Any) -> None:
    from marketplace.matches import services as matches

    match = matches.pledge(world.donor, world.need, world.resource, 1)
    db.session.commit()
    body = client.get(f"/api/v1/matches/{match.id}", headers=token_for(world.donor)).get_json()
    assert body["follow_ups"] == []


def test_the_document_declares_them(client: Any, db: Any) -> None:
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    follow_ups = schemas["MatchOut"]["properties"]["follow_ups"]
    assert follow_ups["type"] == "array" and "follow_ups" in schemas["MatchOut"]["required"]
    declared = schemas["FollowUpOut"]
    assert set(declared["required"]) == {
        "months", "questions", "due_on", "status", "overdue", "visited_on", "outcome",
    }  # fmt: skip
    assert declared["properties"]["status"]["enum"] == ["scheduled", "done"]
    assert schemas["FollowUpOutcome"]["properties"]["income"]["format"] == "decimal"
