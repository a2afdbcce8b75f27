"""The embedded default: a Whoosh index under instance/, with jieba and pinyin."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

from marketplace.search.backend import Hit, Results, SearchQuery
from marketplace.search.documents import SearchDocument
from marketplace.search.text import pinyin_tokens, prepare

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # whoosh 2.7 has invalid escape sequences
    from jieba.analyse import ChineseAnalyzer
    from whoosh import highlight, index, sorting
    from whoosh.analysis import KeywordAnalyzer
    from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, TEXT, Schema
    from whoosh.qparser import MultifieldParser, OrGroup
    from whoosh.query import And, Every, Term

WRITE_TIMEOUT = 30.0  # seconds to wait for another process's writer lock


def schema() -> Schema:
    chinese = ChineseAnalyzer()
    return Schema(
        key=ID(stored=True, unique=True),
        type=ID(stored=True),
        id=NUMERIC(stored=True, bits=64),
        title=TEXT(analyzer=chinese, stored=True, field_boost=2.0),
        body=TEXT(analyzer=chinese, stored=True),
        tags=TEXT(analyzer=chinese),
        pinyin=TEXT(analyzer=KeywordAnalyzer(lowercase=True)),
        category=KEYWORD(stored=True, commas=True),
        # Single-valued sortable columns make facet counts cheap (no scan of every term).
        topcat=ID(sortable=True),
        region=KEYWORD(commas=True),
        kind=ID(stored=True, sortable=True),
        urgency=NUMERIC(stored=True),
        created=DATETIME(sortable=True),
    )


class WhooshBackend:
    def __init__(self, directory: Path) -> None:
        prepare()
        directory.mkdir(parents=True, exist_ok=True)
        if index.exists_in(str(directory)):
            self._index = index.open_dir(str(directory))
        else:
            self._index = index.create_in(str(directory), schema())

    def _writer(self, bulk: bool = False):  # type: ignore[no-untyped-def]
        # Whoosh's lock file admits one writer across processes; others wait their turn.
        if bulk:  # a rebuild: both cores, larger buffers
            return self._index.writer(procs=2, limitmb=256, multisegment=True,
                                      timeout=WRITE_TIMEOUT, delay=0.05)  # fmt: skip
        return self._index.writer(timeout=WRITE_TIMEOUT, delay=0.05)

    def upsert(self, documents: Iterable[SearchDocument], replace: bool = True) -> None:
        docs = list(documents)
        if not docs:
            return
        with self._writer(bulk=not replace) as writer:
            # After a clear (rebuild) nothing needs replacing: adding skips the look-up.
            write = writer.update_document if replace else writer.add_document
            for d in docs:
                write(
                    key=d.key, type=d.type, id=d.id, title=d.title, body=d.body, tags=d.tags,
                    pinyin=" ".join(sorted(set(pinyin_tokens(f"{d.title} {d.tags}")))),
                    category=",".join(d.categories), region=",".join(d.region_paths),
                    topcat=d.categories[0].split(".")[0] if d.categories else "-",
                    kind=d.kind or "-", urgency=d.urgency,
                    created=d.created_at.replace(tzinfo=None),
                )  # fmt: skip

    def optimize(self) -> None:
        """Merge the segments a bulk load leaves behind: queries read one segment again."""
        self._index.optimize()
        self._index = self._index.refresh()

    def delete(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        if not keys:
            return
        with self._writer() as writer:
            for key in keys:
                writer.delete_by_term("key", key)

    def clear(self) -> None:
        with self._writer() as writer:
            writer.delete_by_query(Every())

    def search(self, query: SearchQuery) -> Results:
        self._index = self._index.refresh()
        filters = [Term("type", query.type)]
        if query.category:
            filters.append(Term("category", query.category))
        if query.region_path:
            filters.append(Term("region", query.region_path))
        if query.kind:
            filters.append(Term("kind", query.kind))
        if query.urgency:
            filters.append(Term("urgency", query.urgency))
        words = query.text.strip()
        if words:
            parser = MultifieldParser(["title", "body", "tags", "pinyin"], self._index.schema,
                                      group=OrGroup.factory(0.0))  # fmt: skip
            terms = [parser.parse(w) for w in (_escape(word) for word in words.split()) if w]
            text_query = And(terms) if terms else Every()
        else:
            text_query = Every()
        final = And([text_query, *filters])
        with self._index.searcher() as searcher:
            sort = sorting.FieldFacet("created", reverse=True) if query.sort == "newest" else None
            facets = {"category": sorting.FieldFacet("topcat"), "kind": sorting.FieldFacet("kind")}
            page = searcher.search_page(
                final, max(query.page, 1), pagelen=query.page_size, sortedby=sort,
                groupedby=facets, terms=True,
            )  # fmt: skip
            page.results.fragmenter = highlight.ContextFragmenter(maxchars=120, surround=40)
            page.results.formatter = highlight.HtmlFormatter(tagname="b", between="…")
            hits = [
                Hit(key=h["key"], type=h["type"], id=h["id"], title=h["title"],
                    highlight=h.highlights("body") or h.highlights("title")
                    or _escape_html(h["body"][:120]))
                for h in page
            ]  # fmt: skip
            groups = {
                name: {str(k): len(v) for k, v in page.results.groups(name).items() if k not in
                       (None, "-")}
                for name in facets
            }  # fmt: skip
            return Results(hits=hits, total=page.total, facets=groups)


_SYNTAX = str.maketrans({c: " " for c in "\\\"'()[]{}<>:*?^~+!-/=&|"})
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO"}


def _escape(word: str) -> str:
    """A user's word with the query syntax taken out: it is searched as plain text."""
    parts = word.translate(_SYNTAX).split()
    return " ".join(p.lower() if p in _OPERATORS else p for p in parts)


def _escape_html(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))
