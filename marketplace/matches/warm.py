"""A warm, process-wide index of resources, for "best resources for this need".

Loading every public resource through the ORM on each request costs seconds at provincial
scale; instead each process keeps a ``matching.ResourceIndex`` and asks the database one cheap
question per request: has any resource or organization changed since? Several processes each
keep their own copy, kept current the same way.

Readers never wait for a refresh. The index a reader uses is never changed once published: one
thread at a time (the request that noticed the change) reads what changed, applies it to a
copy and swaps the copy in; requests meanwhile answer from the index as it was. Only the very
first build, when there is nothing to answer from, is waited for.

A refresh never reloads what did not change. What the index holds is known row by row (each
resource's ``updated_at`` as read), and the newest change seen is a watermark, the pair
(``updated_at``, id): a refresh asks for the rows past it, then reloads only those whose
``updated_at`` differs from the one held. A transaction that commits after a later one leaves
rows behind the watermark; a sweep every minute compares the ``updated_at`` of the rows changed
within two minutes of the watermark (one column, no load) and reloads those that differ. An
organization changed reloads its resources; a resource deleted is removed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session, joinedload, selectinload

from marketplace import facts
from marketplace.accounts.models import Organization
from marketplace.extensions import db
from marketplace.matches.adapters import resource_view
from marketplace.resources.models import Resource
from matching.index import ResourceIndex
from matching.model import NeedView
from matching.scoring import Scored, Weights


@dataclass(frozen=True)
class Version:
    resources: int
    last_resource_id: int
    resources_changed: datetime | None
    organizations: int
    organizations_changed: datetime | None


# The newest row seen, in (updated_at, id) order: every row after it is new to the index.
Mark = tuple[datetime, int]

SWEEP_SECONDS = 60
# How far behind the watermark the sweep looks for transactions that committed late.
SWEEP_WINDOW = timedelta(seconds=2 * SWEEP_SECONDS)
CHUNK = 1000  # ids per IN list
_CREATE = threading.Lock()  # one index per application, even when threads race to make it


@dataclass
class _Rows:
    """What the index holds, row by row: the ``updated_at`` read for each id, and the mark."""

    seen: dict[int, datetime] = field(default_factory=dict)
    mark: Mark | None = None

    def note(self, rows: Iterable[tuple[int, datetime]]) -> None:
        for row_id, changed in rows:
            self.seen[row_id] = changed

    def advance(self, rows: Iterable[tuple[int, datetime]]) -> None:
        """The mark moves to the newest of the rows one statement found past it (or of all
        rows): never from rows read later, which may be newer than one not yet seen."""
        for row_id, changed in rows:
            if self.mark is None or (changed, row_id) > self.mark:
                self.mark = (changed, row_id)


def _after(model: Any, mark: Mark | None) -> sa.ColumnElement[bool]:
    """Rows past the mark, in (updated_at, id) order."""
    if mark is None:
        return sa.true()
    changed, row_id = mark
    return sa.or_(
        model.updated_at > changed, sa.and_(model.updated_at == changed, model.id > row_id)
    )


def _within(model: Any, mark: Mark | None) -> sa.ColumnElement[bool]:
    """Rows the sweep compares: changed up to SWEEP_WINDOW before the mark, or since."""
    return sa.true() if mark is None else model.updated_at >= mark[0] - SWEEP_WINDOW


class WarmResources:
    def __init__(self) -> None:
        self._refreshing = threading.Lock()  # one refresher at a time; readers never take it
        self._index = ResourceIndex()  # published: never changed again, only replaced
        self._version: Version | None = None
        self._resources = _Rows()
        self._organizations = _Rows()
        self._swept = 0.0
        self._token_current: int | None = None  # the facts token when last found current

    @staticmethod
    def _current(session: Any) -> Version:
        """The cheap question, in one statement."""
        resources = sa.select(
            sa.func.count(Resource.id), sa.func.max(Resource.id), sa.func.max(Resource.updated_at)
        ).subquery()
        organizations = sa.select(
            sa.func.count(Organization.id), sa.func.max(Organization.updated_at)
        ).subquery()
        both = resources.join(organizations, sa.true())  # one row each: one row
        row = session.execute(sa.select(resources, organizations).select_from(both)).one()
        return Version(row[0], row[1] or 0, row[2], row[3], row[4])

    def _load(self, session: Session, ids: list[int] | None) -> list[Resource]:
        """The resources with these ids (all of them: None), as the index needs them."""
        query = sa.select(Resource).options(
            selectinload(Resource.service_area), joinedload(Resource.organization)
        )
        if ids is None:
            return list(session.scalars(query).unique())
        loaded: list[Resource] = []
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            loaded += session.scalars(query.where(Resource.id.in_(chunk))).unique()
        return loaded

    def top(self, need: NeedView, weights: Weights, today: date, limit: int) -> list[Scored]:
        if self._version is None:
            with self._refreshing:  # the first build: there is nothing to answer from yet
                if self._version is None:
                    self._refresh()
        elif self._stale() and self._refreshing.acquire(blocking=False):
            # Another thread already refreshing: answer from the index as it is.
            try:
                if self._stale():
                    self._refresh()
            finally:
                self._refreshing.release()
        return self._index.top(need, weights, today, limit)

    def _stale(self) -> bool:
        if time.monotonic() - self._swept >= SWEEP_SECONDS:
            return True
        # Resources and organizations are facts: while the facts token is the one read just
        # before the index was last found current, neither changed. One row by its key, not
        # the aggregates over both tables (5 ms a request at 10,000 resources).
        token = facts.token(db.session())
        if token is not None and token == self._token_current:
            return False
        if self._current(db.session) != self._version:
            return True
        self._token_current = token  # read before the version that matched
        return False

    def _refresh(self) -> None:
        """Read what changed (committed: on a session of its own) and publish an index with it."""
        sweep = self._version is None or time.monotonic() - self._swept >= SWEEP_SECONDS
        with Session(db.engine) as reader:
            version = self._current(reader)
            if self._version is None:
                self._build(reader)
            else:
                marks = self._resources.mark, self._organizations.mark
                try:
                    self._update(reader, version, sweep)
                except BaseException:  # nothing applied: the next refresh reads it all again
                    self._resources.mark, self._organizations.mark = marks
                    raise
            self._version = version
        if sweep:
            self._swept = time.monotonic()

    def _build(self, reader: Session) -> None:
        loaded = self._load(reader, None)
        fresh = ResourceIndex()
        fresh.add_many([resource_view(r) for r in loaded])
        self._resources, self._organizations = _Rows(), _Rows()
        organizations = reader.execute(sa.select(Organization.id, Organization.updated_at)).all()
        for rows, found in ((self._resources, [(r.id, r.updated_at) for r in loaded]),
                            (self._organizations, organizations)):  # fmt: skip
            rows.note(found)
            rows.advance(found)
        self._index = fresh

    def _update(self, reader: Session, version: Version, sweep: bool) -> None:
        held, orgs = self._resources, self._organizations

        def changed(
            model: Any, rows: _Rows, where: sa.ColumnElement[bool], advance: bool = False
        ) -> list[Any]:
            """(id, updated_at) of the rows found that differ from what the index holds."""
            found = reader.execute(sa.select(model.id, model.updated_at).where(where)).all()
            if advance:
                rows.advance(found)
            return [(i, t) for i, t in found if rows.seen.get(i) != t]

        resources = changed(Resource, held, _after(Resource, held.mark), advance=True)
        organizations = changed(Organization, orgs, _after(Organization, orgs.mark), advance=True)
        if sweep:
            resources += changed(Resource, held, _within(Resource, held.mark))
            organizations += changed(Organization, orgs, _within(Organization, orgs.mark))
        wanted = {i for i, _t in resources}
        if organizations:  # their resources' "organization verified" may have changed
            wanted.update(
                reader.scalars(
                    sa.select(Resource.id).where(
                        Resource.organization_id.in_([i for i, _t in organizations])
                    )
                )
            )
        removed: set[int] = set()
        if version.resources != len(held.seen.keys() | wanted):
            # Deleted (or committed late, behind the watermark): compare the ids.
            present = set(reader.scalars(sa.select(Resource.id)))
            removed = held.seen.keys() - present
            wanted |= present - held.seen.keys()
        if not wanted and not removed:
            orgs.note(organizations)
            return
        loaded = self._load(reader, sorted(wanted))
        removed |= wanted - {r.id for r in loaded}  # deleted since
        index = self._index.copy()
        for resource_id in removed:
            index.remove(resource_id)
            held.seen.pop(resource_id, None)
        index.add_many([resource_view(r) for r in loaded])
        held.note((r.id, r.updated_at) for r in loaded)
        orgs.note(organizations)
        self._index = index


def warm_resources() -> WarmResources:
    """The process's warm index (one per application)."""
    extensions = current_app.extensions
    if "warm_resources" not in extensions:
        with _CREATE:
            extensions.setdefault("warm_resources", WarmResources())
    warm: WarmResources = extensions["warm_resources"]
    return warm
