"""What rarely changes, read once and kept: the public pages' figures and lists, the monthly
reports' live figures (issue 17).

The facts version
    One row of ``fact_version`` holds a token that every transaction changing a fact (a
    household, need, resource, match, follow-up, ...: any table but the bookkeeping ones in
    ``IGNORED``) replaces with a new random one, in the same transaction, just before it commits:
    the ORM's changes (``after_flush``) and the bulk statements sent through the session
    (``do_orm_execute``: the workflows' compare-and-set, capacity updates, imports and
    ``marketplace synth``) both count.

Why a token in the database and not a time to live
    The app runs as several processes (gunicorn workers, the job worker) over one database.
    A time to live would either serve figures up to that long after they changed (a need
    verified in one process not counted on the home page another one serves) or, kept short
    enough not to matter, recount nearly as often as before. The token costs one indexed
    SELECT of one row per page, and a change committed by any process shows on the next
    request everywhere. It is read before the facts: a page read before a commit and
    computed after it is kept under the older token (a fresher answer), never the reverse.
    A random token, not a counter, so that a table emptied and started again (the tests do)
    cannot meet an old entry's number again; with no row yet (a database filled behind the
    app's back) nothing is kept.

The cache
    Per process, a bounded dict keyed by what the caller says the answer depends on (the
    region, the month, today's date) and the token; entries are plain data, never ORM objects
    (they outlive the session) and never translated text (labels are resolved when a page is
    drawn, in its reader's language). One computation per key at a time: the others wait for
    it rather than recount. ``FACT_CACHE = False`` in the config turns it off (benchmarks).
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from marketplace.db import Base
from marketplace.extensions import db

FACTS = "facts"
# Tables that do not hold facts any cached page shows: writing them keeps the token.
IGNORED = frozenset({
    "fact_version", "audit_event", "audit_checkpoint", "search_outbox", "search_document",
    "notification", "job_run", "report_snapshot", "user", "user_region", "api_token",
    "login_throttle", "attachment",
})  # fmt: skip
_CHANGED = "facts_changed"
T = TypeVar("T")


class FactVersion(Base):
    """The token of the facts' current state (one row per name; ``facts`` for now)."""

    __tablename__ = "fact_version"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    token: Mapped[int] = mapped_column(sa.BigInteger)


# --- noticing changes ----------------------------------------------------------------------


def _touches_facts(table: Any) -> bool:
    name = getattr(table, "name", None)
    return isinstance(name, str) and name not in IGNORED


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context: Any) -> None:
    if session.info.get(_CHANGED):
        return
    for obj in (*session.new, *session.deleted, *session.dirty):
        table = getattr(obj, "__table__", None)
        if not _touches_facts(table):
            continue
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue
        session.info[_CHANGED] = True
        return


@event.listens_for(Session, "do_orm_execute")
def _executed(state: Any) -> None:
    if (state.is_insert or state.is_update or state.is_delete) and _touches_facts(
        getattr(state.statement, "table", None)
    ):
        state.session.info[_CHANGED] = True


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    """A new token with the changes, in their transaction (the final flush first, so that
    what it writes counts)."""
    session.flush()
    if session.info.pop(_CHANGED, False):
        bump(session)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # committed (bumped) or rolled back: nothing pending
        session.info.pop(_CHANGED, None)


def bump(session: Session) -> None:
    """Replace the token: every cached answer is recomputed on its next request."""
    values = {"name": FACTS, "token": secrets.randbits(62)}
    if session.get_bind().dialect.name == "postgresql":
        statement: Any = postgresql.insert(FactVersion).values(values)
    else:
        statement = sqlite.insert(FactVersion).values(values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[FactVersion.name], set_={"token": statement.excluded.token}
        )
    )


def token(session: Session) -> int | None:
    """The facts' token now (None: no row, nothing may be kept)."""
    return session.scalar(sa.select(FactVersion.token).where(FactVersion.name == FACTS))


def pending(session: Session) -> bool:
    """Whether this session holds changes to facts not yet committed (what it would compute
    is not what the others see, and may be rolled back: never kept)."""
    if session.info.get(_CHANGED):
        return True
    return any(
        _touches_facts(getattr(obj, "__table__", None))
        and (obj not in session.dirty or session.is_modified(obj, include_collections=False))
        for obj in (*session.new, *session.deleted, *session.dirty)
    )


# --- the cache -----------------------------------------------------------------------------


class FactCache:
    """Answers kept per process, keyed by (key, token); the oldest go first past ``size``."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, compute: Callable[[], T], versioned: bool = True) -> T:
        """The answer kept for ``key`` at the facts' current token, computed when missing.
        ``versioned=False``: the key names something that never changes (a frozen month)."""
        if has_app_context() and not current_app.config.get("FACT_CACHE", True):
            return compute()
        session = db.session()
        if versioned and pending(session):
            return compute()
        stamp = token(session) if versioned else 0
        if stamp is None:
            return compute()
        full = (key, stamp)
        with self._lock:
            if full in self._entries:
                self._entries.move_to_end(full)
                return self._entries[full]  # type: ignore[no-any-return]
            gate = self._computing.setdefault(full, threading.Lock())
        with gate:
            with self._lock:
                if full in self._entries:
                    return self._entries[full]  # type: ignore[no-any-return]
            try:
                answer = compute()
                with self._lock:
                    self._entries[full] = answer
                    while len(self._entries) > self.size:
                        self._entries.popitem(last=False)
            finally:
                with self._lock:
                    self._computing.pop(full, None)
        return answer

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


cache = FactCache()
