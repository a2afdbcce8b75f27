"""The household's plan (一户一策), its guarantees (两不愁三保障), exit by assessment (脱贫) and
monitoring (防返贫). Services take the actor, check the policy and refuse with a ServiceError;
statuses move only through the workflows of ``plans.policy``.

Decisions (see README "Household plans"):
- exit needs all six guarantees checked and met (the latest check of each) and a recorded
  income per person above POVERTY_LINE; the decision keeps the income, the line and its year;
- an exited or monitored household is at risk while its income is at most
  AT_RISK_MARGIN_PERCENT above the line (or below it), or a shock is open; a household not yet
  out of poverty is helped as poor and is not flagged;
- release from monitoring is the exit assessment again, with the risk gone as well.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import User
from marketplace.accounts.services import admins_over, staff_of
from marketplace.attachments.models import Attachment
from marketplace.attachments.services import attach
from marketplace.audit.services import record_event
from marketplace.db import utcnow
from marketplace.errors import Problem, ServiceError, refuse_first
from marketplace.extensions import db
from marketplace.households.models import Household
from marketplace.households.policy import STATUS_WORKFLOW
from marketplace.households.services import households_query
from marketplace.needs import services as needs
from marketplace.needs.models import Need
from marketplace.permissions import in_scope
from marketplace.plans import policy
from marketplace.plans.models import (
    Guarantee,
    GuaranteeCheck,
    Measure,
    MeasureStatus,
    Plan,
    Shock,
    ShockKind,
    StatusDecision,
)
from marketplace.plans.suggestions import GUARANTEE_CATEGORY
from marketplace.privacy import mask_name, mask_phone
from marketplace.regions.models import Region
from marketplace.roles import Role
from marketplace.timefmt import beijing_today
from marketplace.validation import normalise_mobile
from marketplace.vocab import SUBCATEGORY_CODES, HouseholdStatus, PovertyCause

MEASURE_FIELDS = ("cause", "subcategory", "title", "target", "due_on", "responsible_id",
                  "responsible_name", "responsible_phone")  # fmt: skip
EARLIEST = date(2000, 1, 1)
NOT_FOUND = _l("The page or record was not found.")
ONLY_STAFF = _l("Only the staff of this village may change its plan.")
ONLY_ADMINS = _l("Only administrators of this region decide a household's status.")


# --- the poverty line -----------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """The poverty line of the year stated (yuan per person a year) and the margin above it
    within which an exited household is at risk."""

    amount: Decimal
    year: int
    margin_percent: int

    @property
    def at_risk_up_to(self) -> Decimal:
        return (self.amount * (100 + self.margin_percent) / 100).quantize(Decimal("0.01"))


def poverty_line() -> Line:
    config = current_app.config
    return Line(
        Decimal(config["POVERTY_LINE"]),
        int(config["POVERTY_LINE_YEAR"]),
        int(config["AT_RISK_MARGIN_PERCENT"]),
    )


def _yuan(value: Decimal) -> str:
    return f"{value:.0f}" if value == value.to_integral_value() else f"{value:.2f}"


# --- the plan and its measures --------------------------------------------------------------


def plan_of(household: Household) -> Plan | None:
    return db.session.scalar(sa.select(Plan).where(Plan.household_id == household.id))


def _plan_for(actor: User, household: Household) -> Plan:
    plan = plan_of(household)
    if plan is None:
        plan = Plan(household=household, created_by_id=actor.id)
        db.session.add(plan)
        db.session.flush()
        record_event("plan_created", actor, plan, region=household.village)
    return plan


def _require_keeper(actor: User, household: Household) -> None:
    if not policy.can_keep_plan(actor, household):
        raise ServiceError(ONLY_STAFF, 403)


def update_plan(actor: User, household: Household, goal: str, target_year: int | None) -> Plan:
    _require_keeper(actor, household)
    if target_year is not None and not 2000 <= target_year <= 2100:
        raise ServiceError(_l("Give a year from 2000 to 2100."), field="target_year")
    plan = _plan_for(actor, household)
    plan.goal = (goal or "").strip()[:200]
    plan.target_year = target_year
    record_event("plan_updated", actor, plan, after={"target_year": target_year},
                 region=household.village)  # fmt: skip
    return plan


def responsible_choices(household: Household) -> list[User]:
    """The accounts that may be a measure's responsible cadre: the village's staff and the
    administrators over it."""
    village = household.village
    found = {u.id: u for u in [*staff_of(village), *admins_over(village)]}
    return sorted(found.values(), key=lambda u: (u.display_name, u.id))


def measure_problems(
    household: Household, values: dict[str, Any], before: Measure | None = None
) -> list[Problem]:
    """Every rule a measure's values break (``before``: the measure being edited)."""
    problems = []
    if values.get("cause") not in household.causes:
        problems.append(Problem("cause", _l("Choose one of the household's poverty causes.")))
    if values.get("subcategory") not in SUBCATEGORY_CODES:
        problems.append(Problem("subcategory", _l("Choose a category from the list.")))
    if not (values.get("title") or "").strip():
        problems.append(Problem("title", _l("This field is required.")))
    due_on = values.get("due_on")
    if due_on is None:
        problems.append(Problem("due_on", _l("This field is required.")))
    elif due_on < beijing_today() and (before is None or before.due_on != due_on):
        problems.append(Problem("due_on", _l("The date cannot be in the past.")))
    responsible = values.get("responsible_id")
    if responsible and responsible not in {u.id for u in responsible_choices(household)}:
        problems.append(
            Problem("responsible_id", _l("Choose a cadre of this village from the list."))
        )
    if not responsible and not (values.get("responsible_name") or "").strip():
        problems.append(
            Problem(
                "responsible_name",
                _l("Name the responsible cadre: choose an account or give a name."),
            )
        )
    phone = (values.get("responsible_phone") or "").strip()
    if phone and not responsible:
        try:
            normalise_mobile(phone)
        except ValueError as exc:
            problems.append(Problem("responsible_phone", exc.args[0]))
    return problems


