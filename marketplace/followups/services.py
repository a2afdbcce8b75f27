"""Follow-ups of results (跟踪问效): scheduled when a match is confirmed, recorded by the
village's staff, listed when overdue and reminded once.

Matches know nothing of this package: confirming a match moves its status through a
``transitions.Workflow``, which sends ``signals.status_moved``; the receiver below schedules the
follow-ups the schedule (``questions``) gives for the resource's kind and the need's category.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from marketplace.accounts.models import User
from marketplace.accounts.services import admins_over, staff_of
from marketplace.attachments.services import attach
from marketplace.audit.services import record_event
from marketplace.db import utcnow
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.followups import policy
from marketplace.followups.models import FollowUp, FollowUpStatus
from marketplace.followups.questions import (
    QUESTION_SETS,
    QuestionSet,
    Rule,
    parse_schedule,
    rule_for,
)
from marketplace.matches.models import Match, MatchStatus
from marketplace.needs.models import Need
from marketplace.notifications import services as notifications
from marketplace.permissions import region_clause
from marketplace.regions.models import Region
from marketplace.resources.models import Resource
from marketplace.signals import status_moved
from marketplace.timefmt import beijing_day_of, beijing_today
from marketplace.transitions import conflict

F = FollowUpStatus
MAX_AMOUNT = Decimal("10000000")
MAX_AMOUNT_TEXT = f"{MAX_AMOUNT:,.0f}"

# The notifications this package sends (their words join the others' in notifications).
notifications.MESSAGES.setdefault(
    "follow_ups_overdue", _l("%(count)s follow-ups of results are overdue: please visit")
)
notifications.MESSAGES.setdefault(
    "follow_up_recorded", _l("A follow-up of your help was recorded: %(title)s")
)


# --- scheduling ---------------------------------------------------------------------------


def schedule_rules() -> list[Rule]:
    """The schedule in force (FOLLOW_UP_SCHEDULE, checked when the application starts)."""
    cache = current_app.extensions.setdefault("follow_up_schedule", {})
    raw = current_app.config.get("FOLLOW_UP_SCHEDULE") or ""
    key = raw if isinstance(raw, str) else repr(raw)
    if key not in cache:
        cache[key] = parse_schedule(raw)
    return list(cache[key])


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it is shorter: 31 Aug + 6 is
    28 or 29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def help_arrived_on(match: Match) -> date:
    """The day the help reached the household: the day received as confirmed, else the
    Beijing day of the confirmation."""
    if match.received_on is not None:
        return match.received_on
    return beijing_day_of(match.confirmed_at) if match.confirmed_at else beijing_today()


def follow_ups_of(match: Match) -> list[FollowUp]:
    return list(
        db.session.scalars(
            sa.select(FollowUp).where(FollowUp.match_id == match.id).order_by(FollowUp.months)
        )
    )


def schedule(match: Match) -> list[FollowUp]:
    """The follow-ups of a confirmed match, made once (a second call finds them and makes no
    more): one for each month the first fitting rule of the schedule names."""
    if match.status != MatchStatus.CONFIRMED:
        return []
    existing = follow_ups_of(match)
    if existing:
        return existing
    rule = rule_for(schedule_rules(), match.resource.kind.value, match.need.subcategory)
    if rule is None:
        return []
    start = help_arrived_on(match)
    made = [
        FollowUp(
            match_id=match.id,
            months=months,
            questions=rule.questions,
            due_on=add_months(start, months),
            status=F.SCHEDULED,
            answers={},
        )
        for months in rule.months
    ]
    db.session.add_all(made)
    db.session.flush()
    return made


@status_moved.connect
def _match_confirmed(_sender: Any, *, record: Any) -> None:
    """Confirmation with the household (or a dispute resolved as delivered) schedules the
    match's follow-ups in the same transaction."""
    if isinstance(record, Match) and record.status == MatchStatus.CONFIRMED:
        schedule(record)


# --- reading ------------------------------------------------------------------------------


