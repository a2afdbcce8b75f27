"""The embedded default: a Whoosh index under instance/, with jieba and pinyin."""

from __future__ import annotations

import math
import re
import threading
import warnings
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from marketplace.search.backend import Hit, Results, SearchQuery
from marketplace.search.documents import SearchDocument
from marketplace.search.text import pinyin_tokens, prepare

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # whoosh 2.7 has invalid escape sequences
    import jieba
    from jieba.analyse.analyzer import STOP_WORDS
    from whoosh import highlight, index
    from whoosh.analysis import LowercaseFilter, StopFilter, Token, Tokenizer
    from whoosh.columns import NumericColumn
    from whoosh.fields import COLUMN, ID, KEYWORD, STORED, TEXT, Schema
    from whoosh.query import Every
    from whoosh.reading import TermNotFound

WRITE_TIMEOUT = 30.0  # seconds to wait for another process's writer lock
FIELD_BOOST = {"title": 2.0, "body": 1.0, "tags": 1.0, "pinyin": 1.0}
MAX_CACHED_TERMS = 5000  # posting lists kept per index generation
# The schema's version names the index directory: a changed schema starts a new index, which
# the next sync fills by a rebuild.
SCHEMA_VERSION = 2
_CJK_OR_LONG = re.compile(r"[\u4E00-\u9FD5]+")


@lru_cache(maxsize=200_000)
def _jieba_tokens(text: str) -> tuple[tuple[str, int, int], ...]:
    # Titles, category labels and place names repeat across documents: cut each once.
    return tuple(
        (word, start, end)
        for word, start, end in jieba.tokenize(text, mode="search")
        if _CJK_OR_LONG.match(word) or len(word) > 1
    )


class CachedChineseTokenizer(Tokenizer):  # type: ignore[misc]
    """jieba's Whoosh tokenizer (search mode, the same tokens), with a cache of cut texts."""

    def __call__(self, value: str, **_options: object):  # type: ignore[no-untyped-def]
        token = Token()
        for word, start, end in _jieba_tokens(value):
            token.original = token.text = word
            token.pos = token.startchar = start
            token.endchar = end
            yield token


def chinese_analyzer():  # type: ignore[no-untyped-def]
    return (CachedChineseTokenizer() | LowercaseFilter()
            | StopFilter(stoplist=STOP_WORDS, minsize=1))  # fmt: skip


def schema() -> Schema:
    chinese = chinese_analyzer()
    return Schema(
        key=ID(stored=True, unique=True),
        type=ID(stored=True),
        id=STORED(),
        # Positions only where phrases and highlights need them; the rest indexes words only.
        title=TEXT(analyzer=chinese, stored=True, field_boost=2.0),
        body=TEXT(analyzer=chinese, stored=True, phrase=False),
        tags=TEXT(analyzer=chinese, phrase=False),
        pinyin=KEYWORD(lowercase=True, scorable=True),
        category=KEYWORD(commas=True),
        region=KEYWORD(commas=True),
        # Single-valued sortable columns make facet counts cheap (no scan of every term).
        topcat=ID(sortable=True),
        kind=ID(sortable=True),
        urgency=ID(),
        # Sorting only: a column, no indexed terms.
        created=COLUMN(NumericColumn("q")),
    )


def _fields(d: SearchDocument) -> dict[str, object]:
    return {
        "key": d.key, "type": d.type, "id": d.id, "title": d.title, "body": d.body, "tags": d.tags,
        "pinyin": " ".join(sorted(set(pinyin_tokens(f"{d.title} {d.tags}")))),
        "category": ",".join(d.categories), "region": ",".join(d.region_paths),
        "topcat": d.categories[0].split(".")[0] if d.categories else "-",
        "kind": d.kind or "-", "urgency": str(d.urgency),
        "created": int(d.created_at.timestamp() * 1_000_000),  # microseconds, for order
    }  # fmt: skip


