"""Whole public pages kept for anonymous visitors until a fact changes (issue 17).

The public pages (home, disclosure, search, a need's public page) read facts that are kept per
facts token already (marketplace/facts.py); what was left per request was drawing the page. A
view decorated with ``cached`` keeps its answer's bytes, once plain and once gzipped, and
serves the next anonymous visitor who asks for the same address in the same language under the
same token from them: the token's SELECT plus writing the bytes.

What a kept page depends on, all in its key
    The facts token (read before the view, so a page drawn across a commit is kept under the
    older token: a fresher answer, never the reverse), the address with its query string and
    host, the language (the session's choice), today's date in Beijing (the disclosure's
    window), the app (its config), and whatever else the view names with ``also`` (something
    outside the facts: the audit checkpoint, the search index).

Who never gets or gives one
    Only GETs of anonymous visitors without flashed messages are served from or kept; a
    signed-in user's page (their name, their menu, unmasked data) never enters, and never comes
    out. An answer is kept only if it is a 200 drawn by the view as any anonymous visitor would
    get it: no cookie set by the view, no change to the session but the CSRF secret (a flashed
    message, a language), neither that secret nor the visitor's CSRF token in the body
    (base.html renders one only for the signed-in, but each page draw makes one for the
    visitor's session: if it ever shows in an anonymous page, that page is not kept), no
    uncommitted change of facts. A served page sets no
    cookie: the session is not touched, so the visitor's own token is made when a form needs it.
    The app's after-request hooks run on a kept page as on a drawn one (security headers, the
    commit point); the gzipped copy is sent with its Content-Encoding, so compression leaves it.

Bounded per process (``PAGE_CACHE_SIZE`` entries, the oldest go first); ``PAGE_CACHE = False``
or ``FACT_CACHE = False`` in the config turns it off (benchmarks, tests of drawing).
"""

from __future__ import annotations

import functools
import gzip
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Response, current_app, g, request, session
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import Connection

from marketplace import compression, facts
from marketplace.extensions import db
from marketplace.timefmt import beijing_today

F = TypeVar("F", bound=Callable[..., Any])
SIZE = 512
# What a view's own answer may carry into a kept copy: the rest is the app's hooks' to add.
KEPT_HEADERS = ("Content-Type", "Content-Language", "Cache-Control", "Vary")


@dataclass(frozen=True)
class Page:
    body: bytes
    packed: bytes | None  # gzipped, when compression would have gzipped it
    headers: tuple[tuple[str, str], ...]

    def answer(self) -> Response:
        response = Response(self.body, status=200, headers=list(self.headers))
        if self.packed is not None and "gzip" in request.headers.get("Accept-Encoding", ""):
            response.set_data(self.packed)
            response.headers["Content-Encoding"] = "gzip"
            response.headers["Content-Length"] = str(len(self.packed))
        if self.packed is not None:
            response.vary.add("Accept-Encoding")  # as compression says on the page drawn
        return response


class PageCache:
    """Pages kept per process, the least recently served going first past ``size``."""

    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._pages: OrderedDict[Hashable, Page] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Page | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: Hashable, page: Page) -> None:
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()

    def __len__(self) -> int:
        return len(self._pages)


def cache_of(app: Any) -> PageCache:
    """The app's own cache (two apps in one process, as in the tests, share nothing)."""
    found = app.extensions.get("page_cache")
    if found is None:
        found = app.extensions.setdefault(
            "page_cache", PageCache(int(app.config.get("PAGE_CACHE_SIZE", SIZE)))
        )
    return found  # type: ignore[no-any-return]


# Built once: a statement made per request costs more than the kept page's other work.
TOKEN = sa.select(facts.FactVersion.token).where(facts.FactVersion.name == facts.FACTS)


