"""Follow-ups are scheduled when a match is confirmed, by resource kind and need category, from
the day the help arrived; the schedule is a setting."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace import create_app
from marketplace.config import ConfigError
from marketplace.followups import services
from marketplace.followups.models import FollowUp, FollowUpStatus
from marketplace.followups.services import add_months
from marketplace.matches import services as matches
from marketplace.matches.models import MatchStatus
from marketplace.timefmt import beijing_today
from tests.conftest import World, base_config, database_url


def _plan(match: Any) -> list[tuple[int, str, date]]:
    return [(f.months, f.questions, f.due_on) for f in services.follow_ups_of(match)]


@pytest.mark.parametrize(
    ("help", "months", "questions"),
    [
        ("jobs", [1, 3, 6], "jobs"),
        ("training", [3], "training"),
        ("livestock", [6, 12], "livestock"),  # donated sheep are goods, followed up as livestock
        ("industry", [6, 12], "industry"),
        ("goods", [3], "goods"),
    ],
)
def test_confirmation_schedules_follow_ups_by_kind_and_category(
    confirmed: Any, help: str, months: list[int], questions: str
) -> None:
    match = confirmed(help, days_ago=10)
    arrived = beijing_today() - timedelta(days=10)
    assert match.status == MatchStatus.CONFIRMED and match.received_on == arrived
    assert _plan(match) == [(m, questions, add_months(arrived, m)) for m in months]
    assert {f.status for f in services.follow_ups_of(match)} == {FollowUpStatus.SCHEDULED}


def test_help_no_rule_names_is_not_followed_up(confirmed: Any) -> None:
    assert _plan(confirmed("discount")) == []


def test_scheduling_twice_makes_no_more(db: Any, confirmed: Any) -> None:
    match = confirmed("jobs")
    services.schedule(match)
    services.schedule(match)
    count = db.session.scalar(
        sa.select(sa.func.count(FollowUp.id)).where(FollowUp.match_id == match.id)
    )
    assert count == 3


def test_a_dispute_found_delivered_schedules_them_too(db: Any, world: World) -> None:
    match = matches.pledge(world.donor, world.need, world.resource, 1)
    matches.approve(world.admin, match)
    matches.deliver(world.donor, match, "已送达")
    matches.report_non_receipt(world.staff, match, "农户说没收到")
    assert services.follow_ups_of(match) == []
    matches.resolve_dispute(world.admin, match, "confirmed", "核实已送达")
    assert [f.months for f in services.follow_ups_of(match)] == [3]


def test_the_schedule_is_a_setting(app: Any, confirmed: Any, monkeypatch: Any) -> None:
    rules = [{"kind": "goods", "months": [2, 4], "questions": "goods"}]
    monkeypatch.setitem(app.config, "FOLLOW_UP_SCHEDULE", json.dumps(rules))
    assert [f.months for f in services.follow_ups_of(confirmed("goods"))] == [2, 4]
    assert services.follow_ups_of(confirmed("jobs")) == []  # no rule for jobs any more


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        '[{"kind": "goods", "months": [0], "questions": "goods"}]',
        '[{"kind": "goods", "months": [3], "questions": "nonsense"}]',
        '[{"kind": "spaceships", "months": [3], "questions": "goods"}]',
        '[{"category": "nonsense", "months": [3], "questions": "goods"}]',
        '[{"kind": "goods", "months": [3, 3], "questions": "goods"}]',
        '{"kind": "goods"}',
    ],
)
def test_a_schedule_the_application_cannot_use_stops_the_start(value: str) -> None:
    config = {**base_config(database_url()), "FOLLOW_UP_SCHEDULE": value}
    with pytest.raises((ConfigError, ValueError)) as refused:
        create_app(config)
    assert "FOLLOW_UP_SCHEDULE" in str(refused.value)


def test_months_are_added_as_calendar_months() -> None:
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 15), 1) == date(2026, 12, 15)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)
    assert add_months(date(2026, 3, 10), -7) == date(2025, 8, 10)
