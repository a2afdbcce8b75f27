"""The templates' gettext, with the request's translations found once per request and locale.

Flask-Babel's template callables look the translations up on every ``_()``: the context
(two werkzeug proxies), the locale, its name and a dict, about 14 microseconds each, and a
list page calls ``_()`` some 150 times (issue 17: 7 ms of a signed-in page's 50). Here the
translations are kept on the request beside the locale they were looked up for, so a later
``_()`` costs a context variable and an identity check. ``force_locale`` (mail in the
recipient's language) and ``refresh`` give another locale object, which looks them up again.
Outside a request (the CLI, background work) Flask-Babel's own lookup answers, as before.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.globals import _cv_request
from flask_babel import get_locale, get_translations

KEPT = "_marketplace_translations"


def translations() -> Any:
    """The translations of the current request's locale (Flask-Babel's, looked up once)."""
    context = _cv_request.get(None)
    if context is None:
        return get_translations()
    request = context.request
    locale = request.__dict__.get("babel_locale") or get_locale()
    kept = request.__dict__.get(KEPT)
    if kept is not None and kept[0] is locale:
        return kept[1]
    found = get_translations()
    request.__dict__[KEPT] = (locale, found)
    return found


def install(app: Flask) -> None:
    """Replace the callables Flask-Babel installed in the templates (after ``babel.init_app``)."""
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