class WhooshBackend:
    def __init__(self, directory: Path) -> None:
        prepare()
        directory = directory.with_name(f"{directory.name}-v{SCHEMA_VERSION}")
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._current: _View | None = None
        self.fresh = not index.exists_in(str(directory))
        if self.fresh:
            self._index = index.create_in(str(directory), schema())
        else:
            self._index = index.open_dir(str(directory))

    def _writer(self, bulk: bool = False):  # type: ignore[no-untyped-def]
        # Whoosh's lock file admits one writer across processes; others wait their turn. One
        # process writes: Whoosh's multiprocess writer was slower here (pickling, merging).
        return self._index.writer(limitmb=256 if bulk else 64, timeout=WRITE_TIMEOUT, delay=0.05)

    def upsert(self, documents: Iterable[SearchDocument], replace: bool = True) -> None:
        docs = iter(documents)
        first = next(docs, None)
        if first is None:
            return
        with self._writer(bulk=not replace) as writer:
            # After a clear (rebuild) nothing needs replacing: adding skips the look-up.
            write = writer.update_document if replace else writer.add_document
            write(**_fields(first))
            for d in docs:
                write(**_fields(d))
        self.fresh = False

    def optimize(self) -> None:
        """Merge the segments a bulk load leaves behind: queries read one segment again."""
        self._index.optimize()
        self._index = self._index.refresh()
        self.fresh = False  # rebuilt, even if there was nothing to index

    def delete(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        if not keys:
            return
        with self._writer() as writer:
            for key in keys:
                writer.delete_by_term("key", key)

    def apply(self, documents: list[SearchDocument], deleted: list[str]) -> None:
        if not documents and not deleted:
            return
        with self._writer() as writer:  # one commit (a new segment) per batch, not two
            for d in documents:
                writer.update_document(**_fields(d))
            for key in deleted:
                writer.delete_by_term("key", key)
        self.fresh = False

    def clear(self) -> None:
        with self._writer() as writer:
            writer.delete_by_query(Every())

    def contents(self) -> dict[str, tuple[str, str]]:
        with self._index.searcher() as searcher:  # the latest committed generation
            return {
                f["key"]: (f["title"], f["body"]) for f in searcher.reader().all_stored_fields()
            }

    def search(self, query: SearchQuery) -> Results:
        with self._lock:
            view = self._view()
            filters = [("type", query.type)]
            for name, value in (("category", query.category), ("region", query.region_path),
                                ("kind", query.kind), ("urgency", query.urgency)):  # fmt: skip
                if value:
                    filters.append((name, str(value)))
            allowed = view.alive.copy()
            for name, value in filters:
                allowed &= view.docs(name, value, as_mask=True)
            words = [w for w in (_escape(word) for word in query.text.strip().split()) if w]
            scores = np.zeros(allowed.size)
            terms: set[str] = set()
            for word in words:
                # A document matches a word when any field holds any of its tokens; it must
                # match every word. Its score adds the idf of what it holds, titles twice.
                holds = np.zeros(allowed.size, dtype=bool)
                for field, token in self._word_terms(word):
                    docs = view.docs(field, token)
                    holds[docs] = True
                    if docs.size:
                        scores[docs] += FIELD_BOOST[field] * (
                            1.0 + math.log(allowed.size / (1.0 + docs.size))
                        )
                        terms.add(token)
                allowed &= holds
            matched = np.flatnonzero(allowed)
            facets = {
                "category": view.counts("topcat", matched),
                "kind": view.counts("kind", matched),
            }
            if words and query.sort != "newest":
                order = np.lexsort((-view.created[matched], -np.round(scores[matched], 9)))
            else:
                order = np.lexsort((-matched, -view.created[matched]))
            start = (max(query.page, 1) - 1) * query.page_size
            page = matched[order][start : start + query.page_size]
            hits = [self._hit(view.searcher.stored_fields(int(d)), terms) for d in page]
            return Results(hits=hits, total=int(matched.size), facets=facets)

    def _word_terms(self, word: str) -> list[tuple[str, str]]:
        """The indexed terms one typed word can match, field by field (as the parser would)."""
        schema = self._index.schema
        found = [
            (field, token)
            for field in ("title", "body", "tags", "pinyin")
            for token in schema[field].process_text(word, mode="query")
        ]
        return list(dict.fromkeys(found))

    def _hit(self, fields: dict[str, Any], terms: set[str]) -> Hit:
        analyzer = self._index.schema["body"].analyzer
        marked = ""
        for name in ("body", "title"):
            text = fields[name]
            present = {t for t in terms if t in text}
            # Overlapping tokens (洗衣 inside 洗衣机): mark the longest, not a piece of it.
            longest = frozenset(t for t in present if not any(t != u and t in u for u in present))
            if longest:
                marked = highlight.highlight(text, longest, analyzer, FRAGMENTER, FORMATTER)
                if marked:
                    break
        return Hit(key=fields["key"], type=fields["type"], id=fields["id"], title=fields["title"],
                   highlight=marked or _escape_html(fields["body"][:120]))  # fmt: skip

    def forget_cache(self, filters: bool = False) -> None:
        """Drop the cached posting lists of words (and of filters too, if asked): benchmarks
        measure queries whose words were never searched before."""
        with self._lock:
            if self._current is not None:
                self._current.forget(filters)

    def _view(self) -> _View:
        """The searcher and its arrays, kept until the index changes."""
        if self._current is None or not self._current.searcher.up_to_date():
            if self._current is not None:
                self._current.searcher.close()
            self._index = self._index.refresh()
            self._current = _View(self._index.searcher())
        return self._current


def _column(reader: Any, name: str) -> list[Any]:
    """A column's values; an index with no segment yet (nothing ever indexed) has none."""
    if reader.doc_count_all():
        return list(reader.column_reader(name))
    return []


class _View:
    """One generation of the index: its searcher, per-document columns as numpy arrays, and
    the documents of each filter value (cached), so that filters and facet counts are array
    operations instead of a walk through postings for every query."""

    def __init__(self, searcher: Any) -> None:
        self.searcher = searcher
        reader = searcher.reader()
        size = reader.doc_count_all()
        self.alive = np.zeros(size, dtype=bool)
        self.alive[list(reader.all_doc_ids())] = True
        self.created = np.array(_column(reader, "created"), dtype=np.int64)
        self._codes: dict[str, tuple[np.ndarray, list[str]]] = {}
        for name in ("topcat", "kind"):
            values = _column(reader, name)
            labels = sorted({str(v) for v in values})
            index = {label: i for i, label in enumerate(labels)}
            self._codes[name] = (np.array([index[str(v)] for v in values], np.int64), labels)
        self._postings: dict[tuple[str, str], np.ndarray] = {}
        self._masks: dict[tuple[str, str], np.ndarray] = {}

    def docs(self, field: str, value: str, as_mask: bool = False) -> np.ndarray:
        """The live documents holding a term, as sorted numbers or as a mask (cached)."""
        key = (field, value)
        if key not in self._postings:
            if len(self._postings) > MAX_CACHED_TERMS:
                self.forget()
            try:
                ids = self.searcher.reader().postings(field, value).all_ids()
                found = np.fromiter(ids, np.int64)
            except TermNotFound:
                found = np.zeros(0, dtype=np.int64)
            self._postings[key] = found[self.alive[found]]
        if not as_mask:
            return self._postings[key]
        if key not in self._masks:
            mask = np.zeros(self.alive.size, dtype=bool)
            mask[self._postings[key]] = True
            self._masks[key] = mask
        return self._masks[key]

    def forget(self, filters: bool = True) -> None:
        if filters:
            self._postings.clear()
            self._masks.clear()
            return
        for key in [k for k in self._postings if k[0] in FIELD_BOOST]:
            del self._postings[key]

    def counts(self, name: str, docs: np.ndarray) -> dict[str, int]:
        codes, labels = self._codes[name]
        tally = np.bincount(codes[docs], minlength=len(labels))
        return {
            labels[i]: int(n) for i, n in enumerate(tally) if n and labels[i] not in ("-", "None")
        }


_SYNTAX = str.maketrans({c: " " for c in "\\\"'()[]{}<>:*?^~+!-/=&|"})
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO"}


def _escape(word: str) -> str:
    """A user's word with the query syntax taken out: it is searched as plain text."""
    parts = word.translate(_SYNTAX).split()
    return " ".join(p.lower() if p in _OPERATORS else p for p in parts)


def _escape_html(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


FRAGMENTER = highlight.ContextFragmenter(maxchars=120, surround=40)
FORMATTER = highlight.HtmlFormatter(tagname="b", between="…")
