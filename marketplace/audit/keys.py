"""The audit key: kept outside the database, it seals every event and signs every checkpoint,
so that whoever can write to the database alone cannot forge either.

Where it comes from, first found:

1. the ``AUDIT_CHECKPOINT_KEY`` setting (the app's config, else the environment): at least 32
   characters. Set it, the same on every machine, when several processes write the trail
   (scale-out: every app server and worker records events);
2. else ``audit-checkpoint.key`` in the instance folder, created on first use (random, mode 0600).
   Keep a copy with the backups of the database, not inside them: lost, old checkpoints and
   seals can no longer be checked; changed, every one of them reads as forged.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import uuid
from pathlib import Path

from flask import current_app

SETTING = "AUDIT_CHECKPOINT_KEY"
KEY_FILE = "audit-checkpoint.key"
MIN_LENGTH = 32
_read: dict[str, bytes] = {}
_lock = threading.Lock()


def audit_key() -> bytes:
    configured = str(current_app.config.get(SETTING) or os.environ.get(SETTING) or "").strip()
    if configured:
        if len(configured) < MIN_LENGTH:
            raise RuntimeError(f"{SETTING} must be at least {MIN_LENGTH} characters long")
        return configured.encode("utf-8")
    path = Path(current_app.config["INSTANCE_DIR"]) / KEY_FILE
    with _lock:
        if str(path) not in _read:
            _read[str(path)] = _read_or_create(path)
        return _read[str(path)]


def _read_or_create(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under another name, then linked: a process starting at the same moment
        # reads either nothing (and links its own, which loses) or the whole key.
        draft = path.with_name(f".{KEY_FILE}.{uuid.uuid4().hex}")
        draft.write_text(secrets.token_hex(32) + "\n", encoding="ascii")
        draft.chmod(0o600)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = path.read_text(encoding="ascii").strip().encode("ascii")
    if len(key) < MIN_LENGTH:
        raise RuntimeError(f"the audit key in {path} is too short")
    return key


def key_id(key: bytes) -> str:
    """Which key signed: a checkpoint signed with another key is told apart from a forged one."""
    return hashlib.sha256(b"audit-key-id:" + key).hexdigest()[:16]


def mac(key: bytes, kind: str, text: str) -> str:
    return hmac.new(key, f"{kind}:{text}".encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
