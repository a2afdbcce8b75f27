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

Tokens per county (the reports)
    Beside ``facts``, one row per county (named by its code) is replaced with it when the
    change is known to touch only that county's facts, and the row ``all`` when it is not
    (a bulk statement without a row's id, a table with no village to follow: regions,
    organizations, a resource's donor or value). Where a change lands is found by following
    the changed rows' own columns (``village_id``, else ``household_id``, ``need_id``,
    ``match_id``) up to a village, the values before and after the change both; what cannot be
    followed (a row deleted in the same transaction) counts as everywhere. A region's report
    is kept under ``all`` and the tokens of the counties under it (``region_tokens``): a
    change in one county leaves its siblings' and the other cities' reports kept. Columns no
    report reads (a resource's remaining capacity, a listing's stock) change ``facts`` only.
    The rows are replaced in name order in one statement, so concurrent commits lock them in
    the same order (no deadlock).

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
from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from marketplace.db import Base
from marketplace.extensions import db

FACTS = "facts"
EVERYWHERE = "all"  # the token of changes whose county is not known
# Tables whose inserts no report reads (until a row points at them) and of whose columns
# the reports read only these: other updates change ``facts`` only; a delete, everywhere.
REPORTED_COLUMNS = {
    "resource": frozenset({"organization_id", "unit_value"}),
    "produce_listing": frozenset({"category"}),
    "produce_order": frozenset({"organization_id", "listing_id"}),
}
# How a row leads to a village: the first of these columns it has (region: the village).
_ANCHORS = (("village_id", "region"), ("household_id", "household"), ("need_id", "need"),
            ("match_id", "match"))  # fmt: skip
_COUNTY_DEPTH = 2  # province 0, city 1, county 2 (regions.models.RegionLevel)
_PLACES = "facts_places"  # (table, id) pairs whose county the commit replaces
_ANYWHERE = "facts_anywhere"  # a change whose county is not known
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
    if session.info.get(_CHANGED) and session.info.get(_ANYWHERE):
        return  # nothing more to learn
    for obj in (*session.new, *session.deleted, *session.dirty):
        table = getattr(obj, "__table__", None)
        if not _touches_facts(table):
            continue
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue
        session.info[_CHANGED] = True
        if not session.info.get(_ANYWHERE):
            _place_object(session, obj, table)


def _places(session: Session) -> set[tuple[str, int]]:
    found: set[tuple[str, int]] = session.info.setdefault(_PLACES, set())
    return found


def _place_object(session: Session, obj: Any, table: Any) -> None:
    """Where an ORM change lands: its anchor column's values before and after."""
    state = sa.inspect(obj)
    reported = REPORTED_COLUMNS.get(table.name)
    if reported is not None:
        if obj in session.new:
            return
        if obj in session.deleted or any(state.attrs[c].history.has_changes() for c in reported):
            session.info[_ANYWHERE] = True
        return
    for column, target in _ANCHORS:
        if column in table.c and column in state.attrs:
            history = state.attrs[column].history
            values = [*history.added, *history.unchanged, *history.deleted]
            if not values or any(v is None for v in values):
                break  # not loaded, or no village to follow
            _places(session).update((target, v) for v in values)
            return
    session.info[_ANYWHERE] = True


@event.listens_for(Session, "do_orm_execute")
def _executed(state: Any) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if not _touches_facts(table):
        return
    session = state.session
    session.info[_CHANGED] = True
    if not session.info.get(_ANYWHERE) and not _place_statement(session, state, table):
        session.info[_ANYWHERE] = True


def _place_statement(session: Session, state: Any, table: Any) -> bool:
    """Where a bulk UPDATE of rows named by id lands (the ids, followed at commit: it sets no
    anchor column, so the rows stay where they were); False when not known (an insert, a
    delete, rows not named by id, an anchor column set)."""
    statement = state.statement
    values = getattr(statement, "_values", None) or {}
    columns = {getattr(k, "key", k) for k in values}
    reported = REPORTED_COLUMNS.get(table.name)
    if reported is not None and state.is_update and values and not (columns & reported):
        return True  # no column a report reads
    if not state.is_update or not values or columns & {c for c, _t in _ANCHORS}:
        return False
    ids = _ids_in(statement.whereclause, table, state.parameters)
    if not ids or "id" not in table.c:
        return False
    _places(session).update((table.name, i) for i in ids)
    return True


