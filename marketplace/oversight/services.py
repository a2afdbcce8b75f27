"""What an administrator or auditor may read of the audit trail."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from marketplace.accounts.models import Role, User
from marketplace.accounts.services import users_in_scope
from marketplace.audit.models import AuditEvent
from marketplace.audit.services import record_event
from marketplace.oversight import policy
from marketplace.permissions import region_clause


def trail_for(user: User) -> sa.Select[Any]:
    """Audit events a user may read: nothing unless ``policy.can_read_trail``; everything for
    a superuser; otherwise the events about objects in the user's regions (whoever acted:
    donors and the public included), and the events of the accounts in those regions
    (sign-ins, exports, events about nothing)."""
    query = sa.select(AuditEvent)
    if not policy.can_read_trail(user):
        return query.where(sa.false())
    if user.role == Role.SUPERUSER:
        return query
    actors = users_in_scope(user).with_only_columns(User.id)
    return query.where(
        sa.or_(AuditEvent.actor_id.in_(actors), region_clause(user, AuditEvent.region_path))
    )


def record_trail_export(user: User, fmt: str, rows: int, filters: dict[str, str]) -> None:
    """An export of the trail is itself in the trail: who took what, with which filters."""
    record_event("audit_trail_exported", user,
                 after={"format": fmt, "rows": rows, "filters": filters})  # fmt: skip
