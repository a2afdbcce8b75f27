"""The job engine: one Huey instance per app, built from the settings.

- ``JOBS_URL`` chooses the store: ``sqlite:///path`` (the default, a file under instance/:
  embedded, no server) or ``redis://host:port/db`` (several machines, the ``scale`` extra).
  ``JOBS_IMMEDIATE`` runs every job at once in the caller (tests).
- Periodic tasks are claimed once per minute in the store, so any number of consumers
  (``marketplace serve``'s threads, ``marketplace worker`` processes) enqueue each run once.
- Each periodic run holds its task's Huey lock: a second run at the same time finds it taken
  and stops at once. A lock held longer than ``JOBS_LOCK_TIMEOUT`` (its holder died) is broken
  with a compare-and-delete, so only one of several runners takes it over.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from typing import Any

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from huey.consumer import Consumer
from huey.storage import EmptyData, MemoryStorage, RedisStorage, SqliteStorage

from marketplace.config import ConfigError
from marketplace.jobs.settings import (  # noqa: F401  (their home before; imported from here)
    IN_PROCESS_WORDS,
    check_settings,
    runs_in_process,
    store_kind,
)

log = logging.getLogger("marketplace.jobs")


class _ClaimsMinutes:
    """Mixed into the Huey classes: the periodic tasks of a minute are handed out once, to the
    first scheduler that claims the minute in the shared store."""

    name: str

    def read_periodic(self, timestamp: Any) -> list[Any]:
        due: list[Any] = super().read_periodic(timestamp)  # type: ignore[misc]
        if not due:
            return due
        moment = timestamp or self._get_timestamp()  # type: ignore[attr-defined]
        minute = moment.replace(second=0, microsecond=0)
        if not self.put_if_empty(self._minute_key(minute), "1"):  # type: ignore[attr-defined]
            return []
        for back in range(10, 20):  # claims of minutes long past
            self.delete(self._minute_key(minute - timedelta(minutes=back)))  # type: ignore[attr-defined]
        return due

    def _minute_key(self, minute: Any) -> str:
        return f"{self.name}.periodic.{minute:%Y%m%d%H%M}"


class EmbeddedHuey(_ClaimsMinutes, SqliteHuey):
    pass


class SharedHuey(_ClaimsMinutes, RedisHuey):
    pass


class ImmediateHuey(_ClaimsMinutes, MemoryHuey):
    pass


def build_huey(config: dict[str, Any]) -> Huey:
    kind = store_kind(config)
    name = str(config["JOBS_NAME"])
    if kind == "immediate":
        return ImmediateHuey(name, immediate=True, results=False)
    url = str(config["JOBS_URL"])
    if kind == "redis":
        try:
            import redis  # noqa: F401
        except ImportError as exc:
            raise ConfigError(
                "JOBS_URL", url, "a Redis store needs the redis client: pip install -e '.[scale]'"
            ) from exc
        return SharedHuey(name, url=url, results=False)
    # sqlite:////abs/jobs.db is an absolute path, sqlite:///jobs.db a relative one.
    return EmbeddedHuey(name, filename=url.removeprefix("sqlite:///"), results=False)


# --- locks ---------------------------------------------------------------------------------


class JobLock:
    """The Huey lock of one task (``<queue>.lock.<name>`` in the store, as ``lock_task`` makes
    it), holding the time it was taken so that a dead holder's lock can be broken."""

    def __init__(self, huey: Huey, name: str, timeout: int) -> None:
        self.huey = huey
        self.key = huey.lock_task(name)._key  # registers it for `flush_locks` too
        self.timeout = timeout
        self.token = ""

    def acquire(self) -> bool:
        token = f"{time.time():.0f}:{uuid.uuid4().hex}"
        if self.huey.put_if_empty(self.key, token):
            self.token = token
            return True
        if not self._break_if_stale():
            return False
        if self.huey.put_if_empty(self.key, token):
            self.token = token
            return True
        return False

    def release(self) -> None:
        if self.token:
            self.huey.delete(self.key)
            self.token = ""

    def held_by_someone(self) -> bool:
        return bool(self.huey.storage.has_data_for_key(self.key))

    def _break_if_stale(self) -> bool:
        raw = self.huey.storage.peek_data(self.key)
        if raw is EmptyData:
            return True  # released meanwhile
        try:
            taken = float(str(self.huey.serializer.deserialize(raw)).split(":", 1)[0])
        except (ValueError, TypeError, EOFError, AttributeError, IndexError):
            taken = 0.0  # not ours (a plain Huey lock_task): judged by age 0, i.e. stale
        if time.time() - taken < self.timeout:
            return False
        broken = _delete_if_unchanged(self.huey.storage, self.key, bytes(raw))
        if broken:
            log.warning("job lock %s was held for more than %s s: broken", self.key, self.timeout)
        return broken


_REDIS_DELETE_IF = """
if redis.call('hget', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('hdel', KEYS[1], ARGV[1])
end
return 0
"""


def _delete_if_unchanged(storage: Any, key: str, raw: bytes) -> bool:
    """Delete ``key`` only while it still holds ``raw``: of two runners that found the same
    stale lock, the second deletes nothing (the first has taken the lock anew)."""
    if isinstance(storage, SqliteStorage):
        with storage.db(commit=True) as cursor:
            cursor.execute(
                "delete from kv where queue = ? and key = ? and value = ?",
                (storage.name, key, raw),
            )
            return bool(cursor.rowcount == 1)
    if isinstance(storage, RedisStorage):
        return bool(storage.conn.eval(_REDIS_DELETE_IF, 1, storage.result_key, key, raw))
    if isinstance(storage, MemoryStorage):
        with storage._lock:
            if storage._results.get(key) != raw:
                return False
            del storage._results[key]
            return True
    return False


# --- the consumer --------------------------------------------------------------------------


class EmbeddedConsumer(Consumer):
    """A consumer whose threads run inside another program (the web server): it leaves the
    program's signal handlers alone, so Ctrl-C still stops the server."""

    def _set_signal_handlers(self) -> None:
        pass


def consumer_for(huey: Huey, workers: int, *, embedded: bool, periodic: bool = True) -> Consumer:
    cls = EmbeddedConsumer if embedded else Consumer
    return cls(
        huey,
        workers=workers,
        periodic=periodic,
        worker_type="thread",
        # The SQLite store is polled: at most a second between a job and its start.
        max_delay=1.0,
        check_worker_health=True,
    )
