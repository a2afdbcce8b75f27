"""A household with a plan to make: the world's household (illness, and skills too), an income
above the line, and helpers that record its guarantees through the services."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from marketplace.plans import services
from marketplace.plans.models import Guarantee, Measure
from marketplace.timefmt import beijing_today
from tests.conftest import World


@pytest.fixture
def plan_world(db: Any, world: World) -> World:
    household = world.household
    household.other_causes = ["skills"]
    household.income_per_capita = Decimal("5200")
    world.staff.phone = "13800001234"
    db.session.commit()
    return world


def check_all(
    db: Any, household: Any, user: Any, unmet: tuple[Guarantee, ...] = (), on: date | None = None
) -> None:
    """One visit checking all six guarantees; those in ``unmet`` not met."""
    entries = {g: (g not in unmet, f"入户核查：{g.label}") for g in Guarantee}
    services.record_guarantees(user, household, on or beijing_today(), entries)
    db.session.commit()


def add_measure(db: Any, household: Any, user: Any, **values: Any) -> Measure:
    defaults = {
        "cause": "illness",
        "subcategory": "medical.insurance",
        "title": "全家参加城乡居民基本医疗保险和大病保险",
        "target": "全员参保",
        "due_on": beijing_today() + timedelta(days=60),
        "responsible_id": user.id,
        "responsible_name": "",
        "responsible_phone": "",
    }
    measure = services.add_measure(user, household, **{**defaults, **values})
    db.session.commit()
    return measure
