"""Search results that can be told apart (issue 14): each says its category, village,
household status (never a name), urgency, posting day in Beijing time and what is still open,
with the words found marked, safely; every search control is labelled."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from markupsafe import Markup

from marketplace.search import services
from marketplace.search.backend import Hit
from marketplace.search.views import found_terms, mark, snippet
from marketplace.vocab import HouseholdStatus
from tests.conftest import World
from tests.pages import forms_of


class _Cards(HTMLParser):
    """The result cards: their text and their <mark>ed words."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[dict[str, Any]] = []
        self.depth = 0
        self.in_mark = False

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in attrs_list}
        if tag == "li" and "search-hit" in attrs.get("class", ""):
            self.cards.append({"id": int(attrs["data-id"]), "type": attrs["data-type"],
                               "text": "", "marked": [], "href": None})  # fmt: skip
            self.depth = 1
        elif self.depth:
            if tag == "li":
                self.depth += 1
            if tag == "mark":
                self.in_mark = True
                self.cards[-1]["marked"].append("")
            if tag == "a" and self.cards[-1]["href"] is None:
                self.cards[-1]["href"] = attrs.get("href")

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag == "li":
            self.depth -= 1
        if tag == "mark":
            self.in_mark = False

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.cards[-1]["text"] += data
            if self.in_mark:
                self.cards[-1]["marked"][-1] += data


def cards(html: str) -> list[dict[str, Any]]:
    reader = _Cards()
    reader.feed(html)
    for card in reader.cards:
        card["text"] = " ".join(card["text"].split())
    return reader.cards


@pytest.fixture
def indexed(
    db: Any, world: World, make_household: Any, make_need: Any, make_resource: Any, region: Any
) -> World:
    """Three washing-machine needs that read the same title: one for a poor household, one for
    a monitored household in another village (urgent, half pledged), one for a whole village."""
    world.need.created_at = datetime(2026, 5, 1, 17, 30, tzinfo=UTC)  # 2 May in Beijing
    world.need.description = "家里老人多，需要洗衣机洗衣服"
    monitored = make_household(world.other_village, head_name="李四海",
                               status=HouseholdStatus.MONITORED)  # fmt: skip
    world.urgent = make_need(world.other_village, monitored, quantity=2, open_quantity=1,
                             urgency=3, description="急需洗衣机")  # fmt: skip
    world.whole = make_need(world.village, None, urgency=1, description="村卫生室洗衣机")
    db.session.commit()
    services.rebuild()
    return world


def test_results_can_be_told_apart(client: Any, indexed: World) -> None:
    w = indexed
    html = client.get("/search?q=洗衣机").data.decode()
    shown = {c["id"]: c for c in cards(html) if c["type"] == "need"}
    assert set(shown) == {w.need.id, w.urgent.id, w.whole.id}
    first = shown[w.need.id]["text"]
    for fact in ("类别", "生活用品", "洗衣机", w.village.full_name, "未脱贫", "紧急程度", "较急",
                 "发布日期", "2026-05-02", "尚待对接", "还需 1 台（共 1 台）"):  # fmt: skip
        assert fact in first, fact
    urgent = shown[w.urgent.id]["text"]
    assert w.other_village.full_name in urgent and "监测" in urgent and "紧急" in urgent
    assert "还需 1 台（共 2 台）" in urgent
    assert "（全村）" in shown[w.whole.id]["text"] and "可缓" in shown[w.whole.id]["text"]
    for card in shown.values():  # no personal data, masked or not
        for name in ("张三丰", "张**", "李四海", "李**"):
            assert name not in card["text"]
        assert card["href"] == f"/needs/{card['id']}"
        assert "洗衣机" in card["marked"]  # in the title and the snippet


def test_pinyin_marks_the_chinese_words_it_found(client: Any, indexed: World) -> None:
    html = client.get("/search?q=xiyiji").data.decode()
    found = cards(html)
    assert found and all("洗衣机" in c["marked"] for c in found)


def test_resource_results_say_what_is_left(client: Any, indexed: World) -> None:
    html = client.get("/search?q=洗衣机&type=resource").data.decode()
    (card,) = cards(html)
    assert card["id"] == indexed.resource.id and card["type"] == "resource"
    text = card["text"]
    assert indexed.org.name in text and "尚可提供 10 台（共 10 台）" in text
    assert "洗衣机" in card["marked"]


def test_every_search_control_is_labelled(client: Any, indexed: World) -> None:
    html = client.get("/search?q=洗衣机").data.decode()
    main = html.split("<main", 1)[1] if "<main" in html else html
    form = next(f for f in forms_of(main) if "q" in f.names and f.action == "/search")
    for control in form.controls:
        if control.tag == "select" or (control.tag == "input" and control.type != "hidden"):
            assert re.search(rf'<label[^>]*for="{control.attrs["id"]}"', main), control.name


def test_marking_is_escaped() -> None:
    """What the index holds is text: markup in a title or a snippet is shown, never run, and
    the marks come only from the words found."""
    marked = mark("<script>洗衣机</script> & 洗衣", ["洗衣机", "洗衣"])
    assert isinstance(marked, Markup)
    assert str(marked) == "&lt;script&gt;<mark>洗衣机</mark>&lt;/script&gt; &amp; <mark>洗衣</mark>"
    hit = Hit(key="need:1", type="need", id=1, title="t",
              highlight='&lt;b&gt;x&lt;/b&gt; <b class="match term0">洗衣机</b>…好')  # fmt: skip
    terms = found_terms(hit, "xiyiji")
    assert terms == ["xiyiji", "洗衣机"]
    assert str(snippet(hit, terms)) == "&lt;b&gt;x&lt;/b&gt; <mark>洗衣机</mark>…好"
    assert str(mark("XiYiJi", ["xiyiji"])) == "<mark>XiYiJi</mark>"  # case ignored


def test_a_hit_whose_row_is_gone_is_left_out(client: Any, db: Any, indexed: World) -> None:
    db.session.delete(indexed.whole)
    db.session.commit()  # the outbox is not applied: the index still has it
    html = client.get("/search?q=洗衣机").data.decode()
    assert indexed.whole.id not in {c["id"] for c in cards(html)}
