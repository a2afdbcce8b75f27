"""The job engine's settings, checked when the app starts. Kept apart from ``engine`` so that
starting the app does not import Huey (and through it the Redis client): the engine is built
on first use."""

from __future__ import annotations

from typing import Any

from flask import Flask

from marketplace.config import ConfigError

IN_PROCESS_WORDS = {"auto", "on", "off", "1", "0", "true", "false", "yes", "no"}


def store_kind(config: dict[str, Any]) -> str:
    """ "immediate", "sqlite" or "redis"; a JOBS_URL of another kind stops the start."""
    if config.get("JOBS_IMMEDIATE"):
        return "immediate"
    url = str(config.get("JOBS_URL", ""))
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        return "sqlite"
    if url.startswith(("redis://", "rediss://", "unix://")):
        return "redis"
    raise ConfigError("JOBS_URL", url, "sqlite:///path/to/jobs.db or redis://host:port/db")


def check_settings(config: dict[str, Any]) -> None:
    store_kind(config)
    name = str(config.get("JOBS_NAME", ""))
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError("JOBS_NAME", name, "letters, digits, - and _")
    word = str(config.get("JOBS_IN_PROCESS", "auto"))
    if word not in IN_PROCESS_WORDS:
        raise ConfigError("JOBS_IN_PROCESS", word, "auto, on or off")


def runs_in_process(app: Flask) -> bool:
    """Whether ``marketplace serve`` starts the consumer in its own process."""
    word = str(app.config.get("JOBS_IN_PROCESS", "auto"))
    if word == "auto":
        return store_kind(app.config) == "sqlite"
    return word in {"on", "1", "true", "yes"}