def _clean_measure(values: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {name: values.get(name) for name in MEASURE_FIELDS}
    clean["cause"] = PovertyCause(clean["cause"])
    clean["title"] = clean["title"].strip()[:100]
    clean["target"] = (clean["target"] or "").strip()[:200]
    if clean["responsible_id"]:
        clean["responsible_name"] = clean["responsible_phone"] = ""
    else:
        clean["responsible_id"] = None
        clean["responsible_name"] = clean["responsible_name"].strip()[:50]
        phone = (clean["responsible_phone"] or "").strip()
        clean["responsible_phone"] = normalise_mobile(phone) if phone else ""
    return clean


def add_measure(actor: User, household: Household, **values: Any) -> Measure:
    _require_keeper(actor, household)
    refuse_first(measure_problems(household, values))
    plan = _plan_for(actor, household)
    measure = Measure(plan=plan, created_by_id=actor.id, status=MeasureStatus.PLANNED,
                      **_clean_measure(values))  # fmt: skip
    db.session.add(measure)
    db.session.flush()
    record_event("measure_added", actor, measure,
                 after={"cause": measure.cause.value, "category": measure.subcategory},
                 region=household.village)  # fmt: skip
    return measure


def update_measure(actor: User, measure: Measure, **values: Any) -> None:
    household = measure.plan.household
    _require_keeper(actor, household)
    if measure.status not in policy.OPEN_MEASURES:
        raise ServiceError(_l("A measure done or dropped can no longer be changed."), 409)
    refuse_first(measure_problems(household, values, before=measure))
    clean = _clean_measure(values)
    changed = sorted(name for name in MEASURE_FIELDS if getattr(measure, name) != clean[name])
    for name, value in clean.items():
        setattr(measure, name, value)
    record_event("measure_updated", actor, measure, after={"fields": changed},
                 region=household.village)  # fmt: skip


def get_measure(user: User, household: Household, measure_id: int | None) -> Measure:
    """A measure of this household's plan (404 for any other)."""
    measure = db.session.get(Measure, measure_id) if measure_id else None
    if measure is None or measure.plan.household_id != household.id:
        raise ServiceError(NOT_FOUND, 404)
    return measure


def measure_in_scope(user: User, measure_id: int) -> Measure:
    measure = db.session.get(Measure, measure_id)
    if measure is None or not policy.can_read(user, measure.plan.household):
        raise ServiceError(NOT_FOUND, 404)
    return measure


def move_measure(actor: User, measure: Measure, to: MeasureStatus, outcome: str = "") -> None:
    """The one way a measure changes status (MEASURE_WORKFLOW: 409 on an illegal or raced
    move). Dropping one needs a reason; done and dropped measures keep when and what came of
    them."""
    household = measure.plan.household
    _require_keeper(actor, household)
    if not policy.MEASURE_WORKFLOW.allows(measure, to):
        raise ServiceError(_l("This measure cannot move to that status from where it is."), 409)
    outcome = (outcome or "").strip()
    if to == MeasureStatus.DROPPED and not outcome:
        raise ServiceError(_l("Give a reason when you drop a measure."), field="reason")
    values: dict[str, Any] = {}
    if to in (MeasureStatus.DONE, MeasureStatus.DROPPED):
        values = {"finished_at": utcnow(), "outcome": outcome[:500]}
    source = policy.MEASURE_WORKFLOW.move(measure, to, **values)
    record_event("measure_moved", actor, measure, before={"status": source.value},
                 after={"status": to.value}, region=household.village)  # fmt: skip


def post_need(actor: User, household: Household, measure: Measure | None, **values: Any) -> Need:
    """A need for the household, posted from one of its plan's measures (the need carries the
    measure's id, and a planned measure is under way from then on) or from an unmet guarantee
    (``measure`` None)."""
    if measure is not None:
        if measure.plan.household_id != household.id:
            raise ServiceError(NOT_FOUND, 404)
        if measure.status not in policy.OPEN_MEASURES:
            raise ServiceError(_l("Needs can be posted only from a measure still open."), 409)
    need = needs.create_need(actor, household.village, household, **values)
    if measure is not None:
        need.measure_id = measure.id
        record_event("need_posted_from_measure", actor, need, after={"measure": measure.id})
        if measure.status == MeasureStatus.PLANNED:
            move_measure(actor, measure, MeasureStatus.UNDER_WAY)
    return need


def needs_of_measures(measure_ids: list[int]) -> dict[int, list[Need]]:
    found: dict[int, list[Need]] = defaultdict(list)
    if measure_ids:
        for need in db.session.scalars(
            sa.select(Need).where(Need.measure_id.in_(measure_ids)).order_by(Need.id)
        ):
            assert need.measure_id is not None
            found[need.measure_id].append(need)
    return found


# --- the guarantees -------------------------------------------------------------------------


def _latest_checks_query(on: date | None) -> Any:
    """The ids of each household's latest check of each guarantee (on or before ``on``)."""
    ranked = sa.select(
        GuaranteeCheck.id,
        sa.func.row_number()
        .over(
            partition_by=(GuaranteeCheck.household_id, GuaranteeCheck.guarantee),
            order_by=(GuaranteeCheck.checked_on.desc(), GuaranteeCheck.id.desc()),
        )
        .label("n"),
    )
    if on is not None:
        ranked = ranked.where(GuaranteeCheck.checked_on <= on)
    latest = ranked.subquery()
    return sa.select(latest.c.id).where(latest.c.n == 1)


def latest_checks(
    household_ids: Iterable[int], on: date | None = None
) -> dict[int, dict[Guarantee, GuaranteeCheck]]:
    """Each household's latest check of each guarantee (on or before ``on``)."""
    ids = list(household_ids)
    state: dict[int, dict[Guarantee, GuaranteeCheck]] = {i: {} for i in ids}
    if not ids:
        return state
    rows = db.session.scalars(
        sa.select(GuaranteeCheck).where(
            GuaranteeCheck.household_id.in_(ids), GuaranteeCheck.id.in_(_latest_checks_query(on))
        )
    )
    for check in rows:
        state[check.household_id][check.guarantee] = check
    return state


def record_guarantees(
    actor: User,
    household: Household,
    checked_on: date | None,
    entries: dict[Guarantee, tuple[bool, str]],
    photos: dict[Guarantee, tuple[bytes, str, str]] | None = None,
) -> list[GuaranteeCheck]:
    """One visit's checks: each guarantee named met or not, with what was seen, and a photo of
    it where one was taken (an attachment of the check, EVIDENCE_PHOTO)."""
    _require_keeper(actor, household)
    photos = photos or {}
    if checked_on is None:
        raise ServiceError(_l("This field is required."), field="checked_on")
    if checked_on > beijing_today():
        raise ServiceError(_l("The date of the check cannot be in the future."), field="checked_on")
    if checked_on < EARLIEST:
        raise ServiceError(_l("Give a date from 2000 on."), field="checked_on")
    if not entries:
        raise ServiceError(_l("Record at least one guarantee as met or not met."))
    for guarantee, (_met, evidence) in entries.items():
        if not evidence.strip():
            raise ServiceError(
                _l("Say what was seen: the evidence is required."),
                field=f"{guarantee.value}_evidence",
            )
    for guarantee in photos:
        if guarantee not in entries:
            raise ServiceError(_l("Say whether this guarantee is met: the photo goes with its "
                                  "check."), field=f"{guarantee.value}_photo")  # fmt: skip
    checks = [
        GuaranteeCheck(
            household_id=household.id,
            guarantee=guarantee,
            met=met,
            checked_on=checked_on,
            evidence=evidence.strip()[:500],
            recorded_by_id=actor.id,
        )
        for guarantee, (met, evidence) in entries.items()
    ]
    db.session.add_all(checks)
    db.session.flush()
    for check in checks:
        if check.guarantee in photos:
            attach(EVIDENCE_PHOTO, check.id, photos[check.guarantee], actor, "evidence")
    # Which guarantees, not the evidence: the trail must not copy what was seen in the home.
    record_event("guarantees_checked", actor, household, after={
        "checked_on": checked_on.isoformat(),
        "met": sorted(g.value for g, (met, _e) in entries.items() if met),
        "unmet": sorted(g.value for g, (met, _e) in entries.items() if not met),
        "photos": sorted(g.value for g in photos),
    })  # fmt: skip
    return checks


# The owner type of a guarantee check's photo (owner_id: the check).
EVIDENCE_PHOTO = "guarantee_check"


def evidence_photos(check_ids: Iterable[int]) -> dict[int, Attachment]:
    """The photo of each of these checks that has one."""
    ids = list(check_ids)
    if not ids:
        return {}
    found = db.session.scalars(
        sa.select(Attachment)
        .where(Attachment.owner_type == EVIDENCE_PHOTO, Attachment.owner_id.in_(ids))
        .order_by(Attachment.id)
    )
    return {a.owner_id: a for a in found}


def get_evidence_photo(user: User, attachment_id: int) -> tuple[Attachment, Household]:
    """A check's photo, for a reader who may see it (policy.can_see_evidence_photo): 404 for
    anyone else, as for a photo that does not exist. The view is audited like personal data."""
    photo = db.session.get(Attachment, attachment_id)
    check = (
        db.session.get(GuaranteeCheck, photo.owner_id)
        if photo is not None and photo.owner_type == EVIDENCE_PHOTO
        else None
    )
    household = db.session.get(Household, check.household_id) if check is not None else None
    if photo is None or household is None or not policy.can_see_evidence_photo(user, household):
        raise ServiceError(NOT_FOUND, 404)
    record_event("personal_data_viewed", user,
                 after={"households": [household.id], "evidence_photos": [photo.id]})  # fmt: skip
    return photo, household


@dataclass
class GuaranteeRow:
    guarantee: Guarantee
    check: GuaranteeCheck | None
    category: str  # the need category that would close it
    photo: Attachment | None = None  # of the latest check, if one was taken

    @property
    def met(self) -> bool | None:
        return None if self.check is None else self.check.met


def guarantee_rows(household: Household) -> list[GuaranteeRow]:
    state = latest_checks([household.id])[household.id]
    photos = evidence_photos(c.id for c in state.values())
    return [
        GuaranteeRow(g, state.get(g), GUARANTEE_CATEGORY[g],
                     photos.get(state[g].id) if g in state else None)
        for g in Guarantee
    ]  # fmt: skip


# --- shocks and the risk of falling back ----------------------------------------------------


def record_shock(
    actor: User, household: Household, kind: ShockKind, occurred_on: date | None, note: str = ""
) -> Shock:
    if not policy.can_record_shock(actor, household):
        raise ServiceError(
            _l("Only the staff and administrators of this village may do this."), 403
        )
    if occurred_on is None:
        raise ServiceError(_l("This field is required."), field="occurred_on")
    if occurred_on > beijing_today():
        raise ServiceError(_l("The date cannot be in the future."), field="occurred_on")
    if occurred_on < EARLIEST:
        raise ServiceError(_l("Give a date from 2000 on."), field="occurred_on")
    shock = Shock(household_id=household.id, kind=ShockKind(kind), occurred_on=occurred_on,
                  note=(note or "").strip()[:500], recorded_by_id=actor.id)  # fmt: skip
    db.session.add(shock)
    db.session.flush()
    # The kind may be an illness: the trail keeps only that a shock was recorded.
    record_event("shock_recorded", actor, household, after={"shock": shock.id})
    return shock


def get_shock(user: User, shock_id: int) -> tuple[Shock, Household]:
    shock = db.session.get(Shock, shock_id)
    household = db.session.get(Household, shock.household_id) if shock else None
    if shock is None or household is None or not policy.can_read(user, household):
        raise ServiceError(NOT_FOUND, 404)
    return shock, household


def resolve_shock(actor: User, shock: Shock, household: Household) -> None:
    """The shock is over (treated, rebuilt, back at work): it no longer flags the household.
    A compare-and-set, so that two people closing it at once are told."""
    if not policy.can_resolve_shock(actor, household):
        raise ServiceError(
            _l("Only the staff and administrators of this village may do this."), 403
        )
    result = db.session.execute(
        sa.update(Shock)
        .where(Shock.id == shock.id, Shock.resolved_on.is_(None))
        .values(resolved_on=beijing_today(), resolved_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ServiceError(_l("This shock has already been marked as over."), 409)
    db.session.refresh(shock)
    record_event("shock_resolved", actor, household, after={"shock": shock.id})


def open_shocks(household_ids: Iterable[int]) -> dict[int, list[Shock]]:
    found: dict[int, list[Shock]] = defaultdict(list)
    ids = list(household_ids)
    if ids:
        for shock in db.session.scalars(
            sa.select(Shock)
            .where(Shock.household_id.in_(ids), Shock.resolved_on.is_(None))
            .order_by(Shock.occurred_on)
        ):
            found[shock.household_id].append(shock)
    return found


def shocks_of(household: Household) -> list[Shock]:
    return list(
        db.session.scalars(
            sa.select(Shock)
            .where(Shock.household_id == household.id)
            .order_by(Shock.occurred_on.desc(), Shock.id.desc())
        )
    )


WATCHED = (HouseholdStatus.EXITED, HouseholdStatus.MONITORED)


def at_risk_clause(line: Line | None = None) -> sa.ColumnElement[bool]:
    """Households at risk of falling back: out of poverty (or monitored), with an income near
    or below the line, or a shock still open."""
    line = line or poverty_line()
    shock = sa.exists().where(Shock.household_id == Household.id, Shock.resolved_on.is_(None))
    return sa.and_(
        Household.status.in_(WATCHED),
        sa.or_(Household.income_per_capita <= line.at_risk_up_to, shock),
    )


@dataclass
class Risk:
    """Why a household is at risk (nothing: it is not)."""

    income: Decimal | None
    near_line: bool = False
    below_line: bool = False
    shocks: list[Shock] = field(default_factory=list)

    @property
    def at_risk(self) -> bool:
        return self.near_line or self.below_line or bool(self.shocks)


def risk_of(household: Household, shocks: list[Shock] | None = None) -> Risk:
    line = poverty_line()
    income = household.income_per_capita
    risk = Risk(income)
    if household.status not in WATCHED:
        return risk
    if income is not None:
        risk.below_line = income <= line.amount
        risk.near_line = line.amount < income <= line.at_risk_up_to
    risk.shocks = shocks if shocks is not None else open_shocks([household.id])[household.id]
    return risk


def monitoring_query(user: User) -> sa.Select[Any]:
    """The households at risk or monitored in the user's regions (administrators)."""
    return households_query(user).where(
        sa.or_(Household.status == HouseholdStatus.MONITORED, at_risk_clause())
    )


# --- exit and the other status decisions ----------------------------------------------------


def exit_problems(household: Household) -> list[str]:
    """Why the household cannot exit now, in the reader's language (nothing: it can)."""
    line = poverty_line()
    state = latest_checks([household.id])[household.id]
    reasons = []
    unmet = [str(g.label) for g in Guarantee if g in state and not state[g].met]
    unchecked = [str(g.label) for g in Guarantee if g not in state]
    if unmet:
        reasons.append(_("Guarantees not met: %(list)s.", list="、".join(unmet)))
    if unchecked:
        reasons.append(_("Guarantees not yet checked: %(list)s.", list="、".join(unchecked)))
    income = household.income_per_capita
    if income is None:
        reasons.append(_("No income per person is recorded in the register."))
    elif income <= line.amount:
        reasons.append(
            _(
                "Income per person of %(income)s yuan is not above the %(year)s poverty line "
                "of %(line)s yuan.",
                income=_yuan(income),
                year=line.year,
                line=_yuan(line.amount),
            )
        )
    if household.status == HouseholdStatus.MONITORED:
        risk = risk_of(household)
        if risk.near_line:
            margin = str(line.margin_percent) + "%"
            reasons.append(
                _(
                    "Income per person of %(income)s yuan is still within %(margin)s of the "
                    "line (up to %(limit)s yuan).",
                    income=_yuan(income or Decimal(0)),
                    margin=margin,
                    limit=_yuan(line.at_risk_up_to),
                )
            )
        for shock in risk.shocks:
            reasons.append(
                _("A shock of %(date)s is not over yet.", date=shock.occurred_on.isoformat())
            )
    return reasons


def _require_decider(actor: User, household: Household, to: HouseholdStatus) -> None:
    if actor.role not in Role.ADMINS or not in_scope(actor, household.village):
        raise ServiceError(ONLY_ADMINS, 403)
    if not STATUS_WORKFLOW.allows(household, to):
        raise ServiceError(
            _l("The household's status cannot change that way from where it is."), 409
        )


def _decide(
    actor: User, household: Household, to: HouseholdStatus, reason: str = "", **values: Any
) -> StatusDecision:
    source = STATUS_WORKFLOW.move(household, to)
    decision = StatusDecision(
        household_id=household.id, from_status=source, to_status=to,
        decided_on=beijing_today(), reason=reason[:500], decided_by_id=actor.id, **values,
    )  # fmt: skip
    db.session.add(decision)
    db.session.flush()
    return decision


def assess_exit(actor: User, household: Household) -> StatusDecision:
    """Exit by assessment (脱贫; from monitoring: the risk is gone): all guarantees met and
    income above the line, or refused with every reason. The household stays eligible for aid
    (脱贫不脱政策): nothing else about it changes."""
    _require_decider(actor, household, HouseholdStatus.EXITED)
    reasons = exit_problems(household)
    if reasons:
        raise ServiceError(_("Exit refused: %(reasons)s", reasons=" ".join(reasons)), 409)
    line = poverty_line()
    decision = _decide(actor, household, HouseholdStatus.EXITED,
                       income_per_capita=household.income_per_capita, poverty_line=line.amount,
                       line_year=line.year)  # fmt: skip
    record_event("household_exited", actor, household,
                 before={"status": decision.from_status.value},
                 after={"status": "exited", "decided_on": decision.decided_on.isoformat(),
                        "poverty_line": str(line.amount), "line_year": line.year})  # fmt: skip
    return decision


def _with_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_l("Give a reason for this decision."), field="reason")
    return reason


def start_monitoring(actor: User, household: Household, reason: str) -> StatusDecision:
    """An exited household at risk comes under monitoring (监测户)."""
    _require_decider(actor, household, HouseholdStatus.MONITORED)
    decision = _decide(actor, household, HouseholdStatus.MONITORED, _with_reason(reason))
    record_event("household_monitored", actor, household, before={"status": "exited"},
                 after={"status": "monitored", "reason": decision.reason})  # fmt: skip
    return decision


def return_to_poverty(actor: User, household: Household, reason: str) -> StatusDecision:
    """An exited or monitored household has fallen back (返贫): poor again."""
    _require_decider(actor, household, HouseholdStatus.POOR)
    decision = _decide(actor, household, HouseholdStatus.POOR, _with_reason(reason))
    record_event("household_returned_to_poverty", actor, household,
                 before={"status": decision.from_status.value},
                 after={"status": "poor", "reason": decision.reason})  # fmt: skip
    return decision


def decisions_of(household: Household) -> list[StatusDecision]:
    return list(
        db.session.scalars(
            sa.select(StatusDecision)
            .where(StatusDecision.household_id == household.id)
            .options(selectinload(StatusDecision.decided_by))
            .order_by(StatusDecision.decided_on.desc(), StatusDecision.id.desc())
        )
    )


# --- what the pages and the API show --------------------------------------------------------


@dataclass
class MeasureView:
    measure: Measure
    responsible: str
    phone: str
    needs: list[Need]
    may: dict[str, bool]


@dataclass
class PlanView:
    household: Household
    plan: Plan | None
    measures: list[MeasureView]
    guarantees: list[GuaranteeRow]
    risk: Risk
    shocks: list[Shock]
    decisions: list[StatusDecision]
    exit_problems: list[str]
    line: Line
    may: dict[str, bool]
    personal: bool  # whether the page shows personal data unmasked

    @property
    def all_met(self) -> bool:
        return all(row.met for row in self.guarantees)

    @property
    def unmet(self) -> list[GuaranteeRow]:
        return [row for row in self.guarantees if row.met is False]


def _responsible(measure: Measure, personal: bool) -> tuple[str, str]:
    if measure.responsible is not None:
        name, phone = measure.responsible.display_name, measure.responsible.phone
    else:
        name, phone = measure.responsible_name, measure.responsible_phone
    return name, (phone if personal else mask_phone(phone))


def plan_view(user: User, household: Household, board: bool = False) -> PlanView:
    """The plan as ``user`` may see it; ``board``: the copy for the village notice board,
    masked whoever prints it."""
    personal = policy.can_see_personal(user, household) and not board
    plan = plan_of(household)
    measures = (
        list(
            db.session.scalars(
                sa.select(Measure)
                .where(Measure.plan_id == plan.id)
                .options(selectinload(Measure.responsible))
                .order_by(Measure.id)
            )
        )
        if plan is not None
        else []
    )
    by_measure = needs_of_measures([m.id for m in measures])
    shocks = shocks_of(household)
    risk = risk_of(household, [s for s in shocks if s.resolved_on is None])
    may = policy.actions(user, household)
    return PlanView(
        household=household,
        plan=plan,
        measures=[
            MeasureView(
                m,
                *_responsible(m, personal),
                by_measure.get(m.id, []),
                policy.measure_actions(user, m),
            )
            for m in measures
        ],
        guarantees=guarantee_rows(household),
        risk=risk,
        shocks=shocks,
        decisions=decisions_of(household),
        exit_problems=exit_problems(household) if may["assess_exit"] else [],
        line=poverty_line(),
        may=may,
        personal=personal,
    )


def board_name(household: Household) -> str:
    return mask_name(household.head_name)


def plan_summaries(user: User | None, households: list[Household]) -> dict[int, dict[str, Any]]:
    """Each household's plan as data (the API's ``plan`` of a household), masked by the
    reader's rights like the pages (a responsible cadre's phone in full only to readers of
    personal data): its goal, its measures with the needs posted from them, each guarantee's
    latest check and whether it is at risk. A few queries for the whole list, not per household."""
    ids = [h.id for h in households]
    if not ids:
        return {}
    plans = {p.household_id: p for p in db.session.scalars(
        sa.select(Plan).where(Plan.household_id.in_(ids)))}  # fmt: skip
    by_plan: dict[int, list[Measure]] = defaultdict(list)
    if plans:
        for m in db.session.scalars(
            sa.select(Measure)
            .where(Measure.plan_id.in_([p.id for p in plans.values()]))
            .options(selectinload(Measure.responsible))
            .order_by(Measure.id)
        ):
            by_plan[m.plan_id].append(m)
    posted = needs_of_measures([m.id for ms in by_plan.values() for m in ms])
    checks = latest_checks(ids)
    shocks = open_shocks(ids)
    found: dict[int, dict[str, Any]] = {}
    for household in households:
        personal = user is not None and policy.can_see_personal(user, household)
        plan = plans.get(household.id)
        measures = by_plan.get(plan.id, []) if plan is not None else []
        state = checks[household.id]
        found[household.id] = {
            "goal": plan.goal if plan is not None else "",
            "target_year": plan.target_year if plan is not None else None,
            "measures": [_measure_data(m, personal, posted.get(m.id, [])) for m in measures],
            "guarantees": [_check_data(g, state.get(g)) for g in Guarantee],
            "at_risk": risk_of(household, shocks.get(household.id, [])).at_risk,
        }
    return found


def _measure_data(measure: Measure, personal: bool, posted: list[Need]) -> dict[str, Any]:
    name, phone = _responsible(measure, personal)
    return {
        "id": measure.id,
        "cause": measure.cause,
        "category": measure.subcategory,
        "title": measure.title,
        "target": measure.target,
        "due_on": measure.due_on,
        "status": measure.status,
        "responsible": {"name": name, "phone": phone},
        "needs": [n.id for n in posted],
    }


def _check_data(guarantee: Guarantee, check: GuaranteeCheck | None) -> dict[str, Any]:
    return {
        "guarantee": guarantee,
        "met": check.met if check is not None else None,
        "checked_on": check.checked_on if check is not None else None,
    }


def plan_summary(user: User | None, household: Household) -> dict[str, Any]:
    """One household's plan as data (see ``plan_summaries``)."""
    return plan_summaries(user, [household])[household.id]


# --- what the monthly reports count ---------------------------------------------------------


def guarantee_facts(
    inside: sa.ColumnElement[bool], before: date
) -> list[tuple[str, int, Guarantee, bool]]:
    """(village path, household, guarantee, met) of each household's latest check of each
    guarantee made before the day ``before``, for the households whose village lies
    ``inside``."""
    latest = _latest_checks_query(before - timedelta(days=1))
    rows = db.session.execute(
        sa.select(Region.path, GuaranteeCheck.household_id, GuaranteeCheck.guarantee,
                  GuaranteeCheck.met)
        .join(Household, Household.id == GuaranteeCheck.household_id)
        .join(Region, Region.id == Household.village_id)
        .where(inside, GuaranteeCheck.id.in_(latest))
    )  # fmt: skip
    return [(path, household, guarantee, met) for path, household, guarantee, met in rows]


def household_paths(inside: sa.ColumnElement[bool], where: sa.ColumnElement[bool]) -> list[str]:
    """The village path of each household ``inside`` matching ``where``."""
    return list(
        db.session.scalars(
            sa.select(Region.path)
            .select_from(Household)
            .join(Region, Region.id == Household.village_id)
            .where(inside, where)
        )
    )


def exit_paths(inside: sa.ColumnElement[bool], first: date, before: date) -> list[str]:
    """The village path of each exit from poverty decided from ``first`` to before ``before``
    (releases from monitoring are not new exits)."""
    return list(
        db.session.scalars(
            sa.select(Region.path)
            .select_from(StatusDecision)
            .join(Household, Household.id == StatusDecision.household_id)
            .join(Region, Region.id == Household.village_id)
            .where(
                inside,
                StatusDecision.from_status == HouseholdStatus.POOR,
                StatusDecision.to_status == HouseholdStatus.EXITED,
                StatusDecision.decided_on >= first,
                StatusDecision.decided_on < before,
            )
        )
    )
