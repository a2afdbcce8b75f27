"""Statements per request stay bounded (issue 17): each page type, over the demo, runs at most
a small fixed number of SQL statements, so an N+1 (a query per row of a list) cannot creep
back unnoticed. The limits are today's counts with a little room; a page that needs more
should say why here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.demo import DEMO_PASSWORD, load_demo
from marketplace.extensions import db as _db
from marketplace.models import Household, Need, Region, Resource
from marketplace.needs.models import NeedStatus
from tests.conftest import JINGYUAN, _clean

# (who signs in, the page) -> the most statements it may run
LIMITS: dict[tuple[str | None, str], int] = {
    (None, "/"): 20,  # the figures, the needs waiting and the latest deliveries (issue 14)
    (None, "/disclosure"): 15,
    (None, "/search?q=洗衣机"): 10,  # the places of the hits read at once
    (None, "need"): 10,
    (None, "resource"): 6,
    ("appliance", "/needs/browse"): 14,  # with the progress of the page's needs (one query)
    ("appliance", "/dashboard"): 10,
    ("appliance", "resource"): 38,
    ("jingyuan_staff", "/dashboard"): 15,
    ("jingyuan_staff", "/needs/"): 12,
    ("jingyuan_staff", "/households/"): 12,
    ("jingyuan_staff", "need"): 17,  # progress, roster and follow-ups added in issues 14-16
    ("jingyuan_admin", "household"): 30,
    ("jingyuan_admin", "/dashboard"): 14,
    ("jingyuan_admin", "/needs/"): 12,  # a county's villages: their towns read at once
    ("jingyuan_admin", "need"): 17,  # village, household, places, organizations at once
    ("jingyuan_admin", "resource"): 9,  # organization with it, the places at once
    ("jingyuan_admin", "/matches/"): 18,
    ("jingyuan_admin", "/reports/"): 22,
    ("auditor", "/oversight/audit"): 26,
}  # fmt: skip


@pytest.fixture(scope="module")
def demo(app: Any) -> Iterator[dict[str, int]]:
    """The demo, loaded once for the module; the ids of one household, need (open, so the
    public may see it) and resource of Jingyuan's washer case to open."""
    with app.app_context():
        load_demo()
        _db.session.commit()
        washers = next(
            r for r in _db.session.scalars(sa.select(Resource)) if "洗衣机60台" in r.title
        )
        need = _db.session.scalars(
            sa.select(Need)
            .where(Need.subcategory == "necessities.washer", Need.household_id.is_not(None))
            .where(Need.status == NeedStatus.VERIFIED, Need.open_quantity > 0)
            .where(Need.village.has(Region.path.like(f"%/{JINGYUAN}/%")))
            .order_by(Need.id)
        ).first()
        assert need is not None and need.household_id is not None
        ids = {"resource": washers.id, "need": need.id, "household": need.household_id}
        assert _db.session.get(Household, ids["household"]) is not None
        _db.session.remove()
    yield ids
    with app.app_context():
        _clean(app)


def _url(page: str, ids: dict[str, int]) -> str:
    return {
        "need": f"/needs/{ids['need']}",
        "resource": f"/resources/{ids['resource']}",
        "household": f"/households/{ids['household']}",
    }.get(page, page)


@pytest.mark.parametrize(("who", "page"), list(LIMITS), ids=[f"{w}-{p}" for w, p in LIMITS])
def test_statements_per_page_are_bounded(
    app: Any, demo: dict[str, int], who: str | None, page: str
) -> None:
    browser = app.test_client()
    if who:
        signed = browser.post("/login", data={"username": who, "password": DEMO_PASSWORD})
        assert signed.status_code == 302
    url = _url(page, demo)
    browser.get(url)  # warm: caches, the index, the session's user
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = _db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        answer = browser.get(url)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert answer.status_code == 200, url
    limit = LIMITS[(who, page)]
    assert len(statements) <= limit, "\n".join([f"{len(statements)} > {limit}", *statements])
