"""Static files with their content in their name (issue 17): ``url_for('static',
filename='css/site.css')`` gives ``/static/css/site.<hash>.css``, the hash the first 10 hex digits
of the file's SHA-256, so a browser keeps the file a year without asking again
(``Cache-Control: public, max-age=31536000, immutable``) and a changed file has a new address.
No template changes: a ``url_defaults`` hook adds the hash to every ``static`` address (ours and
Bootstrap-Flask's ``bootstrap.static``), and the static views take it off again.

An address with another hash (a page cached before a deployment, a server not yet updated) still
answers the file as it is now, but marked ``no-cache``, so that no cache keeps today's content
under yesterday's name for a year. An address without a hash answers as before (an hour).

The pages' Bootstrap: ``bootstrap.load_css()`` (templates/base.html) links the stylesheet
trimmed to what the templates use (static/vendor/bootstrap, made by scripts/trim_bootstrap.py)
instead of the full one; ``bootstrap.load_js()`` Bootstrap's script and Popper (the menu's
drop-downs and the phone's collapsing menu need both), fingerprinted like the rest.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, url_for
from markupsafe import Markup
from werkzeug.security import safe_join

YEAR = 31_536_000
HASH_LENGTH = 10
FINGERPRINTED = re.compile(rf"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{{{HASH_LENGTH}}})(?P<ext>\.[\w]+)$")
TRIMMED_BOOTSTRAP = "vendor/bootstrap/bootstrap.min.css"


class Fingerprints:
    """The hash of each static file, computed once per version of the file (its size and
    modification time), so that a file changed on disk gets a new address at once."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[int, int, str]] = {}
        self._lock = threading.Lock()

    def of(self, path: str) -> str | None:
        try:
            stat = os.stat(path)
        except OSError:
            return None
        known = self._known.get(path)
        if known and known[:2] == (stat.st_size, stat.st_mtime_ns):
            return known[2]
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 16), b""):
                digest.update(block)
        fingerprint = digest.hexdigest()[:HASH_LENGTH]
        with self._lock:
            self._known[path] = (stat.st_size, stat.st_mtime_ns, fingerprint)
        return fingerprint


def fingerprinted(filename: str, fingerprint: str) -> str:
    stem, dot, ext = filename.rpartition(".")
    if not dot or "/" in ext:  # no extension: the hash goes at the end
        return f"{filename}.{fingerprint}"
    return f"{stem}.{fingerprint}.{ext}"


def _folders(app: Flask) -> dict[str, str]:
    """Each static endpoint and the folder it serves."""
    folders = {"static": app.static_folder} if app.static_folder else {}
    for name, blueprint in app.blueprints.items():
        if blueprint.has_static_folder and blueprint.static_folder:
            folders[f"{name}.static"] = blueprint.static_folder
    return {endpoint: str(folder) for endpoint, folder in folders.items()}


def register(app: Flask) -> None:
    folders = _folders(app)
    prints = Fingerprints()

    def real_file(endpoint: str, filename: str) -> str | None:
        path = safe_join(folders[endpoint], filename)
        return path if path and os.path.isfile(path) else None

    @app.url_defaults
    def add_fingerprint(endpoint: str, values: dict[str, Any]) -> None:
        filename = values.get("filename")
        if endpoint not in folders or not isinstance(filename, str):
            return
        path = real_file(endpoint, filename)
        fingerprint = prints.of(path) if path else None
        if fingerprint:
            values["filename"] = fingerprinted(filename, fingerprint)

    def serving(view: Callable[..., Any], endpoint: str) -> Callable[..., Any]:
        def serve(filename: str) -> Any:
            found = FINGERPRINTED.match(filename)
            if not found or real_file(endpoint, filename):
                return view(filename=filename)  # no hash: as before
            plain = found["stem"] + found["ext"]
            path = real_file(endpoint, plain)
            if path is None:
                return view(filename=filename)  # the 404 it always was
            response = view(filename=plain)
            if found["hash"] == prints.of(path):
                response.cache_control.public = True
                response.cache_control.max_age = YEAR
                response.cache_control.immutable = True
            else:  # today's file under another version's name: never kept under it
                response.cache_control.max_age = None
                response.cache_control.public = False
                response.cache_control.no_cache = True
            return response

        serve.__name__ = getattr(view, "__name__", "static")
        return serve

    for endpoint in folders:
        app.view_functions[endpoint] = serving(app.view_functions[endpoint], endpoint)

    if "bootstrap" in app.jinja_env.globals:
        app.jinja_env.globals["bootstrap"] = TrimmedBootstrap(app.jinja_env.globals["bootstrap"])


class TrimmedBootstrap:
    """Bootstrap-Flask's extension as the templates see it, linking the trimmed stylesheet;
    everything else is the extension's own (``load_js``: its files, fingerprinted by the hook)."""

    def __init__(self, extension: Any) -> None:
        self._extension = extension

    def __getattr__(self, name: str) -> Any:
        return getattr(self._extension, name)

    def load_css(self, *args: Any, **kwargs: Any) -> Markup:
        if args or kwargs:  # another version or theme asked for: the extension's own
            return Markup(self._extension.load_css(*args, **kwargs))
        href = url_for("static", filename=TRIMMED_BOOTSTRAP)
        return Markup(f'<link rel="stylesheet" href="{href}">')