def _token_engine(app: Any) -> sa.Engine:
    """Where a kept page reads the token: autocommit (no BEGIN and COMMIT round trips) and, on
    a server database, a small pool of its own without the main pool's ``pre_ping`` (one more
    round trip per checkout). A connection that broke meanwhile fails the read, which then
    draws the page as usual (``_stamp``). SQLite shares the app's engine (an in-memory
    database exists only on its own connection)."""
    found = app.extensions.get("page_cache_engine")
    if found is None:
        engine = db.engine
        if engine.dialect.name == "sqlite":
            found = engine.execution_options(isolation_level="AUTOCOMMIT")
        else:
            found = sa.create_engine(
                engine.url, isolation_level="AUTOCOMMIT", pool_size=4, max_overflow=8,
                pool_recycle=600, pool_pre_ping=False,
            )  # fmt: skip
            # Its connections closed when the app goes (an app per test, per CLI command), not
            # left to the garbage collector.
            weakref.finalize(app, found.dispose)
        found = app.extensions.setdefault("page_cache_engine", found)
    return found  # type: ignore[no-any-return]


def dispose(app: Any) -> None:
    """Close the token pool's connections (an app's end, as in the tests' teardown)."""
    engine = app.extensions.pop("page_cache_engine", None)
    if engine is not None:
        engine.dispose()


def _stamp(also: Callable[[Connection], Hashable] | None) -> tuple[int, Hashable] | None:
    """The facts token and ``also``'s value, or None: no token yet (nothing may be kept, see
    marketplace/facts.py) or the read failed (the page is drawn, through the main pool)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # (weak-referenced)
    try:
        with _token_engine(app).connect() as connection:
            token = connection.scalar(TOKEN)
            if token is None:
                return None
            return token, also(connection) if also is not None else None
    except sa.exc.DBAPIError:
        current_app.logger.warning("page cache: the facts token could not be read; page drawn")
        return None


def _key(also: Callable[[Connection], Hashable] | None) -> Hashable | None:
    """The key of this request's page, or None when it may be neither served nor kept."""
    config = current_app.config
    if not config.get("PAGE_CACHE", True) or not config.get("FACT_CACHE", True):
        return None
    if request.method != "GET" or g.get("token_auth") or current_user.is_authenticated:
        return None
    if session.get("_flashes"):  # the page would show them (and use them up)
        return None
    if facts.pending(db.session()):
        return None
    stamp = _stamp(also)
    if stamp is None:
        return None
    return (request.endpoint, request.url, str(get_locale()), beijing_today(), stamp)


def _keepable(response: Response, before: dict[str, Any]) -> bool:
    """Whether the answer drawn is what any anonymous visitor would get. ``before``: the
    session as the view found it."""
    if response.status_code != 200 or response.is_streamed or response.direct_passthrough:
        return False
    if "Set-Cookie" in response.headers or "Content-Encoding" in response.headers:
        return False
    control = response.headers.get("Cache-Control", "")
    if "no-store" in control or "private" in control:
        return False
    if facts.pending(db.session()):
        return False
    # The session may have gained this visitor's CSRF secret (every page draw makes a token
    # for csrf_form); nothing else. Neither the secret nor the token may be in the page.
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    if {k: v for k, v in session.items() if k != field} != {
        k: v for k, v in before.items() if k != field
    }:
        return False
    body = response.get_data()
    return not any(
        secret and str(secret).encode() in body for secret in (g.get(field), session.get(field))
    )


def _page_of(response: Response) -> Page:
    body = response.get_data()
    packed = None
    if response.mimetype in compression.COMPRESSIBLE and len(body) >= compression.SMALLEST:
        packed = gzip.compress(body, compresslevel=6, mtime=0)
    headers = tuple((k, v) for k, v in response.headers.items() if k in KEPT_HEADERS)
    return Page(body=body, packed=packed, headers=headers)


def cached(also: Callable[[Connection], Hashable] | None = None) -> Callable[[F], F]:
    """Keep the view's anonymous answers (see the module's docstring). ``also``: what else,
    outside the facts, the page shows, as a value that changes with it, read per request on
    the connection given (autocommit, outside the request's session)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = _key(also)
            if key is None:
                return view(*args, **kwargs)
            pages = cache_of(current_app)
            page = pages.get(key)
            if page is not None:
                return page.answer()
            before = dict(session)
            response = current_app.make_response(view(*args, **kwargs))
            if _keepable(response, before):
                pages.put(key, _page_of(response))
            return response

        return wrapper  # type: ignore[return-value]

    return decorate