def _joined() -> sa.Select[Any]:
    return (
        sa.select(FollowUp)
        .join(Match, FollowUp.match_id == Match.id)
        .join(Need, Match.need_id == Need.id)
        .join(Region, Need.village_id == Region.id)
        .join(Resource, Match.resource_id == Resource.id)
    )


LISTS = ("overdue", "upcoming", "done")


def listed(user: User, show: str = "overdue", today: date | None = None) -> sa.Select[Any]:
    """Follow-ups in the user's regions: overdue (the oldest first), upcoming (the soonest
    first) or recorded (the latest first)."""
    if not policy.can_list(user):
        raise ServiceError(_l("You do not have permission to do this."), 403)
    today = today or beijing_today()
    query = _joined().where(region_clause(user, Region.path))
    if show == "upcoming":
        return query.where(FollowUp.status == F.SCHEDULED, FollowUp.due_on >= today).order_by(
            FollowUp.due_on, FollowUp.id
        )
    if show == "done":
        return query.where(FollowUp.status == F.DONE).order_by(
            FollowUp.visited_on.desc(), FollowUp.id.desc()
        )
    return query.where(FollowUp.status == F.SCHEDULED, FollowUp.due_on < today).order_by(
        FollowUp.due_on, FollowUp.id
    )


def overdue_count(user: User, today: date | None = None) -> int:
    query = listed(user, "overdue", today).order_by(None)
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0)


def question_set(follow_up: FollowUp) -> QuestionSet:
    return QUESTION_SETS[follow_up.questions]


def next_to_record(follow_ups: list[FollowUp]) -> FollowUp | None:
    """The earliest follow-up not recorded yet."""
    return next((f for f in follow_ups if f.status == F.SCHEDULED), None)


# --- recording ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What staff found at the visit, as typed (checked by ``record``)."""

    visited_on: date | None
    effective: bool | None
    producing: bool | None = None
    amount: Decimal | str | None = None
    note: str = ""


def _amount(value: Decimal | str | None) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ServiceError(
            _l("Give the amount in yuan, for example 2800."), field="amount"
        ) from None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise ServiceError(
            _l("The amount is from 0 to %(max)s yuan.", max=MAX_AMOUNT_TEXT), field="amount"
        )
    return amount.quantize(Decimal("0.01"))


def months_covered(follow_up: FollowUp) -> int:
    """The months since the previous check of the same match (or since the help arrived)."""
    earlier = db.session.scalar(
        sa.select(sa.func.max(FollowUp.months)).where(
            FollowUp.match_id == follow_up.match_id, FollowUp.months < follow_up.months
        )
    )
    return follow_up.months - int(earlier or 0)


