"""A warm, process-wide index of resources, for "best resources for this need".

Loading every public resource through the ORM on each request costs seconds at provincial
scale; instead each process keeps a ``matching.ResourceIndex`` and asks the database one cheap
question per request: has any resource or organization changed since? Resources changed since
the last look are re-read and replaced in the index; a removed resource or a changed
organization rebuilds it. Several processes each keep their own copy, kept current the same
way.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload, selectinload

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


SWEEP_SECONDS = 60
_CREATE = threading.Lock()  # one index per application, even when threads race to make it


class WarmResources:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._index = ResourceIndex()
        self._version: Version | None = None
        self._swept = 0.0

    @staticmethod
    def _current() -> Version:
        resources = db.session.execute(
            sa.select(
                sa.func.count(Resource.id),
                sa.func.max(Resource.id),
                sa.func.max(Resource.updated_at),
            )
        ).one()
        organizations = db.session.execute(
            sa.select(sa.func.count(Organization.id), sa.func.max(Organization.updated_at))
        ).one()
        return Version(resources[0], resources[1] or 0, resources[2], *organizations)

    @staticmethod
    def _load(query: sa.Select[Any]) -> list[Resource]:
        return list(
            db.session.scalars(
                query.options(
                    selectinload(Resource.service_area), joinedload(Resource.organization)
                )
            ).unique()
        )

    def _refresh(self) -> None:
        now = self._current()
        old = self._version
        if old == now:
            if time.monotonic() - self._swept < SWEEP_SECONDS or old.resources_changed is None:
                return
            # A transaction that commits after a later one leaves the version unchanged: a
            # periodic sweep re-reads what changed lately, so nothing stays stale for long.
            since = old.resources_changed - timedelta(seconds=2 * SWEEP_SECONDS)
            for resource in self._load(sa.select(Resource).where(Resource.updated_at >= since)):
                self._index.add(resource_view(resource))
            self._swept = time.monotonic()
            return
        grown_only = (
            old is not None
            and now.organizations == old.organizations
            and now.organizations_changed == old.organizations_changed
            and now.resources >= old.resources
            and now.last_resource_id >= old.last_resource_id
            and now.resources - old.resources == now.last_resource_id - old.last_resource_id
        )
        if grown_only and old is not None and old.resources_changed is not None:
            changed = self._load(
                sa.select(Resource).where(
                    sa.or_(Resource.updated_at >= old.resources_changed,
                           Resource.id > old.last_resource_id)
                )
            )  # fmt: skip
            for resource in changed:
                self._index.add(resource_view(resource))
        else:
            fresh = ResourceIndex()
            fresh.add_many([resource_view(r) for r in self._load(sa.select(Resource))])
            self._index = fresh
        self._version = now
        self._swept = time.monotonic()

    def top(self, need: NeedView, weights: Weights, today: date, limit: int) -> list[Scored]:
        with self._lock:
            self._refresh()
            return self._index.top(need, weights, today, limit)


def warm_resources() -> WarmResources:
    """The process's warm index (one per application)."""
    extensions = current_app.extensions
    if "warm_resources" not in extensions:
        with _CREATE:
            extensions.setdefault("warm_resources", WarmResources())
    warm: WarmResources = extensions["warm_resources"]
    return warm
