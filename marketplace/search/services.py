"""Keeping the index in step with the database, and searching it.

Every flush that touches a need, a resource or an organization writes outbox rows in the same
transaction; ``sync`` applies them after commit (each request does, and ``marketplace search
sync`` for anything left over, e.g. after a crash). Rebuild reads everything again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, joinedload, selectinload

from marketplace.accounts.models import Organization
from marketplace.extensions import db
from marketplace.needs.models import Need
from marketplace.regions.models import Region
from marketplace.resources.models import Resource
from marketplace.search.backend import SearchBackend, SearchQuery
from marketplace.search.documents import SearchDocument, need_document, resource_document
from marketplace.search.models import SearchOutbox
from marketplace.signals import capacity_changed, status_moved

_backends: dict[str, SearchBackend] = {}
_lock = threading.Lock()
BATCH = 5000


def backend() -> SearchBackend:
    """The configured backend, one per process and location."""
    kind = current_app.config.get("SEARCH_BACKEND", "whoosh")
    if kind == "postgres":
        key = f"postgres:{db.engine.url}"
    else:
        key = f"whoosh:{current_app.config['INSTANCE_DIR']}"
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
        elif isinstance(obj, Organization) and obj in session.dirty and obj.id is not None:
            with session.no_autoflush:
                rows = session.execute(
                    sa.select(Resource.id).where(Resource.organization_id == obj.id)
                )
                keys.update(f"resource:{i}" for (i,) in rows)
    if keys:
        session.execute(sa.insert(SearchOutbox), [{"key": k} for k in sorted(keys)])
        session.info["search_dirty"] = True


def document_for(key: str) -> SearchDocument | None:
    """The document an outbox key stands for now (None: it must leave the index)."""
    kind, _sep, raw = key.partition(":")
    if not raw.isdigit():
        return None
    if kind == "need":
        need = db.session.get(Need, int(raw))
        return need_document(need) if need else None
    resource = db.session.get(Resource, int(raw))
    return resource_document(resource) if resource else None


def sync() -> int:
    """Apply every pending outbox row; idempotent. Returns the number of keys applied. A new,
    empty index (first run, or a new schema) is filled by a rebuild instead."""
    if getattr(backend(), "fresh", False):
        return rebuild()
    applied = 0
    while True:
        rows = db.session.execute(
            sa.select(SearchOutbox.id, SearchOutbox.key).order_by(SearchOutbox.id).limit(BATCH)
        ).all()
        if not rows:
            break
        keys = sorted({key for _id, key in rows})
        docs = {key: document_for(key) for key in keys}
        search = backend()
        search.upsert(d for d in docs.values() if d is not None)
        search.delete(key for key, d in docs.items() if d is None)
        db.session.execute(sa.delete(SearchOutbox).where(SearchOutbox.id <= rows[-1][0]))
        db.session.commit()
        applied += len(keys)
    db.session.info.pop("search_dirty", None)
    return applied


def rebuild() -> int:
    """Index everything again from the database, in one pass of one writer."""
    search = backend()
    search.clear()
    counter = [0]
    search.upsert(_all_documents(counter), replace=False)
    finish = getattr(search, "optimize", None)
    if finish is not None:
        finish()
    db.session.execute(sa.delete(SearchOutbox))
    db.session.commit()
    return counter[0]


def _all_documents(counter: list[int]) -> Iterator[SearchDocument]:
    """Every document, read in batches. A session of its own: the caller's objects stay as
    they are, and every region stays loaded for the whole run (documents name a place's
    ancestors; a lazy load per parent per batch was most of a rebuild's time)."""
    loads: list[tuple[Any, Any, Any]] = [
        (Need, need_document, (selectinload(Need.household),)),
        (Resource, resource_document,
         (selectinload(Resource.service_area), joinedload(Resource.organization))),
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
                for obj in list(reader):  # let the batch go; the regions stay
                    if obj not in keep:
                        reader.expunge(obj)


def search(query: SearchQuery) -> Any:
    return backend().search(query)
