"""Whole public pages kept for anonymous visitors (marketplace/page_cache.py, issue 17): served
again until a fact changes, never to or from a signed-in user, per language, and never carrying
one visitor's cookie or CSRF token to another. Runs on whichever database the suite runs on
(TEST_DATABASE_URL: SQLite by default, PostgreSQL in CI)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from typing import Any

import pytest
from flask import template_rendered

from marketplace.audit.checkpoints import write_checkpoint
from marketplace.needs import services as needs
from marketplace.needs.models import NeedStatus
from marketplace.page_cache import cache_of
from tests.conftest import World

GZIP = {"Accept-Encoding": "gzip"}


@pytest.fixture
def drawn(app: Any) -> Iterator[list[str]]:
    """The templates drawn, in order: a page served from the cache draws none."""
    cache_of(app).clear()
    names: list[str] = []

    def record(_sender: Any, template: Any, **_extra: Any) -> None:
        names.append(template.name)

    template_rendered.connect(record, app)
    yield names
    template_rendered.disconnect(record, app)
    cache_of(app).clear()


def test_a_page_is_drawn_once_until_a_fact_changes(
    client: Any, db: Any, world: World, make_need: Any, drawn: list[str]
) -> None:
    need = make_need(world.village, world.household, title="需要一台冰箱",
                     status=NeedStatus.SUBMITTED)  # fmt: skip
    first = client.get("/")
    again = client.get("/")
    assert first.status_code == again.status_code == 200
    assert drawn.count("home/index.html") == 1
    assert again.data == first.data and "需要一台冰箱" not in first.text
    assert again.headers["Content-Type"] == first.headers["Content-Type"]
    assert again.headers.get("Content-Security-Policy") == first.headers.get(
        "Content-Security-Policy"
    )  # the app's hooks still run on a kept page
    needs.verify_need(world.admin, need)  # through the service, committed as a request would
    db.session.commit()
    after = client.get("/")
    assert "需要一台冰箱" in after.text
    assert drawn.count("home/index.html") == 2


def test_the_public_need_page_and_the_disclosure_are_kept_too(
    client: Any, db: Any, world: World, drawn: list[str]
) -> None:
    page = f"/needs/{world.need.id}"
    assert client.get(page).status_code == 200 and client.get(page).status_code == 200
    assert drawn.count("needs/detail.html") == 1
    world.need.title = "需要两台洗衣机"
    db.session.commit()
    assert "需要两台洗衣机" in client.get(page).text
    # the disclosure shows the latest audit checkpoint, which is not a fact: it is in the key
    assert "audit-checkpoint-hash" not in client.get("/disclosure").text
    client.get("/disclosure")
    assert drawn.count("matches/disclosure.html") == 1
    checkpoint = write_checkpoint()
    assert checkpoint.head_hash in client.get("/disclosure").text
    # another address (a page of the list) is another page
    client.get("/disclosure?page=2")
    assert drawn.count("matches/disclosure.html") == 3


def test_signed_in_users_neither_get_nor_leave_a_kept_page(
    app: Any, client: Any, login: Any, world: World, drawn: list[str]
) -> None:
    anonymous = client.get("/").data
    login(world.staff)
    drawn.clear()
    mine = client.get("/")
    assert drawn == ["home/index.html"] and mine.data != anonymous
    assert world.staff.display_name in mine.text
    assert mine.headers["Cache-Control"] == "no-store"
    client.get("/")
    assert drawn == ["home/index.html"] * 2  # drawn each time
    other = app.test_client()  # an anonymous visitor after them
    seen = other.get("/")
    assert seen.data == anonymous and world.staff.display_name not in seen.text
    assert drawn == ["home/index.html"] * 2  # served the anonymous copy


def test_each_language_has_its_own_copy(
    app: Any, client: Any, world: World, drawn: list[str]
) -> None:
    chinese = client.get("/").text
    client.get("/lang/en")
    english = client.get("/").text
    assert "Registered households" in english and "Registered households" not in chinese
    assert client.get("/").text == english
    assert app.test_client().get("/").text == chinese
    assert drawn.count("home/index.html") == 2


def test_no_cookie_or_csrf_token_of_one_visitor_reaches_another(
    app: Any, db: Any, world: World, drawn: list[str], monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # a token made per session
    first = app.test_client()
    drawn_page = first.get("/")
    assert "Set-Cookie" in drawn_page.headers  # the first visitor's session, with its secret
    with first.session_transaction() as sess:
        secret = sess["csrf_token"]
    other = app.test_client()
    for visitor in (other, first):
        kept = visitor.get("/")
        assert drawn == ["home/index.html"]  # served the kept copy
        assert secret.encode() not in kept.data and b'name="csrf_token"' not in kept.data
    assert "Set-Cookie" not in other.get("/").headers  # nothing of the first visitor's session
    with other.session_transaction() as sess:
        assert "csrf_token" not in sess
    with first.session_transaction() as sess:  # the first keeps its own (refreshed, same)
        assert sess["csrf_token"] == secret
    # a form that needs a token still gets this visitor's own
    later = app.test_client()
    later.get("/")
    assert 'name="csrf_token"' in later.get("/login").text


def test_flashed_messages_are_shown_not_kept(app: Any, client: Any, world: World,
                                             drawn: list[str]) -> None:  # fmt: skip
    client.get("/")
    with client.session_transaction() as sess:
        sess["_flashes"] = [("info", "一条只给这位访客的消息")]
    assert "一条只给这位访客的消息" in client.get("/").text
    assert "一条只给这位访客的消息" not in app.test_client().get("/").text
    assert "一条只给这位访客的消息" not in client.get("/").text  # shown once
    assert drawn.count("home/index.html") == 2


def test_gzip_as_the_page_had_it(client: Any, world: World, drawn: list[str]) -> None:
    plain = client.get("/")
    packed = client.get("/", headers=GZIP)
    plain_again = client.get("/")
    assert drawn.count("home/index.html") == 1
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert int(packed.headers["Content-Length"]) == len(packed.data)
    assert gzip.decompress(packed.data) == plain.data == plain_again.data
    assert "Content-Encoding" not in plain_again.headers


def test_switched_off_by_the_config(app: Any, client: Any, world: World, drawn: list[str],
                                    monkeypatch: Any) -> None:  # fmt: skip
    monkeypatch.setitem(app.config, "PAGE_CACHE", False)
    client.get("/")
    client.get("/")
    monkeypatch.setitem(app.config, "PAGE_CACHE", True)
    monkeypatch.setitem(app.config, "FACT_CACHE", False)
    client.get("/")
    assert drawn.count("home/index.html") == 3 and len(cache_of(app)) == 0


def test_a_token_that_cannot_be_read_draws_the_page(
    app: Any, client: Any, world: World, drawn: list[str], monkeypatch: Any, tmp_path: Any
) -> None:
    """The token's pool has no pre-ping: a broken connection fails the read, and the visitor
    gets the page drawn as usual (through the main pool), never an error."""
    import sqlalchemy as sa

    unreachable = sa.create_engine(f"sqlite:///{tmp_path}/no/such/dir/x.db")
    monkeypatch.setitem(app.extensions, "page_cache_engine", unreachable)
    assert client.get("/").status_code == client.get("/").status_code == 200
    assert drawn.count("home/index.html") == 2 and len(cache_of(app)) == 0
    monkeypatch.delitem(app.extensions, "page_cache_engine")
    client.get("/")
    client.get("/")
    assert drawn.count("home/index.html") == 3  # the token read again: kept once more
