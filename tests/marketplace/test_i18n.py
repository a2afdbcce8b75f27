"""Chinese first, English complete, and no user-visible string outside the catalogs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from babel import Locale
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}
METHODS = [("marketplace/**.py", "python"), ("templates/**.html", "jinja2")]


def _source_msgids() -> set[str]:
    ids: set[str] = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "en"])
def test_catalog_translates_every_string(locale: str) -> None:
    with (ROOT / f"translations/{locale}/LC_MESSAGES/messages.po").open("rb") as fh:
        catalog = read_po(fh)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(_source_msgids() - translated)
    assert missing == [], f"run `make messages` and translate: {missing[:10]}"


def test_zh_cn_is_normalised_to_zh_hans_cn() -> None:
    assert str(Locale.parse("zh_CN")) == "zh_Hans_CN"


def test_default_language_is_chinese(client: Any) -> None:
    page = client.get("/").data.decode()
    assert '<html lang="zh-CN">' in page
    assert "社会扶贫对接平台" in page


def test_chinese_even_for_an_english_browser_until_switched(client: Any) -> None:
    page = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).data.decode()
    assert "社会扶贫对接平台" in page
    client.get("/lang/en")
    page = client.get("/", headers={"Accept-Language": "zh-CN"}).data.decode()
    assert "Social Poverty-Alleviation Docking Platform" in page


def test_header_switch_changes_language(client: Any) -> None:
    assert client.get("/lang/en").status_code == 302
    assert "Registered households" in client.get("/").data.decode()
    client.get("/lang/zh_Hans_CN")
    assert "建档立卡贫困户" in client.get("/").data.decode()
    client.get("/lang/xx")  # unknown language: ignored
    assert "建档立卡贫困户" in client.get("/").data.decode()


def test_form_errors_from_wtforms_are_chinese(client: Any) -> None:
    page = client.post("/register", data={"kind": "nonsense"}).data.decode()
    assert "不是有效的选择" in page


def test_templates_follow_a_locale_forced_within_the_request(app: Any) -> None:
    """The templates' _() keeps the request's translations (marketplace/i18n.py): a locale
    forced for a moment (mail in the recipient's language) still translates in that locale,
    and the request's own comes back after it, in templates that import macros too."""
    from flask import render_template_string
    from flask_babel import force_locale

    page = '{% from "_macros.html" import pager %}{{ _("Sign in") }}|'
    with app.test_request_context("/"):
        chinese = render_template_string(page)
        with force_locale("en"):
            english = render_template_string(page)
        again = render_template_string(page)
    assert english == "Sign in|"
    assert chinese == again == "登录|"
