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


def keep_pending(user: User, data: bytes, rows: int = 0) -> str:
    """Keep a checked upload (and how many rows its check found) until the user confirms it;
    old ones are removed on the way."""
    folder = _pending_dir()
    cutoff = time.time() - PENDING_HOURS * 3600
    for old in [*folder.glob("*.xlsx"), *folder.glob("*.rows")]:
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(24)
    path = folder / f"{user.id}-{token}.xlsx"
    path.write_bytes(data)
    path.chmod(0o600)
    (folder / f"{user.id}-{token}.rows").write_text(str(rows))
    return token


def pending_rows(user: User, token: str) -> int:
    """The rows the check of a kept upload found (0 when unknown): whether its confirmation
    runs in the background is decided without reading the file again."""
    if not TOKEN_RE.fullmatch(token or ""):
        return 0
    try:
        return int((_pending_dir() / f"{user.id}-{token}.rows").read_text())
    except (OSError, ValueError):
        return 0


def pending(user: User, token: str) -> bytes:
    path = _pending_dir() / f"{user.id}-{token}.xlsx"
    if not TOKEN_RE.fullmatch(token or "") or not path.exists():
        raise ServiceError(_l("This upload has expired or was already imported. Upload again."))
    return path.read_bytes()


def discard_pending(user: User, token: str) -> None:
    if TOKEN_RE.fullmatch(token or ""):
        (_pending_dir() / f"{user.id}-{token}.xlsx").unlink(missing_ok=True)
        (_pending_dir() / f"{user.id}-{token}.rows").unlink(missing_ok=True)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
