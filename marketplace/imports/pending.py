"""The upload between the check and the confirmation: kept on disk for the user who sent it."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import User
from marketplace.errors import ServiceError

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
PENDING_HOURS = 24


def _pending_dir() -> Path:
    folder = Path(current_app.config["INSTANCE_DIR"]) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def keep_pending(user: User, data: bytes) -> str:
    """Keep a checked upload until the user confirms it; old ones are removed on the way."""
    folder = _pending_dir()
    cutoff = time.time() - PENDING_HOURS * 3600
    for old in folder.glob("*.xlsx"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(24)
    path = folder / f"{user.id}-{token}.xlsx"
    path.write_bytes(data)
    path.chmod(0o600)
    return token


def pending(user: User, token: str) -> bytes:
    path = _pending_dir() / f"{user.id}-{token}.xlsx"
    if not TOKEN_RE.fullmatch(token or "") or not path.exists():
        raise ServiceError(_l("This upload has expired or was already imported. Upload again."))
    return path.read_bytes()


def discard_pending(user: User, token: str) -> None:
    if TOKEN_RE.fullmatch(token or ""):
        (_pending_dir() / f"{user.id}-{token}.xlsx").unlink(missing_ok=True)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
