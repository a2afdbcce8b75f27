"""A match's history as the parties read it: its events from the audit trail, oldest first.

The match page shows the current state beside this history, so that an old delivery and the
non-receipt report that followed it read as past events after a dispute is resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from marketplace.audit.models import AuditEvent
from marketplace.extensions import db
from marketplace.matches.models import Match
from marketplace.roles import Role

BEIJING = timezone(timedelta(hours=8))

ACTIONS: dict[str, LazyString] = {
    "match_proposed": _l("Pledged"),
    "match_approved": _l("Approved"),
    "match_rejected": _l("Rejected"),
    "match_cancelled": _l("Cancelled"),
    "match_expired": _l("Expired"),
    "match_delivered": _l("Marked delivered"),
    "match_confirmed": _l("Receipt confirmed with the household"),
    "match_disputed": _l("Non-receipt reported"),
    "objection_filed": _l("Objection filed"),
    "objection_upheld": _l("Objection upheld"),
    "objection_dismissed": _l("Objection dismissed"),
}
# A dispute's outcome reads as such, not as a plain status change.
AFTER_DISPUTE: dict[str, LazyString] = {
    "approved": _l("Dispute resolved: to be delivered again"),
    "confirmed": _l("Dispute resolved: the delivery was made"),
    "cancelled": _l("Dispute resolved: the match is called off"),
}
# Details an event carries, in the order shown. The objector's own text and contact are not
# in the trail; what is here was already shown to the parties of the match.
DETAILS: tuple[tuple[str, LazyString], ...] = (
    ("quantity", _l("Quantity")),
    ("delivery_note", _l("Delivery note")),
    ("dispute_reason", _l("What the household reports")),
    ("received_quantity", _l("Quantity received")),
    ("received_on", _l("Date received")),
    ("feedback", _l("Household's comment")),
    ("decision_reason", _l("Reason")),
    ("decision", _l("Decision")),
)
ROLES: dict[str, LazyString] = {
    Role.DONOR.value: _l("Donor"),
    Role.STAFF.value: _l("Village staff"),
    Role.ADMIN.value: _l("Administrator"),
    Role.AUDITOR.value: _l("Auditor"),
    Role.SUPERUSER.value: _l("Administrator"),
}


@dataclass
class Step:
    at: datetime  # Beijing time
    action: str
    label: LazyString | str
    by: LazyString | str
    details: list[tuple[LazyString, str]] = field(default_factory=list)
    current: bool = False  # the step that put the match in its present state


def timeline(match: Match) -> list[Step]:
    objection_ids = [o.id for o in match.objections]
    about = sa.and_(AuditEvent.object_type == "match", AuditEvent.object_id == match.id)
    if objection_ids:
        about = sa.or_(
            about,
            sa.and_(AuditEvent.object_type == "objection",
                    AuditEvent.object_id.in_(objection_ids)),
        )  # fmt: skip
    events = db.session.scalars(sa.select(AuditEvent).where(about).order_by(AuditEvent.id)).all()
    steps: list[Step] = []
    if not any(e.action == "match_proposed" for e in events):
        # Proposals of an allocation are recorded once, on the resource.
        steps.append(Step(_local(match.created_at), "match_proposed", ACTIONS["match_proposed"],
                          _l("Administrator") if match.proposed_by_id else "",
                          [(_l("Quantity"), str(match.quantity))]))  # fmt: skip
    for event in events:
        if event.action not in ACTIONS:
            continue
        before = (event.before or {}).get("status")
        after: dict[str, Any] = event.after or {}
        label = ACTIONS[event.action]
        if before == "disputed" and after.get("status") in AFTER_DISPUTE:
            label = AFTER_DISPUTE[after["status"]]
        details = [(name, _text(after.get(key))) for key, name in DETAILS]
        by = ROLES.get(event.actor_role, _l("The public") if event.actor_id is None else "")
        if event.actor_id is None and event.action.startswith("match_"):
            by = _l("The platform")  # expiry by the scheduled job
        steps.append(Step(_local(event.created_at), event.action, label, by,
                          [(n, v) for n, v in details if v]))  # fmt: skip
    status_steps = [s for s in steps if s.action.startswith("match_")]
    if status_steps:
        status_steps[-1].current = True
    return steps


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BEIJING)


def _text(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    return "" if text in ("None", "") else text