def record(
    actor: User,
    follow_up: FollowUp,
    outcome: Outcome,
    photo: tuple[bytes, str, str] | None = None,
) -> None:
    """Record a visit: the answers of the follow-up's question set, the income it gives, an
    optional photo (kept with the match's photos, purpose ``follow_up``)."""
    match = follow_up.match
    if not policy.can_record(actor, follow_up):
        if not policy.records_here(actor, match):
            raise ServiceError(
                _l("Only the staff of the household's village may record follow-ups."), 403
            )
        if follow_up.status != F.SCHEDULED:
            raise conflict(_l("This follow-up has already been recorded."))
        raise ServiceError(
            _l("This follow-up can be recorded from %(date)s.", date=policy.opens_on(follow_up)),
            field="visited_on",
        )
    asked = question_set(follow_up)
    if outcome.visited_on is None:
        raise ServiceError(_l("This field is required."), field="visited_on")
    if outcome.visited_on > beijing_today():
        raise ServiceError(_l("The day of the visit cannot be in the future."), field="visited_on")
    if outcome.visited_on < help_arrived_on(match):
        raise ServiceError(
            _l("The day of the visit cannot be before the help arrived (%(date)s).",
               date=help_arrived_on(match)),
            field="visited_on",
        )  # fmt: skip
    if outcome.visited_on < policy.opens_on(follow_up):
        raise ServiceError(
            _l("A visit for the check at %(n)s months is from %(date)s on.",
               n=follow_up.months, date=policy.opens_on(follow_up)),
            field="visited_on",
        )  # fmt: skip
    if outcome.effective is None:
        raise ServiceError(_l("Answer this question."), field="effective")
    if asked.producing is not None and outcome.producing is None:
        raise ServiceError(_l("Answer this question."), field="producing")
    amount = _amount(outcome.amount) if asked.amount is not None else None
    if asked.amount_required and outcome.effective and amount is None:
        raise ServiceError(_l("Give the amount in yuan, for example 2800."), field="amount")
    if len(outcome.note) > 2000:
        raise ServiceError(_l("At most 2000 characters."), field="note")
    if asked.monthly:
        income = (amount or Decimal(0)) * months_covered(follow_up) if outcome.effective else None
    else:
        income = amount
    photo_id = attach("match", match.id, photo, actor, "follow_up").id if photo else None
    answers = {
        "effective": outcome.effective,
        "producing": outcome.producing if asked.producing is not None else None,
        "amount": None if amount is None else str(amount),
    }
    policy.WORKFLOW.move(
        follow_up, F.DONE, visited_on=outcome.visited_on, recorded_by_id=actor.id,
        recorded_at=utcnow(), effective=outcome.effective, answers=answers,
        income=None if income is None else income.quantize(Decimal("0.01")),
        note=outcome.note.strip(), photo_id=photo_id,
    )  # fmt: skip
    record_event(
        "follow_up_recorded", actor, follow_up,
        after={"match": match.id, "months": follow_up.months, **answers,
               "visited_on": outcome.visited_on.isoformat(), "photo": photo_id},
    )  # fmt: skip
    notifications.notify(
        [match.proposed_by_id], "follow_up_recorded", f"/matches/{match.id}",
        title=match.need.title,
    )  # fmt: skip


# --- reminding ----------------------------------------------------------------------------


