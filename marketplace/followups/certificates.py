"""Certificates of contribution (帮扶证明): an organization's figures for a period, frozen when
issued, under a verification code anyone can check on the public page /verify.

The code is an HMAC-SHA256 of the certificate's content (canonical JSON) under a key kept
outside the database: ``CERTIFICATE_KEY`` if set, else a key derived from the application's
SECRET_KEY (HMAC of a fixed label, so the secret itself is never used twice for different ends).
Checking a code finds the certificate by it and computes the HMAC of what the database holds
again: a code that was never issued is not found, and a certificate whose figures were changed
in the database no longer matches its code; both are refused. Changing the key (or SECRET_KEY
when no CERTIFICATE_KEY is set) makes every earlier certificate fail the check: set
CERTIFICATE_KEY in production and keep it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Organization, User
from marketplace.audit.services import record_event
from marketplace.db import utcnow
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.followups import policy
from marketplace.followups.impact import month_text, organization_impact
from marketplace.followups.models import Certificate
from marketplace.timefmt import beijing_today

CODE_LENGTH = 20  # base32 characters: 100 bits
CODE_GROUP = 4
CODE_SHAPE = re.compile(rf"^[A-Z2-7]{{{CODE_LENGTH}}}$")
MAX_MONTHS = 60


def signing_key() -> bytes:
    configured = str(current_app.config.get("CERTIFICATE_KEY") or "")
    if configured:
        return configured.encode()
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(
        secret, b"fupin-marketplace certificate of contribution v1", hashlib.sha256
    ).digest()


def canonical(content: dict[str, Any]) -> bytes:
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def code_of(content: dict[str, Any]) -> str:
    """The verification code of a content: its HMAC, in groups of four base32 characters."""
    digest = hmac.new(signing_key(), canonical(content), hashlib.sha256).digest()
    text = base64.b32encode(digest).decode()[:CODE_LENGTH]
    return "-".join(text[i : i + CODE_GROUP] for i in range(0, CODE_LENGTH, CODE_GROUP))


def normalise(typed: str) -> str | None:
    """A code as typed (any case, spaces or dashes) in its printed form; None if it cannot be
    one."""
    text = re.sub(r"[\s\-]", "", typed or "").upper()
    if not CODE_SHAPE.match(text):
        return None
    return "-".join(text[i : i + CODE_GROUP] for i in range(0, CODE_LENGTH, CODE_GROUP))


def issue(actor: User, org: Organization, first: date, last: date) -> Certificate:
    """Freeze the organization's impact for the months from ``first`` to ``last``."""
    if not policy.can_issue_certificate(actor, org):
        raise ServiceError(_l("You do not have permission to do this."), 403)
    if last < first:
        raise ServiceError(_l("The last month cannot be before the first."), field="last_month")
    if last > beijing_today().replace(day=1):
        raise ServiceError(_l("The period cannot end after this month."), field="last_month")
    if (last.year - first.year) * 12 + last.month - first.month >= MAX_MONTHS:
        raise ServiceError(
            _l("A certificate covers at most %(n)s months.", n=MAX_MONTHS), field="first_month"
        )
    impact = organization_impact(org, first, last)
    if not impact.confirmations:
        raise ServiceError(
            _l("No help of the organization was confirmed in this period: nothing to certify."),
            field="first_month",
        )
    content = {
        "version": 1,
        "serial": secrets.token_hex(8),  # two certificates of the same figures differ
        "issued_on": beijing_today().isoformat(),
        **impact.as_content(),
    }
    certificate = Certificate(
        organization_id=org.id, first_month=month_text(first), last_month=month_text(last),
        content=content, code=code_of(content), issued_by_id=actor.id, created_at=utcnow(),
    )  # fmt: skip
    db.session.add(certificate)
    db.session.flush()
    record_event(
        "certificate_issued", actor, certificate,
        after={"organization": org.id, "period": content["period"], "code": certificate.code},
    )  # fmt: skip
    return certificate


def verify(typed: str) -> Certificate:
    """The certificate a code proves, or a refusal at the code's field: not a code, no such
    certificate, or one whose content no longer matches its code."""
    code = normalise(typed)
    if code is None:
        raise ServiceError(
            _l("A verification code has 20 letters and digits, as printed on the certificate."),
            field="code",
        )
    certificate = db.session.scalar(sa.select(Certificate).where(Certificate.code == code))
    if certificate is None or not hmac.compare_digest(code_of(certificate.content), code):
        raise ServiceError(
            _l("This code does not verify: no certificate of contribution carries it."),
            404,
            field="code",
        )
    return certificate


def certificates_of(org: Organization) -> list[Certificate]:
    return list(
        db.session.scalars(
            sa.select(Certificate)
            .where(Certificate.organization_id == org.id)
            .order_by(Certificate.created_at.desc())
        )
    )
