"""Telling the right people what happened: in-app notifications, e-mail when SMTP is set."""

from __future__ import annotations

import re
import smtplib
from collections.abc import Iterable
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from marketplace.db import utcnow
from marketplace.extensions import db
from marketplace.notifications.models import Notification

if TYPE_CHECKING:
    from marketplace.accounts.models import User

MESSAGES = {
    "need_submitted": _l("New need to verify: %(title)s"),
    "needs_submitted": _l("%(count)s new needs to verify (imported)"),
    "need_verified": _l("Your need was verified: %(title)s"),
    "need_returned": _l("Your need was returned, see the reason: %(title)s"),
    "pledge_made": _l("New pledge to approve: %(title)s"),
    "pledge_approved": _l("Your pledge was approved: %(title)s"),
    "pledge_rejected": _l("Your pledge was rejected: %(title)s"),
    "match_delivered": _l("Delivered: confirm receipt with the household: %(title)s"),
    "match_confirmed": _l("The household confirmed receipt: %(title)s"),
    "match_disputed": _l("Non-receipt reported, please resolve: %(title)s"),
    "match_resolved": _l("A dispute or objection was resolved: %(title)s"),
    "match_expired": _l("A pledge or match expired: %(title)s"),
    "objection_filed": _l("Objection filed against a disclosed match: %(title)s"),
    # To the objector; no personal data, the public disclosure page shows the same.
    "objection_upheld": _l(
        "Your objection #%(number)s was upheld: the match is cancelled. Reason: %(reason)s"
    ),
    "objection_dismissed": _l(
        "Your objection #%(number)s was not upheld: the match goes on. Reason: %(reason)s"
    ),
    "organization_submitted": _l("Organization to verify: %(name)s"),
    "organization_verified": _l("Your organization was verified: %(name)s"),
    "organization_rejected": _l(
        "Your organization was not verified (%(name)s): %(reason)s. Correct it and submit it again."
    ),
}


def notify(recipients: Iterable[User | int | None], kind: str, link: str, **params: Any) -> None:
    """Queue one notification per distinct recipient; e-mail goes out after commit."""
    assert kind in MESSAGES, kind
    ids = {r if r is None or isinstance(r, int) else r.id for r in recipients}
    for user_id in sorted(i for i in ids if i is not None):
        db.session.add(Notification(user_id=user_id, kind=kind, params=params, link=link))


def notify_address(email: str, kind: str, link: str, **params: Any) -> None:
    """Queue a notification for an address without an account; only e-mail carries it."""
    assert kind in MESSAGES, kind
    db.session.add(Notification(user_id=None, email=email[:200], kind=kind, params=params,
                                link=link))  # fmt: skip


EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def is_email(text: str) -> bool:
    return bool(EMAIL.fullmatch(text.strip()))


def text_of(notification: Notification) -> str:
    return str(MESSAGES[notification.kind]) % notification.params


def for_user(user: User) -> sa.Select[Any]:
    """The user's notifications, newest first (the page shows them a page at a time)."""
    return (
        sa.select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.id.desc())
    )


def unread_count(user: User) -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.count(Notification.id)).where(
                Notification.user_id == user.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def mark_all_read(user: User) -> None:
    db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )


def absolute_link(link: str) -> str:
    """A link as an e-mail must carry it: prefixed with ``PUBLIC_URL`` when it is a path."""
    base = str(current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    return f"{base}{link}" if base and link.startswith("/") else link


def send_email(to: str, subject: str, body: str) -> None:
    """Send one message now through ``MAIL_SERVER`` (password-reset links); raises on failure."""
    server = current_app.config.get("MAIL_SERVER")
    if not server:
        raise RuntimeError("MAIL_SERVER is not set")
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = current_app.config.get("MAIL_FROM", "noreply@localhost")
    message["To"] = to
    message.set_content(body)
    with smtplib.SMTP(server, int(current_app.config.get("MAIL_PORT", 25)), timeout=10) as smtp:
        if current_app.config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if current_app.config.get("MAIL_USERNAME"):
            smtp.login(current_app.config["MAIL_USERNAME"], current_app.config["MAIL_PASSWORD"])
        smtp.send_message(message)


def _user_table() -> sa.Table:
    """The accounts' table, by name: notifications sit below accounts and do not import them."""
    return db.metadata.tables["user"]


def send_pending_emails() -> int:
    """Send queued notifications to users with an e-mail address; idempotent, for cron."""
    server = current_app.config.get("MAIL_SERVER")
    if not server:
        return 0
    # To an account's address, or to the address a notification carries (no account).
    users = _user_table()
    address = sa.func.coalesce(users.c.email, Notification.email)
    pending = db.session.execute(
        sa.select(Notification, address)
        .outerjoin(users, users.c.id == Notification.user_id)
        .where(Notification.emailed_at.is_(None), address != "")
        .limit(500)
    ).all()
    if not pending:
        return 0
    sent = 0
    with smtplib.SMTP(server, int(current_app.config.get("MAIL_PORT", 25)), timeout=10) as smtp:
        if current_app.config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if current_app.config.get("MAIL_USERNAME"):
            smtp.login(current_app.config["MAIL_USERNAME"], current_app.config["MAIL_PASSWORD"])
        for notification, to in pending:
            message = EmailMessage()
            with force_locale("zh_Hans_CN"):
                message["Subject"] = text_of(notification)
            message["From"] = current_app.config.get("MAIL_FROM", "noreply@localhost")
            message["To"] = to
            message.set_content(f"{text_of(notification)}\n{absolute_link(notification.link)}")
            smtp.send_message(message)
            notification.emailed_at = utcnow()
            sent += 1
    # Pending rows without e-mail are marked too, so they are not scanned again.
    db.session.execute(
        sa.update(Notification)
        .where(Notification.emailed_at.is_(None))
        .where(Notification.user_id.in_(sa.select(users.c.id).where(users.c.email == "")))
        .values(emailed_at=utcnow())
    )
    return sent
