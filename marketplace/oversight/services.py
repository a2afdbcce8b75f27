"""Writing the audit trail."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from marketplace.accounts.models import User
from marketplace.extensions import db
from marketplace.oversight.models import AuditEvent


def record_event(
    action: str,
    actor: User | None = None,
    obj: Any = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event; the caller's transaction commits it with the change it describes."""
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor is not None and actor.id is not None else None,
        actor_role=actor.role.value if actor is not None else "",
        object_type=obj.__tablename__ if obj is not None else "",
        object_id=getattr(obj, "id", None),
        before=before,
        after=after,
        ip=(request.remote_addr or "") if has_request_context() else "cli",
    )
    db.session.add(event)
    return event
