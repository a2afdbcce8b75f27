"""Keeping the index in step with the database, and searching it.

Every flush that touches a need, a resource, a produce listing or an organization writes outbox
rows in the same transaction; ``sync`` applies them after commit (each request does, the
periodic job does, and ``marketplace search sync`` for anything left over, e.g. after a crash).
Rebuild reads everything again.

The index never drifts from the database (issue 13) because of how the rows are applied:

- one writer at a time, across threads and processes (``_one_writer``): the threads of a process
  queue on a mutex (holding no connection while they wait), then the processes on a PostgreSQL
  advisory lock, or on SQLite a lock on a file in the instance folder;
- the writer reads the outbox rows first, then builds each document from the database as it is
  now, in a session of its own (no object cached from earlier): a document is at least as new
  as every row read, and no later writer can be overtaken by an older one;
- it removes exactly the rows it read, by id, after the index has taken the documents. A row
  committed meanwhile stays for the next writer (on PostgreSQL ids come from a sequence and do
  not follow commit order, so "every id up to the last one read" could remove a row never read).

A crash between the index write and the removal leaves rows that are applied again: harmless.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, joinedload, selectinload

from marketplace.accounts.models import Organization
from marketplace.extensions import db
from marketplace.households.models import Household
from marketplace.needs.models import Need
from marketplace.produce.models import ProduceListing
from marketplace.regions.models import Region
from marketplace.resources.models import Resource
from marketplace.search.backend import SearchBackend, SearchQuery
from marketplace.search.documents import (
    SearchDocument,
    listing_document,
    need_document,
    resource_document,
)
from marketplace.search.models import SearchOutbox
from marketplace.signals import capacity_changed, status_moved

log = logging.getLogger(__name__)
_backends: dict[Any, SearchBackend] = {}
_lock = threading.Lock()
BATCH = 5000
# Any constant (the audit chain's is 720_421): the advisory lock of the index's one writer.
INDEX_LOCK = 720_422
# Seconds a sync waits for the writer before it leaves its rows to the one writing (which reads
# again before it lets go) or to the next sync; a rebuild waits longer.
SYNC_WAIT = 10.0
REBUILD_WAIT = 3600.0
_POLL = 0.02
_writer_mutex = threading.Lock()
LOCK_FILE = "search-writer.lock"


def backend() -> SearchBackend:
    """The configured backend, one per process and location."""
    kind = current_app.config.get("SEARCH_BACKEND", "whoosh")
    if kind == "postgres":
        key: Any = ("postgres", db.engine)  # the engine, not its URL: a schema of its own
    else:
        key = ("whoosh", current_app.config["INSTANCE_DIR"])
    with _lock:
        if key not in _backends:
            if kind == "postgres":
                from marketplace.search.postgres_backend import PostgresBackend

                _backends[key] = PostgresBackend(db.engine)
            else:
                from marketplace.search.whoosh_backend import WhooshBackend

                path = Path(current_app.config["INSTANCE_DIR"]) / "search-index"
                _backends[key] = WhooshBackend(path)
        return _backends[key]


def keys_for(obj: Any) -> list[str]:
    if isinstance(obj, Need):
        return [f"need:{obj.id}"]
    if isinstance(obj, Resource):
        return [f"resource:{obj.id}"]
    if isinstance(obj, ProduceListing):
        return [f"listing:{obj.id}"]
    if isinstance(obj, Organization) and obj.id is not None:
        ids = db.session.scalars(sa.select(Resource.id).where(Resource.organization_id == obj.id))
        return [f"resource:{i}" for i in ids]
    return []


def enqueue(*keys: str) -> None:
    db.session.add_all(SearchOutbox(key=k) for k in keys)
    db.session.info["search_dirty"] = True


@capacity_changed.connect
def _capacity_changed(_sender: Any, *, need_id: int, resource_id: int) -> None:
    enqueue(f"need:{need_id}", f"resource:{resource_id}")


@status_moved.connect
def _status_moved(_sender: Any, *, record: Any) -> None:
    keys = keys_for(record)
    if keys:
        enqueue(*keys)


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    """Outbox rows for whatever this flush changed, in the same transaction."""
    touched = [*session.new, *session.dirty, *session.deleted]
    keys: set[str] = set()
    for obj in touched:
        if isinstance(obj, Need | Resource) and obj.id is not None:
            keys.add(f"{obj.__tablename__}:{obj.id}")
        elif isinstance(obj, ProduceListing) and obj.id is not None:
            keys.add(f"listing:{obj.id}")
        elif isinstance(obj, Organization) and obj in session.dirty and obj.id is not None:
            with session.no_autoflush:
                rows = session.execute(
                    sa.select(Resource.id).where(Resource.organization_id == obj.id)
                )
                keys.update(f"resource:{i}" for (i,) in rows)
    if keys:
        session.execute(sa.insert(SearchOutbox), [{"key": k} for k in sorted(keys)])
        session.info["search_dirty"] = True


def document_for(key: str, session: Session | None = None) -> SearchDocument | None:
    """The document an outbox key stands for now (None: it must leave the index)."""
    reader = session if session is not None else db.session
    kind, _sep, raw = key.partition(":")
    if not raw.isdigit():
        return None
    if kind == "need":
        need = reader.get(Need, int(raw))
        return need_document(need) if need else None
    if kind == "listing":
        listing = reader.get(ProduceListing, int(raw))
        return listing_document(listing) if listing else None
    resource = reader.get(Resource, int(raw))
    return resource_document(resource) if resource else None


class IndexBusy(RuntimeError):
    """Another writer kept the index longer than this one would wait."""


@contextmanager
def _one_writer(wait: float) -> Iterator[Session | None]:
    """The index's one writer, for the body: a session of its own holding the lock, or None
    when the lock stayed taken for ``wait`` seconds. The body commits what it did; the lock
    goes at the end (on PostgreSQL with the session's transaction, also if the process dies)."""
    deadline = time.monotonic() + wait
    if not _writer_mutex.acquire(timeout=max(wait, 0)):
        yield None
        return
    try:
        with Session(db.engine) as session:
            if session.get_bind().dialect.name == "postgresql":
                try_lock = sa.text("SELECT pg_try_advisory_xact_lock(:key)")
                while not session.scalar(try_lock, {"key": INDEX_LOCK}):
                    if time.monotonic() >= deadline:
                        session.rollback()
                        yield None
                        return
                    time.sleep(_POLL)
                try:
                    yield session
                finally:
                    session.rollback()  # ends the transaction (a no-op after the body's commit)
            else:
                with _file_lock(deadline) as held:
                    try:
                        yield session if held else None
                    finally:
                        session.rollback()
    finally:
        _writer_mutex.release()


@contextmanager
def _file_lock(deadline: float) -> Iterator[bool]:
    """An exclusive lock on a file beside the index, for processes sharing a SQLite database
    and its instance folder. Where ``fcntl`` is missing (Windows) the mutex alone serves: one
    process."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on the platforms the project runs on
        yield True
        return
    path = Path(current_app.config["INSTANCE_DIR"]) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(_POLL)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _forget(session: Session, ids: list[int]) -> None:
    """Remove exactly these outbox rows: those read and applied."""
    for start in range(0, len(ids), 1000):
        session.execute(
            sa.delete(SearchOutbox)
            .where(SearchOutbox.id.in_(ids[start : start + 1000]))
            .execution_options(synchronize_session=False)
        )


def sync(wait: float = SYNC_WAIT) -> int:
    """Apply every pending outbox row; idempotent, and safe from any number of threads and
    processes at once (one writer at a time). Returns the number of keys applied. A new, empty
    index (first run, or a new schema) is filled by a rebuild instead.

    A sync that finds the writer busy for ``wait`` seconds stops and leaves its rows: the
    writer reads the outbox again before it lets go, and the next sync takes what is left."""
    if getattr(backend(), "fresh", False):
        return _rebuild(only_if_fresh=True)
    return _apply(wait)


def _apply(wait: float) -> int:
    applied = 0
    while True:
        with _one_writer(wait) as session:
            if session is None:
                log.warning("search sync: the index writer stayed busy; rows left for later")
                break
            rows = session.execute(
                sa.select(SearchOutbox.id, SearchOutbox.key).order_by(SearchOutbox.id).limit(BATCH)
            ).all()
            if not rows:
                break
            # Read after the rows, in a session that has cached nothing: what the database says
            # now, at least as new as every change whose row was read.
            keys = sorted({key for _id, key in rows})
            docs = {key: document_for(key, session) for key in keys}
            backend().apply(
                [d for d in docs.values() if d is not None],
                [key for key, d in docs.items() if d is None],
            )
            _forget(session, [row_id for row_id, _key in rows])
            session.commit()
            applied += len(keys)
    db.session.info.pop("search_dirty", None)
    return applied


def rebuild(progress: Callable[[int], None] | None = None) -> int:
    """Index everything again from the database, in one pass of one writer; ``progress`` is
    told the documents written so far after each batch (the job's page, the command's bar)."""
    return _rebuild(only_if_fresh=False, progress=progress)


def _rebuild(only_if_fresh: bool, progress: Callable[[int], None] | None = None) -> int:
    # A sync finding a new index waits no longer than a sync: the writer it waits for is
    # filling the index already.
    with _one_writer(SYNC_WAIT if only_if_fresh else REBUILD_WAIT) as session:
        if session is None and only_if_fresh:
            log.warning("search sync: the index is being filled by another writer")
            return 0
        if session is None:
            raise IndexBusy("another writer kept the search index for an hour")
        search = backend()
        if only_if_fresh and not getattr(search, "fresh", False):
            built = None  # another process filled it while this one waited
        else:
            # The rows pending now are covered by the documents read after them; rows committed
            # during the rebuild stay for the sync below.
            pending = list(session.scalars(sa.select(SearchOutbox.id)))
            search.clear()
            counter = [0]
            search.upsert(_all_documents(counter, progress), replace=False)
            finish = getattr(search, "optimize", None)
            if finish is not None:
                finish()
            _forget(session, pending)
            session.commit()
            built = counter[0]
    applied = _apply(SYNC_WAIT)
    return applied if built is None else built


def total_documents() -> int:
    """Rows a rebuild reads (documents it may write): the length of its progress bar."""
    models = [Need, Resource, ProduceListing]
    return sum(db.session.scalar(sa.select(sa.func.count()).select_from(m)) or 0 for m in models)


def _all_documents(
    counter: list[int], progress: Callable[[int], None] | None = None
) -> Iterator[SearchDocument]:
    """Every document, read in batches. A session of its own: the caller's objects stay as
    they are, and every region stays loaded for the whole run (documents name a place's
    ancestors; a lazy load per parent per batch was most of a rebuild's time)."""
    loads: list[tuple[Any, Any, Any]] = [
        (Need, need_document, (selectinload(Need.household),)),
        (Resource, resource_document,
         (selectinload(Resource.service_area), joinedload(Resource.organization))),
        (ProduceListing, listing_document,
         (selectinload(ProduceListing.household).selectinload(Household.members),
          selectinload(ProduceListing.members).selectinload(Household.members))),
    ]  # fmt: skip
    with Session(db.engine) as reader:
        keep = set(reader.scalars(sa.select(Region)))
        for model, document, options in loads:
            last = 0
            while True:
                batch: list[Any] = list(
                    reader.scalars(
                        sa.select(model).where(model.id > last).order_by(model.id)
                        .limit(BATCH).options(*options)
                    ).unique()
                )  # fmt: skip
                if not batch:
                    break
                for doc in map(document, batch):
                    if doc is not None:
                        counter[0] += 1
                        yield doc
                last = batch[-1].id
                if progress is not None:
                    progress(counter[0])
                for obj in list(reader):  # let the batch go; the regions stay
                    if obj not in keep and obj in reader:  # (a household takes its roster)
                        reader.expunge(obj)


def drift() -> list[str]:
    """The keys on which the index and the database disagree now: a document missing, one the
    database would not index, or one whose title or body differs. Reads everything."""
    stored = backend().contents()
    expected = {d.key: (d.title, d.body) for d in _all_documents([0])}
    return sorted(k for k in stored.keys() | expected.keys() if stored.get(k) != expected.get(k))


def search(query: SearchQuery) -> Any:
    return backend().search(query)