def _ids_in(clause: Any, table: Any, parameters: Any) -> set[int]:
    """The ids of ``table.id == value`` (or ``IN``) conditions joined by AND in ``clause``."""
    if clause is None:
        return set()
    if isinstance(clause, sa.sql.elements.BooleanClauseList):
        if clause.operator is not sa.sql.operators.and_:
            return set()
        for part in clause.clauses:
            found = _ids_in(part, table, parameters)
            if found:
                return found
        return set()
    if not isinstance(clause, sa.sql.elements.BinaryExpression):
        return set()
    left, right = clause.left, clause.right
    # by name: the ORM's statement holds annotated copies of the table and its columns
    if getattr(getattr(left, "table", None), "name", None) != table.name or left.key != "id":
        return set()
    if not isinstance(right, sa.sql.elements.BindParameter):
        return set()
    value = right.effective_value
    if isinstance(parameters, dict) and right.key in parameters:
        value = parameters[right.key]
    if clause.operator is sa.sql.operators.eq and isinstance(value, int):
        return {value}
    if clause.operator is sa.sql.operators.in_op and isinstance(value, list | tuple):
        return (
            {v for v in value if isinstance(v, int)}
            if all(isinstance(v, int) for v in value)
            else set()
        )
    return set()


def _counties(session: Session, places: set[tuple[str, int]]) -> set[str] | None:
    """The codes of the counties the places are in (None: one could not be followed)."""
    tables = Base.metadata.tables
    codes: set[str] = set()
    pending_places = set(places)
    for _round in range(len(_ANCHORS) + 1):
        if not pending_places:
            return codes
        by_table: dict[str, set[int]] = {}
        for name, ident in pending_places:
            by_table.setdefault(name, set()).add(ident)
        pending_places = set()
        for name, ids in by_table.items():
            table = tables[name]
            if name == "region":
                rows = session.execute(
                    sa.select(table.c.id, table.c.path).where(table.c.id.in_(ids))
                ).all()
                for _id, path in rows:
                    county = county_of(path)
                    if county is None:
                        return None  # a city or province: no county to name
                    codes.add(county)
            else:
                column, target = next(((c, t) for c, t in _ANCHORS if c in table.c), ("", ""))
                if not column:
                    return None
                rows = session.execute(
                    sa.select(table.c.id, table.c[column]).where(table.c.id.in_(ids))
                ).all()
                if any(v is None for _id, v in rows):
                    return None
                pending_places.update((target, v) for _id, v in rows)
            if len(rows) != len(ids):
                return None  # gone (deleted in this transaction): anywhere
    return None


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    """A new token with the changes, in their transaction (the final flush first, so that
    what it writes counts)."""
    session.flush()
    if session.info.pop(_CHANGED, False):
        places = session.info.pop(_PLACES, set())
        anywhere = session.info.pop(_ANYWHERE, False)
        bump(session, None if anywhere else _counties(session, places))


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # committed (bumped) or rolled back: nothing pending
        for name in (_CHANGED, _PLACES, _ANYWHERE):
            session.info.pop(name, None)


def bump(session: Session, counties: set[str] | None = None) -> None:
    """Replace the token, and the counties' (``None``: a change anywhere, ``all``'s): every
    answer kept under them is recomputed on its next request."""
    names = sorted(counties) if counties is not None else [EVERYWHERE]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    if counties is not None:
        # Without an ``all`` row nothing is kept per region (a table emptied and filled again
        # must not meet an old entry): made once, never locked by the others.
        session.execute(
            dialect.insert(FactVersion)
            .values(name=EVERYWHERE, token=secrets.randbits(62))
            .on_conflict_do_nothing(index_elements=[FactVersion.name])
        )
    rows = [{"name": n, "token": secrets.randbits(62)} for n in [*names, FACTS]]
    statement: Any = dialect.insert(FactVersion).values(rows)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[FactVersion.name], set_={"token": statement.excluded.token}
        )
    )


def token(session: Session) -> int | None:
    """The facts' token now (None: no row, nothing may be kept)."""
    return session.scalar(sa.select(FactVersion.token).where(FactVersion.name == FACTS))


def region_tokens(session: Session, counties: Iterable[str]) -> tuple[tuple[str, int], ...] | None:
    """What a region's report depends on: ``all`` and the tokens of the counties in it (the
    caller names them: its own county, for a township or village); None without ``all``.
    One SELECT by primary key."""
    rows = session.execute(
        sa.select(FactVersion.name, FactVersion.token)
        .where(FactVersion.name.in_([EVERYWHERE, *sorted(set(counties))]))
        .order_by(FactVersion.name)
    ).all()
    found = tuple((name, value) for name, value in rows)
    return found if any(name == EVERYWHERE for name, _v in found) else None


def county_of(path: str) -> str | None:
    """The code of the county on a region's path (None: a city or province)."""
    parts = path.strip("/").split("/")
    return parts[_COUNTY_DEPTH] if len(parts) > _COUNTY_DEPTH else None


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

    def get(
        self,
        key: Hashable,
        compute: Callable[[], T],
        versioned: bool = True,
        tokens: Callable[[Session], Hashable | None] | None = None,
    ) -> T:
        """The answer kept for ``key`` at the facts' current token, computed when missing.
        ``versioned=False``: the key names something that never changes (a frozen month);
        ``tokens``: what to read instead of the facts' token (``region_tokens``)."""
        if has_app_context() and not current_app.config.get("FACT_CACHE", True):
            return compute()
        session = db.session()
        if versioned and pending(session):
            return compute()
        stamp = (tokens or token)(session) if versioned else 0
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
