"""Home page with headline figures, the per-role dashboard, language switch, health check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from marketplace import page_cache
from marketplace.accounts import policy as accounts_policy
from marketplace.home import services
from marketplace.permissions import public, signed_in
from marketplace.roles import Role

bp = Blueprint("home", __name__)


@bp.route("/")
@public
@page_cache.cached()
def index() -> Any:
    page = services.home_page()
    return render_template("home/index.html", figures=page.figures, work=page.work)


@bp.route("/favicon.ico")
@public
def favicon() -> Any:
    """Browsers ask for it on every site; a real icon, not an error page (read once: 4 KiB)."""
    global _FAVICON
    if _FAVICON is None:
        _FAVICON = (Path(current_app.static_folder or "") / "favicon.ico").read_bytes()
    answer = Response(_FAVICON, mimetype="image/vnd.microsoft.icon")
    answer.cache_control.max_age = current_app.get_send_file_max_age("favicon.ico") or 3600
    return answer


_FAVICON: bytes | None = None


@bp.route("/dashboard")
@signed_in
def dashboard() -> Any:
    template = {
        Role.DONOR: "home/dashboard_donor.html",
        Role.STAFF: "home/dashboard_staff.html",
        Role.ADMIN: "home/dashboard_admin.html",
        Role.SUPERUSER: "home/dashboard_admin.html",
        Role.AUDITOR: "home/dashboard_auditor.html",
    }[current_user.role]
    figures = services.dashboard_figures(current_user)
    org = figures.get("organization")
    may = accounts_policy.organization_actions(current_user, org) if org is not None else {}
    return render_template(template, figures=figures, may=may)


@bp.route("/lang/<code>")
@public
def set_language(code: str) -> Any:
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    target = request.referrer or ""
    host = request.host_url
    return redirect(target if target.startswith(host) else url_for("home.index"))


@bp.route("/healthz")
@public
def health() -> Any:
    return {"status": "ok"}
