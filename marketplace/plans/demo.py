"""The demo's household plans (demo_data/plans.json), played through the services as village
staff and a county administrator would: in the first village of Jingyuan's staff, households
not yet out of poverty get a plan with the suggested measure for each of their causes and a
visit checking their guarantees; then one exits by assessment, one exits and falls ill (at
risk), one has a guarantee not met and a need proposed for it, one a need posted from a
measure. Called by ``marketplace.demo.load_demo``; idempotent: nothing is done once a plan
exists."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.extensions import db
from marketplace.households.models import Household
from marketplace.plans import services
from marketplace.plans.models import Guarantee, Measure, MeasureStatus, Plan, ShockKind
from marketplace.plans.suggestions import GUARANTEE_CATEGORY, suggestions_for
from marketplace.regions.models import RegionLevel
from marketplace.timefmt import beijing_today
from marketplace.vocab import CATEGORIES, HouseholdStatus, PovertyCause, Route

DATA = Path(__file__).resolve().parent.parent / "demo_data" / "plans.json"


def load(users: dict[str, User]) -> int:
    """Play the stories; returns the plans made."""
    if db.session.scalar(sa.select(Plan.id).limit(1)) is not None:
        return 0
    data = json.loads(DATA.read_text(encoding="utf-8"))
    staff, assessor = users[data["staff"]], users[data["assessor"]]
    villages = sorted((r for r in staff.regions if r.level == RegionLevel.VILLAGE),
                      key=lambda r: r.code)  # fmt: skip
    if not villages:
        return 0
    candidates = list(
        db.session.scalars(
            sa.select(Household)
            .where(Household.village_id == villages[0].id,
                   Household.status == HouseholdStatus.POOR)
            .order_by(Household.register_number)
        )
    )  # fmt: skip
    used: set[int] = set()
    made = 0
    for story in data["stories"]:
        household = next(
            (h for h in candidates if h.id not in used
             and (h.income_per_capita or Decimal(0)) > story["income_above"]),
            None,
        )  # fmt: skip
        if household is None:
            continue
        used.add(household.id)
        _play(data, story, household, staff, assessor)
        made += 1
    db.session.flush()
    return made


def _play(
    data: dict[str, Any], story: dict[str, Any], household: Household, staff: User, assessor: User
) -> None:
    today = beijing_today()
    services.update_plan(staff, household, story["goal"], data["target_year"])
    measures = [_measure(data, story, household, staff, PovertyCause(c), n == 0)
                for n, c in enumerate(household.causes)]  # fmt: skip
    unmet = set(story.get("unmet", []))
    entries = {
        g: (g.value not in unmet,
            data["unmet_evidence"][g.value] if g.value in unmet else data["evidence"][g.value])
        for g in Guarantee
    }  # fmt: skip
    services.record_guarantees(staff, household, today - timedelta(days=data["checked_days_ago"]),
                               entries)  # fmt: skip
    if story["measures"] == "done":
        for measure in measures:
            services.move_measure(staff, measure, MeasureStatus.DONE, story["outcome"])
    if story.get("exit"):
        services.assess_exit(assessor, household)
    shock = story.get("shock")
    if shock:
        services.record_shock(staff, household, ShockKind(shock["kind"]),
                              today - timedelta(days=shock["days_ago"]), shock["note"])  # fmt: skip
    need = story.get("need_for_guarantee")
    if need:
        guarantee = Guarantee(need["guarantee"])
        services.post_need(
            staff, household, None, subcategory=GUARANTEE_CATEGORY[guarantee],
            title=need["title"], description=data["unmet_evidence"][guarantee.value],
            quantity=need["quantity"], unit=need["unit"], estimated_value=need["value"],
            urgency=3, needed_by=None,
        )  # fmt: skip
    posted = story.get("need_from_measure")
    if posted:
        # A measure donors can help with: the social-security floor is the state's to pay.
        measure = next((m for m in measures if CATEGORIES[m.subcategory].route != Route.SAFETY_NET
                        and not m.subcategory.startswith("ecology.")), measures[0])  # fmt: skip
        services.post_need(
            staff, household, measure, subcategory=measure.subcategory, title=measure.title,
            description=measure.target, quantity=posted["quantity"], unit=posted["unit"],
            estimated_value=posted["value"], urgency=2, needed_by=None,
        )  # fmt: skip


def _measure(
    data: dict[str, Any],
    story: dict[str, Any],
    household: Household,
    staff: User,
    cause: PovertyCause,
    first: bool,
) -> Measure:
    suggestion = suggestions_for(cause)[0]
    named = story.get("named_cadre") and first
    return services.add_measure(
        staff, household, cause=cause.value, subcategory=suggestion.subcategory,
        title=str(suggestion.title), target=str(suggestion.target),
        due_on=beijing_today() + timedelta(days=data["due_in_days"]),
        responsible_id=None if named else staff.id,
        responsible_name=data["cadre"]["name"] if named else "",
        responsible_phone=data["cadre"]["phone"] if named else "",
    )  # fmt: skip
