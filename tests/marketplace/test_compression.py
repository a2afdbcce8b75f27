"""Light pages for a village phone connection (issues 14 and 17): answers are gzipped for
clients that accept it (Bootstrap's CSS above all), static files may be kept by browsers even
for signed-in users (they carry no personal data), pages of signed-in users still may not,
and /favicon.ico is a real icon."""

from __future__ import annotations

import gzip
import re
from typing import Any

from tests.conftest import World

GZIP = {"Accept-Encoding": "gzip, deflate, br"}


def _stylesheets(page: str) -> list[str]:
    return re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)


def test_pages_and_static_files_are_gzipped_for_who_accepts_it(client: Any, db: Any) -> None:
    plain = client.get("/")
    packed = client.get("/", headers=GZIP)
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.data) == plain.data
    sheets = _stylesheets(plain.data.decode())
    assert sheets, "the page links no stylesheet"
    for href in sheets:
        css = client.get(href, headers=GZIP)
        assert css.status_code == 200 and css.headers["Content-Encoding"] == "gzip", href
        body = gzip.decompress(css.data)
        assert int(css.headers["Content-Length"]) == len(css.data) < len(body)
        again = client.get(href, headers=GZIP)  # the second time from the kept copy
        assert again.data == css.data


def test_static_files_may_be_kept_pages_of_the_signed_in_may_not(
    client: Any, login: Any, world: World
) -> None:
    login(world.staff)
    page = client.get("/dashboard")
    assert page.headers["Cache-Control"] == "no-store"
    href = _stylesheets(page.data.decode())[0]
    css = client.get(href)
    css.close()  # a file answer: its file is open until the answer is closed
    assert "no-store" not in css.headers.get("Cache-Control", "")
    assert "max-age=31536000" in css.headers.get("Cache-Control", "")  # its address has its hash


def test_the_favicon_is_an_icon(client: Any, db: Any) -> None:
    icon = client.get("/favicon.ico")
    body = icon.data
    assert icon.status_code == 200
    assert icon.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
    assert body[:4] == b"\x00\x00\x01\x00"  # the ICO signature
