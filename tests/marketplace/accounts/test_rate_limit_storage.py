"""Rate limits kept in Redis; a store that is down degrades to per-process limits, never 500."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from marketplace import create_app
from marketplace.extensions import db as _db
from marketplace.extensions import limiter
from tests.conftest import FreshContextClient, base_config, database_url

REDIS = "redis://127.0.0.1:6379/15"


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_url() -> str:
    """A real Redis: skipped with the reason when absent, except in CI (REQUIRE_POSTGRES)."""
    if not _redis_reachable():
        reason = "needs Redis on 127.0.0.1:6379"
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail(reason + " (REQUIRE_POSTGRES is set: CI runs every service)")
        pytest.skip(reason)
    return REDIS


@pytest.fixture
def app_with_store(app: Any, db: Any) -> Iterator[Any]:
    """An app whose limiter uses another store; the one shared limiter is given back after."""
    made: list[Any] = []

    def make(uri: str, limit: str = "100000 per minute") -> Any:
        config = base_config(database_url())
        config.update(RATELIMIT_STORAGE_URI=uri, LOGIN_RATE_LIMIT=limit)
        other = create_app(config)
        other.test_client_class = FreshContextClient
        made.append(other)
        return other

    yield make
    for other in made:  # close its connections (PostgreSQL warns about open ones)
        with other.app_context():
            _db.engine.dispose()
    limiter._storage_dead = False
    limiter.init_app(app)  # back to the session app's in-memory store
    limiter.reset()


def test_sign_in_with_redis(app_with_store: Any, redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    other = app_with_store(redis_url, "3 per minute")
    client = other.test_client()
    codes = [
        client.post("/login", data={"username": "ghost", "password": "x1234567"}).status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    assert redis.Redis.from_url(redis_url).dbsize() > 0  # the count lives in Redis


def test_redis_down_degrades_with_a_warning(app_with_store: Any, caplog: Any) -> None:
    other = app_with_store("redis://127.0.0.1:1", "3 per minute")
    client = other.test_client()
    with caplog.at_level(logging.WARNING):
        codes = [
            client.post("/login", data={"username": "ghost", "password": "x1234567"}).status_code
            for _ in range(4)
        ]
    assert 500 not in codes
    assert codes[:3] == [401, 401, 401]
    assert codes[3] == 429  # the in-process limit still holds
    assert any(
        r.levelno >= logging.WARNING and "storage" in r.getMessage().lower() for r in caplog.records
    )
