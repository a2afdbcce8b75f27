"""The search backend interface, and the query and result shapes both backends share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from marketplace.search.documents import SearchDocument

MAX_QUERY = 100  # characters; longer queries are cut, not refused
PAGE_SIZE = 20


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    type: str = "need"  # "need" | "resource"
    category: str | None = None
    region_path: str | None = None
    kind: str | None = None
    urgency: int | None = None
    sort: str = "relevance"  # "relevance" | "newest"
    page: int = 1
    page_size: int = PAGE_SIZE


@dataclass(frozen=True)
class Hit:
    key: str
    type: str
    id: int
    title: str
    highlight: str  # HTML with <b> around matches, already escaped


@dataclass(frozen=True)
class Results:
    hits: list[Hit]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)  # "category", "kind"
    capped: bool = False  # more matches than were counted: the total reads "N+"


class SearchBackend(Protocol):
    def upsert(self, documents: Iterable[SearchDocument], replace: bool = True) -> None: ...

    def delete(self, keys: Iterable[str]) -> None: ...

    def apply(self, documents: list[SearchDocument], deleted: list[str]) -> None:
        """Upsert these and delete those in one write (a sync's batch)."""
        ...

    def clear(self) -> None: ...

    def search(self, query: SearchQuery) -> Results: ...

    def contents(self) -> dict[str, tuple[str, str]]:
        """Every indexed document's key with its title and body: what a drift check compares
        with the database."""
        ...
