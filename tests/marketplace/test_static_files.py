"""Static files under their content's name (issue 17): every static address a page links carries
the file's hash and is kept a year (immutable); another hash still answers the file, never to be
kept; a changed file gets a new address; the pages link Bootstrap trimmed to what they use, and a
first load stays within 100 KiB over the wire."""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path
from typing import Any

from flask import Flask, url_for

from marketplace import static_files

GZIP = {"Accept-Encoding": "gzip"}
HASHED = re.compile(r"^/(?:bootstrap/)?static/.+\.[0-9a-f]{10}\.(css|js)$")


def _assets(page: str) -> list[str]:
    return re.findall(r'<(?:link rel="stylesheet" href|script src)="([^"]+)"', page)


def test_every_static_address_carries_its_hash_and_is_kept_a_year(client: Any) -> None:
    page = client.get("/").get_data(as_text=True)
    assets = _assets(page)
    assert len(assets) >= 4, assets  # Bootstrap's CSS and ours, Popper, Bootstrap's JS, ours
    for href in assets:
        assert HASHED.match(href), href
        answer = client.get(href, headers=GZIP)
        assert answer.status_code == 200, href
        cache = answer.headers["Cache-Control"]
        assert "immutable" in cache and "max-age=31536000" in cache and "public" in cache, cache
        assert answer.headers["Content-Encoding"] == "gzip", href  # still compressed
        answer.close()


def test_another_hash_answers_today_file_never_kept(client: Any) -> None:
    with client.application.test_request_context():
        current = url_for("static", filename="css/site.css")
    old = re.sub(r"\.[0-9a-f]{10}\.css$", ".0123456789.css", current)
    assert old != current
    answer = client.get(old)
    assert answer.status_code == 200
    assert answer.data == (Path(client.application.static_folder) / "css/site.css").read_bytes()
    assert "no-cache" in answer.headers["Cache-Control"]
    assert "immutable" not in answer.headers["Cache-Control"]
    answer.close()
    plain = client.get("/static/css/site.css")  # the address without a hash, as before
    assert plain.status_code == 200 and "immutable" not in plain.headers["Cache-Control"]
    plain.close()
    assert client.get("/static/css/nothing.0123456789.css").status_code == 404
    assert client.get("/static/../pyproject.0123456789.toml").status_code == 404


def test_a_changed_file_gets_a_new_address(tmp_path: Path) -> None:
    (tmp_path / "app.css").write_text("body { color: red; }")
    app = Flask(__name__, static_folder=str(tmp_path), static_url_path="/static")
    static_files.register(app)
    with app.test_request_context():
        first = url_for("static", filename="app.css")
        assert url_for("static", filename="app.css") == first
        (tmp_path / "app.css").write_text("body { color: blue; }")
        stat = (tmp_path / "app.css").stat()
        os.utime(tmp_path / "app.css", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
        second = url_for("static", filename="app.css")
        assert url_for("static", filename="missing.css") == "/static/missing.css"
    assert first != second and HASHED.match(second)
    client = app.test_client()
    fresh = client.get(second)
    assert fresh.data == b"body { color: blue; }" and "immutable" in fresh.headers["Cache-Control"]
    stale = client.get(first)  # the old address: today's file, not to be kept
    assert stale.data == b"body { color: blue; }" and "no-cache" in stale.headers["Cache-Control"]
    fresh.close()
    stale.close()


def test_the_pages_link_the_trimmed_bootstrap(client: Any) -> None:
    page = client.get("/").get_data(as_text=True)
    css = [href for href in _assets(page) if "bootstrap" in href and href.endswith(".css")]
    assert len(css) == 1 and css[0].startswith("/static/vendor/bootstrap/bootstrap.min."), css
    trimmed = client.get(css[0])
    body = trimmed.get_data(as_text=True)
    trimmed.close()
    assert "Licensed under MIT" in body[:400]  # Bootstrap's licence notice kept
    assert ".navbar-collapse" in body and ".dropdown-menu.show" in body  # the menu's states
    assert ".text-bg-warning" in body and ".bg-info" in body  # tones made in templates
    assert ".carousel" not in body and ".modal-dialog" not in body  # unused components gone
    assert len(body) < 0.4 * _full_bootstrap_size()  # the untrimmed copy Bootstrap-Flask ships


def _full_bootstrap_size() -> int:
    import flask_bootstrap

    path = Path(flask_bootstrap.__file__).parent / "static/bootstrap5/css/bootstrap.min.css"
    return path.stat().st_size


def test_a_first_load_weighs_under_100_kib(client: Any) -> None:
    """The home page and everything it links (CSS, JavaScript, the favicon), as sent to a
    browser that accepts gzip."""
    home = client.get("/", headers=GZIP)
    total = len(home.data)
    page = gzip.decompress(home.data).decode()
    for href in [*_assets(page), "/favicon.ico"]:
        answer = client.get(href, headers=GZIP)
        assert answer.status_code == 200, href
        total += len(answer.data)
        answer.close()
    assert total < 100 * 1024, total
