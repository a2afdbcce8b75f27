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


class ConfigError(ValueError):
    """A setting with a value the application cannot use: the start stops and says which."""

    def __init__(self, name: str, value: Any, allowed: str) -> None:
        super().__init__(f"{name}={value!r} is not allowed: {allowed}")
        self.name = name


TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}
SEARCH_BACKENDS = ("whoosh", "postgres")
RATELIMIT_SCHEMES = ("memory", "redis", "rediss", "redis+sentinel", "redis+cluster", "memcached",
                     "mongodb", "mongodb+srv")  # fmt: skip


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word not in TRUE_WORDS | FALSE_WORDS:
        raise ConfigError(name, value, "one of 1/0, true/false, yes/no, on/off")
    return word in TRUE_WORDS


def _int(name: str, default: str, minimum: int = 0) -> int:
    value = os.environ.get(name, default)
    try:
        number = int(value.strip().replace("_", ""))
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise ConfigError(name, value, f"a whole number of at least {minimum}")
    return number


# Region levels, largest first (regions.models.RegionLevel, which config may not import).
BACKGROUND_LEVELS = ("province", "city", "county", "township", "village")


def check_config(config: dict[str, Any]) -> None:
    """Refuse settings that would otherwise be ignored or fail later, naming the variable."""
    import json

    from limits import parse_many

    from matching.scoring import Weights

    backend = config.get("SEARCH_BACKEND")
    if backend not in SEARCH_BACKENDS:
        raise ConfigError("SEARCH_BACKEND", backend, "one of " + ", ".join(SEARCH_BACKENDS))
    raw = config.get("MATCH_WEIGHTS") or "{}"
    known = ", ".join(Weights().as_dict())
    try:
        values = json.loads(raw) if isinstance(raw, str) else dict(raw)
        if not isinstance(values, dict) or set(values) - set(Weights().as_dict()):
            raise ValueError
        Weights(**{k: float(v) for k, v in values.items()})
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            "MATCH_WEIGHTS", raw, f"a JSON object of non-negative numbers for {known}"
        ) from exc
    try:
        parse_many(str(config.get("LOGIN_RATE_LIMIT")))
    except ValueError as exc:
        raise ConfigError(
            "LOGIN_RATE_LIMIT", config.get("LOGIN_RATE_LIMIT"), "a limit such as '20 per minute'"
        ) from exc
    level = str(config.get("BACKGROUND_REGION_LEVEL", "city"))
    if level not in BACKGROUND_LEVELS:
        raise ConfigError(
            "BACKGROUND_REGION_LEVEL", level, "one of " + ", ".join(BACKGROUND_LEVELS)
        )
    uri = str(config.get("RATELIMIT_STORAGE_URI", ""))
    if uri.partition("://")[0] not in RATELIMIT_SCHEMES or "://" not in uri:
        raise ConfigError("RATELIMIT_STORAGE_URI", uri, "memory:// or redis://host:port")
    url = str(config.get("SQLALCHEMY_DATABASE_URI", ""))
    if not url.startswith(("sqlite:", "postgresql")):
        raise ConfigError("DATABASE_URL", url, "sqlite:///path or postgresql+psycopg://...")
    memory, lanes = config.get("PASSWORD_HASH_MEMORY_KIB"), config.get("PASSWORD_HASH_PARALLELISM")
    if isinstance(memory, int) and isinstance(lanes, int) and memory < 8 * lanes:
        raise ConfigError(
            "PASSWORD_HASH_MEMORY_KIB", str(memory), f"at least 8 KiB per lane ({8 * lanes})"
        )
    for name, low, high in (("POVERTY_LINE", 1, 1_000_000), ("POVERTY_LINE_YEAR", 2000, 2100),
                            ("AT_RISK_MARGIN_PERCENT", 0, 100)):  # fmt: skip
        value = config.get(name, low)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(name, value, f"a whole number from {low} to {high}")
    public = str(config.get("PUBLIC_URL", ""))
    if public and not public.startswith(("http://", "https://")):
        raise ConfigError("PUBLIC_URL", public, "an address starting with http:// or https://")


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
        "LOGIN_MAX_FAILURES": _int("LOGIN_MAX_FAILURES", "5"),
        # Argon2's cost: passes, memory (KiB) and lanes; its recommended values by default.
        # Lower them only on a machine that cannot spare 64 MiB per sign-in.
        "PASSWORD_HASH_TIME_COST": _int("PASSWORD_HASH_TIME_COST", "3", minimum=1),
        "PASSWORD_HASH_MEMORY_KIB": _int("PASSWORD_HASH_MEMORY_KIB", "65536", minimum=8),
        "PASSWORD_HASH_PARALLELISM": _int("PASSWORD_HASH_PARALLELISM", "4", minimum=1),
        "LOGIN_LOCK_MINUTES": _int("LOGIN_LOCK_MINUTES", "15"),
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "20 per minute"),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        # A rate-limit store that is down (Redis) degrades to per-process limits with a logged
        # warning instead of failing every request.
        # A moving window: "20 a minute" means in any 60 seconds, not per clock minute (a
        # fixed window lets 40 through around the turn of a minute).
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
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
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", str(8 * 1024 * 1024)),
        # Static files (CSS, JavaScript, the icon) may be kept by browsers this many seconds.
        "SEND_FILE_MAX_AGE_DEFAULT": _int("SEND_FILE_MAX_AGE_DEFAULT", "3600"),
        "PAGE_SIZE": 30,
        # Ranking: JSON object of the matching library's component weights.
        "MATCH_WEIGHTS": os.environ.get("MATCH_WEIGHTS", ""),
        # Search: "whoosh" (embedded, index under instance/) or "postgres" (shared by servers).
        "SEARCH_BACKEND": os.environ.get("SEARCH_BACKEND", "whoosh").strip(),
        # Workflow rules.
        "DISCLOSURE_DAYS": _int("DISCLOSURE_DAYS", "7"),
        "PLEDGE_TTL_DAYS": _int("PLEDGE_TTL_DAYS", "14"),
        # Bulk import of the register: the upload, what it may unpack to, rows per file.
        "IMPORT_MAX_BYTES": _int("IMPORT_MAX_BYTES", str(5 * 1024 * 1024)),
        "IMPORT_MAX_UNZIPPED": _int("IMPORT_MAX_UNZIPPED", str(100 * 1024 * 1024)),
        "IMPORT_MAX_ROWS": _int("IMPORT_MAX_ROWS", "20000"),
        # Long work goes to the background (a page with its progress) from this size up: an
        # import of more rows, an allocation or a report export over a region at this level
        # or above. Smaller work answers at once, as before.
        "BACKGROUND_IMPORT_ROWS": _int("BACKGROUND_IMPORT_ROWS", "1000", minimum=0),
        "BACKGROUND_REGION_LEVEL": os.environ.get("BACKGROUND_REGION_LEVEL", "city").strip(),
        # A queued run not started after this long: its page says the site may have no worker.
        "WORK_WAIT_MINUTES": _int("WORK_WAIT_MINUTES", "5", minimum=1),
        "PHOTO_MAX_BYTES": _int("PHOTO_MAX_BYTES", str(5 * 1024 * 1024)),
        # E-mail for notifications: off unless MAIL_SERVER is set.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": _int("MAIL_PORT", "25"),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", False),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "noreply@localhost"),
        # The site's address as users reach it, e.g. https://fupin.example.gov.cn: links in
        # e-mails are built on it (never on the request's Host header).
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", "").rstrip("/"),
        # Background jobs (marketplace/jobs, README "Jobs"): the queue's store, a SQLite file
        # under instance/ by default (embedded, no server) or redis://host:port/db for
        # several machines; JOBS_IMMEDIATE runs each job at once in the caller (tests).
        "JOBS_URL": os.environ.get("JOBS_URL") or f"sqlite:///{instance / 'jobs.db'}",
        "JOBS_NAME": os.environ.get("JOBS_NAME", "marketplace").strip(),
        "JOBS_IMMEDIATE": _bool("JOBS_IMMEDIATE", False),
        # `marketplace serve` runs the worker in its own process (threads) when the store is
        # embedded ("auto"); "on" or "off" decides it whatever the store.
        "JOBS_IN_PROCESS": os.environ.get("JOBS_IN_PROCESS", "auto").strip().lower(),
        "JOBS_WORKERS": _int("JOBS_WORKERS", "2", minimum=1),
        # A run that holds its task's lock longer than this is taken as dead (seconds).
        "JOBS_LOCK_TIMEOUT": _int("JOBS_LOCK_TIMEOUT", "3600", minimum=60),
        "JOBS_HISTORY_DAYS": _int("JOBS_HISTORY_DAYS", "30", minimum=1),
        # The periodic tasks' schedules: crontab "minute hour day month weekday" read in
        # Beijing time, or "off".
        "JOBS_SCHEDULE_EXPIRE": os.environ.get("JOBS_SCHEDULE_EXPIRE", "*/10 * * * *"),
        "JOBS_SCHEDULE_NOTIFICATIONS": os.environ.get("JOBS_SCHEDULE_NOTIFICATIONS", "* * * * *"),
        "JOBS_SCHEDULE_SEARCH": os.environ.get("JOBS_SCHEDULE_SEARCH", "* * * * *"),
        "JOBS_SCHEDULE_REPORTS": os.environ.get("JOBS_SCHEDULE_REPORTS", "0 1 1 * *"),
        "JOBS_SCHEDULE_AUDIT": os.environ.get("JOBS_SCHEDULE_AUDIT", "0 * * * *"),
        "JOBS_SCHEDULE_FOLLOW_UPS": os.environ.get("JOBS_SCHEDULE_FOLLOW_UPS", "0 8 * * *"),
        # Follow-ups of results (README "Follow-ups and impact"): when they fall due, by the
        # resource's kind and the need's category, as a JSON list of rules (empty: the defaults
        # in marketplace/followups/questions.py); how many days before its day one may be
        # recorded; the key of the certificates' verification codes (empty: derived from
        # SECRET_KEY; set it to keep certificates valid across a change of SECRET_KEY).
        "FOLLOW_UP_SCHEDULE": os.environ.get("FOLLOW_UP_SCHEDULE", "").strip(),
        "FOLLOW_UP_EARLY_DAYS": _int("FOLLOW_UP_EARLY_DAYS", "14"),
        "CERTIFICATE_KEY": os.environ.get("CERTIFICATE_KEY", ""),
        # Exit and monitoring (README "Household plans"): a household exits by assessment when
        # its income per person is above the line (yuan a year, of the year stated), and an
        # exited one is at risk when its income is within the margin (per cent) above it.
        "POVERTY_LINE": _int("POVERTY_LINE", "4000", minimum=1),
        "POVERTY_LINE_YEAR": _int("POVERTY_LINE_YEAR", "2026", minimum=2000),
        "AT_RISK_MARGIN_PERCENT": _int("AT_RISK_MARGIN_PERCENT", "10"),
    }
