"""Chinese full-text search: what people type finds what they expect, in both backends; the
index follows every change and never holds personal data."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.demo import load_demo
from marketplace.households.models import Household
from marketplace.needs.models import Need, NeedStatus
from marketplace.regions.models import Region
from marketplace.resources.models import Resource
from marketplace.search import services
from marketplace.search.backend import SearchQuery

EXPECTATIONS = [
    # (query, type, words every hit's title or tags must relate to)
    ("洗衣机", "need", "洗衣机"),
    ("xiyiji", "need", "洗衣机"),
    ("xyj", "need", "洗衣机"),
    ("助学", "need", "助学"),
]


@pytest.fixture(scope="module")
def demo_index(app: Any) -> Any:
    with app.app_context():
        load_demo()
        from marketplace.extensions import db

        db.session.commit()
        services.rebuild()
    yield
    with app.test_request_context():
        from tests.conftest import _clean

        _clean(app)
        services.backend().clear()


@pytest.fixture
def ctx(app: Any, demo_index: Any) -> Any:
    """The demo database without the per-test clean-up (the module's fixture owns it)."""
    from marketplace.extensions import db

    with app.test_request_context():
        yield db
        db.session.rollback()


def _titles(results: Any) -> list[str]:
    return [h.title for h in results.hits]


@pytest.mark.parametrize(("text", "kind", "expected"), EXPECTATIONS)
def test_demo_searches_in_whoosh(ctx: Any, text: str, kind: str,
                                 expected: str) -> None:  # fmt: skip
    results = services.search(SearchQuery(text=text, type=kind))
    assert results.total > 0
    assert all(expected in t for t in _titles(results)[:10]), _titles(results)[:10]


def test_region_and_category_words_together(ctx: Any) -> None:
    db = ctx
    results = services.search(SearchQuery(text="靖远 家电", type="need", page_size=50))
    assert results.total > 0
    for hit in results.hits:
        need = db.session.get(Need, hit.id)
        assert need.category == "necessities"
        assert "靖远县" in need.village.full_name
    resources = services.search(SearchQuery(text="洗衣机", type="resource"))
    assert any("洗衣机" in t for t in _titles(resources))


def test_filters_facets_highlight_and_sort(ctx: Any) -> None:
    db = ctx
    plain = services.search(SearchQuery(text="", type="need"))
    assert plain.total == db.session.scalar(
        sa.select(sa.func.count(Need.id)).where(Need.status == NeedStatus.VERIFIED,
                                                Need.open_quantity > 0))  # fmt: skip
    assert sum(n for c, n in plain.facets["category"].items() if "." not in c) == plain.total
    jingyuan = db.session.scalar(sa.select(Region.path).where(Region.code == "620421000000"))
    only = services.search(
        SearchQuery(text="", type="need", region_path=jingyuan, category="education")
    )
    for hit in only.hits:
        need = db.session.get(Need, hit.id)
        assert need.category == "education" and need.village.path.startswith(jingyuan)
    washers = services.search(SearchQuery(text="洗衣机", type="need"))
    assert "洗衣机</b>" in "".join(h.highlight for h in washers.hits)
    newest = services.search(SearchQuery(text="", type="need", sort="newest", page_size=5))
    ids = [h.id for h in newest.hits]
    created = [db.session.get(Need, i).created_at for i in ids]
    assert created == sorted(created, reverse=True)
    second = services.search(SearchQuery(text="", type="need", page=2, page_size=5))
    assert not set(ids) & {h.id for h in second.hits}


def test_no_personal_data_in_the_index(ctx: Any) -> None:
    db = ctx
    household = db.session.scalar(sa.select(Household).order_by(Household.id))
    for text in (household.head_name, household.head_id_number, household.phone):
        assert services.search(SearchQuery(text=text, type="need")).total == 0


@pytest.mark.parametrize(
    "q",
    ["", "   ", "x" * 5000, 'AND OR NOT "(', "*", "洗衣机:title", "[1 TO 3]",
     "\\", "'; DROP TABLE need; --"],
)  # fmt: skip
def test_bad_queries_never_fail(ctx: Any, app: Any, q: str) -> None:
    client = app.test_client()
    response = client.get("/search", query_string={"q": q})
    assert response.status_code == 200
    api = client.get("/api/v1/search", query_string={"q": q, "category": "nope", "region": "x",
                                                       "type": "planet", "page": "-3"})  # fmt: skip
    assert api.status_code == 200
    assert len(api.get_json()["notes"]) == 3


def test_nul_bytes_get_a_clear_400(ctx: Any, app: Any) -> None:
    client = app.test_client()
    response = client.get("/search", query_string={"q": "a\x00b"})
    assert response.status_code == 400
    assert "NUL" in response.data.decode()
    assert client.get("/api/v1/search", query_string={"q": "\x00"}).get_json()["status"] == 400


def test_search_page_and_api(ctx: Any, app: Any) -> None:
    client = app.test_client()
    page = client.get("/search?q=洗衣机").data.decode()
    assert "<mark>洗衣机</mark>" in page  # the page marks the words found (test_results_page)
    api = client.get("/api/v1/search?q=xiyiji&type=need").get_json()
    assert api["total"] > 0 and api["facets"]["category"]


# --- the PostgreSQL backend -------------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_backend_finds_the_same(ctx: Any, pg_url: str) -> None:
    db = ctx
    from marketplace.search.postgres_backend import PostgresBackend
    from marketplace.search.services import document_for

    engine = sa.create_engine(pg_url)
    try:
        backend = PostgresBackend(engine)
        backend.create_table()
        backend.clear()
        keys = [f"need:{i}" for i in db.session.scalars(sa.select(Need.id))]
        keys += [f"resource:{i}" for i in db.session.scalars(sa.select(Resource.id))]
        backend.upsert(d for d in (document_for(k) for k in keys) if d)
        assert not PostgresBackend(engine).fresh
        with engine.begin() as conn:  # a document as written before filters were lexemes
            first = conn.execute(sa.text("SELECT min(key) FROM search_document")).scalar_one()
            conn.execute(sa.text("UPDATE search_document SET tsv = to_tsvector('simple', title)"
                                 " WHERE key = :key"), {"key": first})  # fmt: skip
        assert PostgresBackend(engine).fresh
        backend.upsert([document_for(first)])
        assert not PostgresBackend(engine).fresh
        for text, kind, expected in EXPECTATIONS:
            results = backend.search(SearchQuery(text=text, type=kind))
            assert results.total > 0, text
            assert all(expected in t for t in _titles(results)[:10]), (text, _titles(results))
        both = backend.search(SearchQuery(text="靖远 家电", type="need", page_size=50))
        assert both.total > 0
        assert all(db.session.get(Need, h.id).category == "necessities" for h in both.hits)
        for q in ("", 'AND "(', "a\x00b".replace("\x00", ""), "*:*", "'; DROP"):
            backend.search(SearchQuery(text=q, type="need"))
        household = db.session.scalar(sa.select(Household).order_by(Household.id))
        assert backend.search(SearchQuery(text=household.head_name)).total == 0
        # Broad queries read at most WINDOW matches and say so; newest-first stays exact.
        from marketplace.search import postgres_backend

        full = backend.search(SearchQuery(text="", type="need"))
        assert not full.capped and full.total > 5
        saved, postgres_backend.WINDOW = postgres_backend.WINDOW, 5
        try:
            capped = backend.search(SearchQuery(text="", type="need"))
            second = backend.search(SearchQuery(text="", type="need", page=2))
            washers = backend.search(SearchQuery(text="洗衣机", type="need"))
        finally:
            postgres_backend.WINDOW = saved
        assert capped.capped and capped.total == 5 and len(capped.hits) == min(20, full.total)
        assert [h.id for h in capped.hits] == [h.id for h in full.hits]
        exact_second = backend.search(SearchQuery(text="", type="need", page=2))
        assert [h.id for h in second.hits] == [h.id for h in exact_second.hits]
        assert washers.hits and all("洗衣机" in h.title for h in washers.hits)
        backend.delete(keys)
        assert backend.search(SearchQuery(text="洗衣机")).total == 0
    finally:
        engine.dispose()
