"""Settings, read from the environment with documented defaults.

Every setting can be overridden by an environment variable of the same name, or by the
mapping passed to ``create_app(config=...)`` (tests do that).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _instance_dir() -> Path:
    return Path(os.environ.get("MARKETPLACE_INSTANCE", PROJECT_ROOT / "instance"))


def _secret_key(instance: Path) -> str:
    """A key from SECRET_KEY, else one generated once and kept under instance/ (never committed)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    instance.mkdir(parents=True, exist_ok=True)
    key_file = instance / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_config() -> dict[str, Any]:
    instance = _instance_dir()
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'marketplace.db'}"
    https = _bool("MARKETPLACE_HTTPS", False)
    return {
        "INSTANCE_DIR": str(instance),
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # i18n: Chinese first. Babel spells zh_CN as zh_Hans_CN.
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "translations"),
        "LANGUAGES": {"zh_Hans_CN": "中文", "en": "English"},
        # Pages: Bootstrap served from the package, never a CDN.
        "BOOTSTRAP_SERVE_LOCAL": True,
        # Login protection.
        "LOGIN_MAX_FAILURES": int(os.environ.get("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_LOCK_MINUTES": int(os.environ.get("LOGIN_LOCK_MINUTES", "15")),
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "20 per minute"),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        # HTTPS: off for the embedded default on 127.0.0.1, on behind a TLS proxy.
        "MARKETPLACE_HTTPS": https,
        "SESSION_COOKIE_SECURE": https,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": https,
        "WTF_CSRF_TIME_LIMIT": None,
        # CSRF is checked in one before_request hook, which lets token-authenticated API calls
        # (no cookies involved) through.
        "WTF_CSRF_CHECK_DEFAULT": False,
        "VALIDATION_ERROR_STATUS_CODE": 400,
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", str(8 * 1024 * 1024))),
        "PAGE_SIZE": 30,
        # Search: "whoosh" (embedded, index under instance/) or "postgres" (shared by servers).
        "SEARCH_BACKEND": os.environ.get("SEARCH_BACKEND", "whoosh"),
        # Workflow rules.
        "DISCLOSURE_DAYS": int(os.environ.get("DISCLOSURE_DAYS", "7")),
        "PLEDGE_TTL_DAYS": int(os.environ.get("PLEDGE_TTL_DAYS", "14")),
        # Bulk import of the register: the upload, what it may unpack to, rows per file.
        "IMPORT_MAX_BYTES": int(os.environ.get("IMPORT_MAX_BYTES", str(5 * 1024 * 1024))),
        "IMPORT_MAX_UNZIPPED": int(os.environ.get("IMPORT_MAX_UNZIPPED", str(100 * 1024 * 1024))),
        "IMPORT_MAX_ROWS": int(os.environ.get("IMPORT_MAX_ROWS", "20000")),
        "PHOTO_MAX_BYTES": int(os.environ.get("PHOTO_MAX_BYTES", str(5 * 1024 * 1024))),
        # E-mail for notifications: off unless MAIL_SERVER is set.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", False),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "noreply@localhost"),
    }