def remind_overdue(today: date | None = None) -> dict[str, int]:
    """Tell the staff of each village (its administrators when it has no staff) of the
    follow-ups that have become overdue since the last reminder: each follow-up is reminded
    once (a compare-and-set on ``reminded_at``, so two runs at once never both send it), and
    each person gets one notification saying how many. For the periodic jobs."""
    today = today or beijing_today()
    now = utcnow()
    rows = db.session.execute(
        sa.select(FollowUp.id, Need.village_id)
        .join(Match, FollowUp.match_id == Match.id)
        .join(Need, Match.need_id == Need.id)
        .where(
            FollowUp.status == F.SCHEDULED,
            FollowUp.due_on < today,
            FollowUp.reminded_at.is_(None),
        )
        .order_by(FollowUp.id)
    ).all()
    per_person: dict[int, int] = defaultdict(int)
    villages: dict[int, list[int]] = {}
    reminded = 0
    for follow_up_id, village_id in rows:
        claimed = db.session.execute(
            sa.update(FollowUp)
            .where(
                FollowUp.id == follow_up_id,
                FollowUp.reminded_at.is_(None),
                FollowUp.status == F.SCHEDULED,
            )
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue  # another run took it, or it was recorded meanwhile
        reminded += 1
        if village_id not in villages:
            village = db.session.get(Region, village_id)
            people = staff_of(village) if village is not None else []
            if not people and village is not None:
                people = admins_over(village)
            villages[village_id] = [p.id for p in people]
        for person in villages[village_id]:
            per_person[person] += 1
    for person, count in sorted(per_person.items()):
        notifications.notify([person], "follow_ups_overdue", "/follow-ups/?show=overdue",
                             count=count)  # fmt: skip
    return {"reminded": reminded, "notified": len(per_person)}


# --- income -------------------------------------------------------------------------------


def income_from_follow_ups(
    start: date | None = None,
    end: date | None = None,
    *,
    within: Region | None = None,
    organization_id: int | None = None,
) -> Decimal:
    """Income registered households earned from help, as the follow-ups recorded it (wages
    counted for the months each check covers, incomes reported): visits on days in
    [start, end), in a region's subtree, from one organization's help."""
    query = (
        sa.select(sa.func.coalesce(sa.func.sum(FollowUp.income), 0))
        .join(Match, FollowUp.match_id == Match.id)
        .join(Need, Match.need_id == Need.id)
        .where(FollowUp.status == F.DONE, Need.household_id.is_not(None))
    )
    if start is not None:
        query = query.where(FollowUp.visited_on >= start)
    if end is not None:
        query = query.where(FollowUp.visited_on < end)
    if within is not None:
        query = query.join(Region, Need.village_id == Region.id).where(
            Region.path.startswith(within.path, autoescape=True)
        )
    if organization_id is not None:
        query = query.join(Resource, Match.resource_id == Resource.id).where(
            Resource.organization_id == organization_id
        )
    return Decimal(db.session.scalar(query) or 0).quantize(Decimal("0.01"))


def income_of_household(household_id: int) -> list[FollowUp]:
    """The follow-ups that recorded income for one household (wages for the months each check
    covers, incomes reported), the latest visit first, with their match, need and resource."""
    return list(
        db.session.scalars(
            sa.select(FollowUp)
            .join(Match, FollowUp.match_id == Match.id)
            .join(Need, Match.need_id == Need.id)
            .where(
                Need.household_id == household_id,
                FollowUp.status == F.DONE,
                FollowUp.income.is_not(None),
                FollowUp.income > 0,
            )
            .options(
                joinedload(FollowUp.match).joinedload(Match.need),
                joinedload(FollowUp.match).joinedload(Match.resource),
            )
            .order_by(FollowUp.visited_on.desc(), FollowUp.id.desc())
        )
    )


@dataclass(frozen=True)
class FollowUpProgress:
    """Where one match's follow-ups stand, for the household page's aid rows."""

    done: int
    total: int
    next_due: date | None
    overdue: bool


def progress_of_household(
    household_id: int, today: date | None = None
) -> dict[int, FollowUpProgress]:
    """Each of the household's matches with follow-ups: recorded of scheduled, and the next
    one due (overdue when its day has passed); one grouped query."""
    today = today or beijing_today()
    rows = db.session.execute(
        sa.select(
            FollowUp.match_id,
            sa.func.count(FollowUp.id),
            sa.func.count(FollowUp.id).filter(FollowUp.status == F.DONE),
            sa.func.min(FollowUp.due_on).filter(FollowUp.status == F.SCHEDULED),
        )
        .join(Match, FollowUp.match_id == Match.id)
        .join(Need, Match.need_id == Need.id)
        .where(Need.household_id == household_id)
        .group_by(FollowUp.match_id)
    )
    return {
        match_id: FollowUpProgress(
            done=int(done),
            total=int(total),
            next_due=next_due,
            overdue=next_due is not None and next_due < today,
        )
        for match_id, total, done, next_due in rows
    }


def answer(match: Match, today: date | None = None) -> list[dict[str, Any]]:
    """The match's follow-ups as the API gives them: when due, whether recorded, what was
    found. Staff's notes stay out (they may carry personal data), as do photos."""
    today = today or beijing_today()
    found = []
    for f in follow_ups_of(match):
        outcome = None
        if f.status == F.DONE:
            amount = f.answers.get("amount")
            outcome = {
                "effective": bool(f.effective),
                "producing": f.answers.get("producing"),
                "amount": None if amount is None else Decimal(str(amount)),
                "income": f.income,
            }
        found.append({
            "months": f.months, "questions": f.questions, "due_on": f.due_on,
            "status": f.status, "overdue": policy.is_overdue(f, today),
            "visited_on": f.visited_on, "outcome": outcome,
        })  # fmt: skip
    return found
