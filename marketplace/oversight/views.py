"""The audit trail, browsed by auditors and administrators within their scope."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_login import current_user

from marketplace.accounts.models import Role, User
from marketplace.accounts.services import users_in_scope
from marketplace.oversight.models import AuditEvent
from marketplace.permissions import roles
from marketplace.web import paginate

bp = Blueprint("oversight", __name__, url_prefix="/oversight")


def _date(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None
    except ValueError:
        return None


@bp.route("/audit")
@roles(Role.AUDITOR, Role.ADMIN, Role.SUPERUSER)
def audit() -> Any:
    """Events by the people of the user's regions (everything for a superuser)."""
    query = sa.select(AuditEvent)
    if current_user.role != Role.SUPERUSER:
        actors = users_in_scope(current_user).with_only_columns(User.id)
        query = query.where(AuditEvent.actor_id.in_(actors))
    action = (request.args.get("action") or "").strip()[:50]
    if action:
        query = query.where(AuditEvent.action == action)
    object_type = (request.args.get("object") or "").strip()[:30]
    if object_type:
        query = query.where(AuditEvent.object_type == object_type)
    username = (request.args.get("actor") or "").strip()[:50]
    if username:
        query = query.where(
            AuditEvent.actor_id.in_(sa.select(User.id).where(User.username == username))
        )
    start, end = _date(request.args.get("from")), _date(request.args.get("to"))
    if start:
        query = query.where(AuditEvent.created_at >= start)
    if end:
        query = query.where(AuditEvent.created_at < datetime.combine(end.date(), time.max, UTC))
    page = paginate(query.order_by(AuditEvent.id.desc()))
    names = dict(db_names(list(page.items)))
    return render_template("oversight/audit.html", page=page, names=names, args=request.args)


def db_names(events: list[AuditEvent]) -> list[tuple[int, str]]:
    from marketplace.extensions import db

    ids = {e.actor_id for e in events if e.actor_id}
    if not ids:
        return []
    return [(i, n) for i, n in db.session.execute(
        sa.select(User.id, User.username).where(User.id.in_(ids)))]  # fmt: skip
