"""PostgreSQL full text over jieba-segmented text ('simple' configuration, GIN index), so that
several app servers share one index."""

from __future__ import annotations

import re
from collections.abc import Iterable

import sqlalchemy as sa
from markupsafe import escape

from marketplace.search.backend import Hit, Results, SearchQuery
from marketplace.search.documents import SearchDocument
from marketplace.search.text import pinyin_tokens, segment

# Created by migration 0003 on PostgreSQL only; it is not part of the ORM metadata.
DDL = [
    """CREATE TABLE IF NOT EXISTS search_document (
        key VARCHAR(40) PRIMARY KEY, type VARCHAR(10) NOT NULL, id BIGINT NOT NULL,
        title TEXT NOT NULL, body TEXT NOT NULL, categories TEXT[] NOT NULL,
        regions TEXT[] NOT NULL, kind VARCHAR(20) NOT NULL, urgency INTEGER NOT NULL,
        created_at TIMESTAMPTZ NOT NULL, tsv TSVECTOR NOT NULL)""",
    *(
        f"CREATE INDEX IF NOT EXISTS ix_search_document_{column} ON search_document"
        f" USING GIN ({column})"
        for column in ("tsv", "categories", "regions")
    ),
]
_WORD = re.compile(r"[\w\u4e00-\u9fff]+")
COUNT_CAP = 10_000
UPSERT_BATCH = 2_000


def _lexemes(text: str) -> list[str]:
    return [w.lower() for token in segment(text) for w in _WORD.findall(token)]


def _tsquery(text: str) -> str:
    """Each typed word: any of its segments (or its pinyin); all words must match."""
    groups = []
    for word in text.split():
        options = set(_lexemes(word))
        if word.isascii():
            options |= {w.lower() for w in _WORD.findall(word)}
        if options:
            groups.append("(" + " | ".join(sorted(options)) + ")")
    return " & ".join(groups)


class PostgresBackend:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def create_table(self) -> None:
        with self.engine.begin() as conn:
            for statement in DDL:
                conn.execute(sa.text(statement))

    def upsert(self, documents: Iterable[SearchDocument], replace: bool = True) -> None:
        batch: list[SearchDocument] = []
        for document in documents:
            batch.append(document)
            if len(batch) == UPSERT_BATCH:
                self._upsert(batch)
                batch = []
        if batch:
            self._upsert(batch)

    def _upsert(self, documents: list[SearchDocument]) -> None:
        rows = [
            {
                "key": d.key, "type": d.type, "id": d.id, "title": d.title, "body": d.body,
                "categories": list(d.categories), "regions": list(d.region_paths),
                "kind": d.kind or "-", "urgency": d.urgency, "created_at": d.created_at,
                # Segmented part by part: titles, bodies and tags repeat, and each is cut once.
                "words": " ".join([*_lexemes(d.title), *_lexemes(d.body),
                                   *(w for tag in d.tags.split() for w in _lexemes(tag)),
                                   *pinyin_tokens(d.title), *pinyin_tokens(d.tags)]),
            }
            for d in documents
        ]  # fmt: skip
        if not rows:
            return
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO search_document (key, type, id, title, body, categories, regions,"
                    " kind, urgency, created_at, tsv) VALUES (:key, :type, :id, :title, :body,"
                    " :categories, :regions, :kind, :urgency, :created_at,"
                    " to_tsvector('simple', :words)) ON CONFLICT (key) DO UPDATE SET"
                    " title = EXCLUDED.title, body = EXCLUDED.body, categories ="
                    " EXCLUDED.categories, regions = EXCLUDED.regions, kind = EXCLUDED.kind,"
                    " urgency = EXCLUDED.urgency, created_at = EXCLUDED.created_at,"
                    " tsv = EXCLUDED.tsv"
                ),
                rows,
            )

    def delete(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        if keys:
            with self.engine.begin() as conn:
                conn.execute(sa.text("DELETE FROM search_document WHERE key = ANY(:keys)"),
                             {"keys": keys})  # fmt: skip

    def clear(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM search_document"))

    def search(self, query: SearchQuery) -> Results:
        where = ["type = :type"]
        params: dict[str, object] = {"type": query.type}
        tsquery = _tsquery(query.text)
        if tsquery:
            where.append("tsv @@ to_tsquery('simple', :q)")
            params["q"] = tsquery
        for column, value in (("categories", query.category), ("regions", query.region_path)):
            if value:
                where.append(f":{column} = ANY({column})")
                params[column] = value
        if query.kind:
            where.append("kind = :kind")
            params["kind"] = query.kind
        if query.urgency:
            where.append("urgency = :urgency")
            params["urgency"] = query.urgency
        clause = " AND ".join(where)
        if query.sort == "newest" or not tsquery:
            order = "created_at DESC, id DESC"
        else:
            order = "ts_rank(tsv, to_tsquery('simple', :q)) DESC, id"
        page = max(query.page, 1)
        params.update(limit=query.page_size, offset=(page - 1) * query.page_size)
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(
                f"SELECT key, type, id, title, body FROM search_document WHERE {clause}"
                f" ORDER BY {order} LIMIT :limit OFFSET :offset"), params).all()  # fmt: skip
            # Totals and facets are counted over at most COUNT_CAP matches: a broad word at
            # provincial scale would otherwise read every match on every query.
            capped = (f"(SELECT categories, kind FROM search_document WHERE {clause}"
                      f" LIMIT {COUNT_CAP + 1}) AS m")  # fmt: skip
            total = conn.execute(sa.text(f"SELECT count(*) FROM {capped}"), params).scalar_one()
            categories = conn.execute(sa.text(
                f"SELECT c, count(*) FROM {capped}, unnest(m.categories) AS c GROUP BY c"),
                params).all()  # fmt: skip
            kinds = conn.execute(sa.text(f"SELECT kind, count(*) FROM {capped} GROUP BY kind"),
                                 params).all()  # fmt: skip
        words = sorted({w for w in _lexemes(query.text) if len(w) > 1} | set(query.text.split()),
                       key=len, reverse=True)  # fmt: skip
        hits = [Hit(key=r.key, type=r.type, id=r.id, title=r.title,
                    highlight=_highlight(r.body or r.title, words)) for r in rows]  # fmt: skip
        return Results(
            hits=hits, total=min(int(total), COUNT_CAP), capped=int(total) > COUNT_CAP,
            facets={"category": {c: n for c, n in categories},
                    "kind": {k: n for k, n in kinds if k != "-"}},
        )  # fmt: skip


def _highlight(text: str, words: list[str]) -> str:
    snippet = str(escape(text[:160]))
    for word in words:
        safe = str(escape(word))
        if safe and safe in snippet:
            snippet = snippet.replace(safe, f"<b>{safe}</b>")
            break
    return snippet
