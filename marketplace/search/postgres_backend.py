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
    "CREATE INDEX IF NOT EXISTS ix_search_document_created ON search_document"
    " (created_at DESC, id DESC)",
]
_WORD = re.compile(r"[\w\u4e00-\u9fff]+")
# Matches read per query: count, facets and ranking come from at most this many.
WINDOW = 1_000
# A document without the type lexeme was written before filters became lexemes.
OLD_FORMAT = (
    "SELECT 1 FROM search_document WHERE NOT (tsv @@ CAST('''type=need'' | ''type=resource''"
    " | ''type=listing''' AS tsquery)) LIMIT 1"
)
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
        self._fresh: bool | None = None

    @property
    def fresh(self) -> bool:
        """Documents written before filters became lexemes (an upgrade) need a rebuild; the
        next ``search sync`` does it. Checked once per process."""
        if self._fresh is None:
            with self.engine.connect() as conn:
                old = conn.execute(sa.text(OLD_FORMAT)).first()
            self._fresh = old is not None
        return self._fresh

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
                "filters": _filter_lexemes(d),
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
                    " to_tsvector('simple', :words) || array_to_tsvector(CAST(:filters AS TEXT[])))"
                    " ON CONFLICT (key) DO UPDATE SET"
                    " title = EXCLUDED.title, body = EXCLUDED.body, categories ="
                    " EXCLUDED.categories, regions = EXCLUDED.regions, kind = EXCLUDED.kind,"
                    " urgency = EXCLUDED.urgency, created_at = EXCLUDED.created_at,"
                    " tsv = EXCLUDED.tsv"
                ),
                rows,
            )

    def optimize(self) -> None:
        """After a rebuild: fresh planner statistics for the new lexemes."""
        with self.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE search_document"))
        self._fresh = False

    def delete(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        if keys:
            with self.engine.begin() as conn:
                conn.execute(sa.text("DELETE FROM search_document WHERE key = ANY(:keys)"),
                             {"keys": keys})  # fmt: skip

    def apply(self, documents: list[SearchDocument], deleted: list[str]) -> None:
        self.upsert(documents)
        self.delete(deleted)

    def clear(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM search_document"))

    def contents(self) -> dict[str, tuple[str, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT key, title, body FROM search_document"))
            return {key: (title, body) for key, title, body in rows}

    def search(self, query: SearchQuery) -> Results:
        # Every filter is a lexeme of the document's tsvector, so that one GIN scan finds
        # text and filters together, skipping through the long lists of broad filters.
        filters = [("type", query.type), ("category", query.category),
                   ("region", query.region_path), ("kind", query.kind),
                   ("urgency", query.urgency)]  # fmt: skip
        lexemes = [_filter_lexeme(name, str(value)) for name, value in filters if value]
        params: dict[str, object] = {"filters": " & ".join(_quote(x) for x in lexemes)}
        tsquery = _tsquery(query.text)
        where = ["tsv @@ CAST(:filters AS tsquery)"]
        if tsquery:
            where = ["tsv @@ (to_tsquery('simple', :q) && CAST(:filters AS tsquery))"]
            params["q"] = tsquery
        clause = " AND ".join(where)
        newest = query.sort == "newest" or not tsquery
        rank = "ts_rank(tsv, to_tsquery('simple', :q))" if tsquery else "0"
        order = "created_at DESC, id DESC" if newest else "rank DESC, created_at DESC, id DESC"
        page = max(query.page, 1)
        params.update(limit=query.page_size, offset=(page - 1) * query.page_size,
                      window=WINDOW + 1)  # fmt: skip
        # One statement: the first WINDOW + 1 matches are read once, and the count, the facets
        # and the page all come from them. Below the window everything is exact; above it the
        # total reads "N+" and a broad word at provincial scale costs what a narrow one does.
        statement = sa.text(
            f"WITH m AS MATERIALIZED (SELECT key, type, id, title, body, categories, kind,"
            f" created_at, {rank} AS rank FROM search_document WHERE {clause} LIMIT :window)"
            " SELECT (SELECT count(*) FROM m) AS total,"
            " (SELECT coalesce(json_object_agg(c, n), '{}') FROM (SELECT c, count(*) AS n"
            "  FROM m, unnest(m.categories) AS c GROUP BY c) AS x) AS categories,"
            " (SELECT coalesce(json_object_agg(kind, n), '{}') FROM (SELECT kind, count(*) AS n"
            "  FROM m GROUP BY kind) AS y) AS kinds,"
            " (SELECT coalesce(json_agg(p), '[]') FROM (SELECT key, type, id, title, body FROM m"
            f"  ORDER BY {order} LIMIT :limit OFFSET :offset) AS p) AS hits"
        )
        with self.engine.begin() as conn:
            # Exact bitmaps: with the default 4 MB a broad filter turns lossy and every page
            # of it is read and rechecked.
            conn.execute(sa.text("SET LOCAL work_mem = '64MB'"))
            total, categories, kinds, rows = conn.execute(statement, params).one()
            capped = int(total) > WINDOW
            if capped and newest:
                # Many matches: walking the date index finds the newest quickly (at least one
                # row in a thousand matches, so the walk is short).
                newest_page = sa.text(
                    f"SELECT key, type, id, title, body FROM search_document WHERE {clause}"
                    " ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset"
                )
                rows = [dict(r._mapping) for r in conn.execute(newest_page, params)]
        words = sorted({w for w in _lexemes(query.text) if len(w) > 1} | set(query.text.split()),
                       key=len, reverse=True)  # fmt: skip
        hits = [
            Hit(key=r["key"], type=r["type"], id=r["id"], title=r["title"],
                highlight=_highlight(r["body"] or r["title"], words))
            for r in rows
        ]  # fmt: skip
        return Results(
            hits=hits, total=min(int(total), WINDOW), capped=capped,
            facets={"category": dict(categories),
                    "kind": {k: n for k, n in kinds.items() if k != "-"}},
        )  # fmt: skip


def _filter_lexeme(name: str, value: str) -> str:
    # Characters the text lexemes never hold (the parser drops "="), so no word can collide.
    return f"{name}={value}"


def _filter_lexemes(d: SearchDocument) -> list[str]:
    values = [("type", d.type), ("kind", d.kind or "-"), ("urgency", str(d.urgency)),
              *(("category", c) for c in d.categories),
              *(("region", r) for r in d.region_paths)]  # fmt: skip
    return [_filter_lexeme(name, value) for name, value in values]


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _highlight(text: str, words: list[str]) -> str:
    snippet = str(escape(text[:160]))
    for word in words:
        safe = str(escape(word))
        if safe and safe in snippet:
            snippet = snippet.replace(safe, f"<b>{safe}</b>")
            break
    return snippet
