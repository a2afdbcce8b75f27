"""社会扶贫对接平台: the social poverty-alleviation docking platform."""

from __future__ import annotations

from typing import Any

from apiflask import APIFlask
from flask import Flask, has_request_context, render_template, request, session
from flask_babel import gettext as _
from flask_talisman import Talisman
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from marketplace import compression, i18n, static_files
from marketplace.config import PROJECT_ROOT, check_config, load_config
from marketplace.extensions import babel, bootstrap, csrf, db, limiter, login_manager, migrate


def select_locale() -> str:
    from flask import current_app

    if not has_request_context():  # CLI, background work: Chinese
        return str(current_app.config["BABEL_DEFAULT_LOCALE"])
    # Chinese first, whatever the browser says: English only by the switch in the header.
    chosen = session.get("lang")
    if chosen in current_app.config["LANGUAGES"]:
        return str(chosen)
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def create_app(config: dict[str, Any] | None = None) -> Flask:
    # APIFlask is Flask plus the OpenAPI document of the /api/v1 blueprint.
    app = APIFlask(
        __name__,
        title="社会扶贫对接平台 API",
        version="1.0",
        spec_path="/api/v1/openapi.json",
        docs_path=None,  # served by the api blueprint from local files, not a CDN
        json_errors=False,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(load_config())
    if config:
        app.config.update(config)
    check_config(app.config)
    from marketplace.jobs import init_app as init_jobs

    init_jobs(app)  # the job engine's settings are checked here too
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {}

    from marketplace import models  # noqa: F401  (complete metadata)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    i18n.install(app)  # the templates' _() finds the translations once per request
    bootstrap.init_app(app)
    limiter.init_app(app)
    https = app.config["MARKETPLACE_HTTPS"]
    Talisman(
        app,
        force_https=https,
        strict_transport_security=https,
        session_cookie_secure=https,
        content_security_policy={
            "default-src": "'self'",
            "img-src": "'self' data:",
            "style-src": "'self' 'unsafe-inline'",
            "frame-ancestors": "'self'",
            "form-action": "'self'",
            "base-uri": "'self'",
        },
    )

    with app.app_context():
        _configure_sqlite(app)

    _register_login(app)
    _register_blueprints(app)
    _register_errors(app)
    compression.register(app)
    static_files.register(app)  # fingerprinted static addresses, the trimmed Bootstrap
    _register_template_helpers(app)

    from marketplace.cli import register_commands
    from marketplace.permissions import declare_extension_routes

    declare_extension_routes(app)

    register_commands(app)
    return app


def _configure_sqlite(app: Flask) -> None:
    """WAL and foreign keys on every SQLite connection."""
    from sqlalchemy import event

    engine = db.engine
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def _register_login(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from marketplace.accounts.models import User
    from marketplace.permissions import enforce_access

    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "warning"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        # The id carries the session token: a rotated token ends every older session.
        raw_id, _sep, token = user_id.partition(":")
        if not raw_id.isdigit() or not token:
            return None
        user = db.session.get(User, int(raw_id))
        if user is None or user.session_token != token or not user.active:
            return None
        return user

    @app.before_request
    def refuse_nul_bytes() -> Any:
        """A NUL byte is never meaningful input, and PostgreSQL refuses it in text: answer
        400 with a clear message before anything reads it."""
        try:
            values = [*request.args.values(), *request.form.values(), request.path]
        except RequestEntityTooLarge:
            return _error_response(413, _("The upload is too large."))
        if any("\x00" in v for v in values):
            return _error_response(400, _("The input contains an invalid character (NUL)."))
        return None

    @app.before_request
    def authenticate_api_token() -> None:
        """``Authorization: Bearer`` on the API: the token alone decides who is calling (the
        session cookie is ignored), and such requests need no CSRF token."""
        from flask import abort, g

        from marketplace.accounts.models import TokenScope
        from marketplace.accounts.services import token_for

        header = request.headers.get("Authorization", "")
        if not request.path.startswith("/api/") or not header.startswith("Bearer "):
            return
        token = token_for(header.removeprefix("Bearer ").strip())  # none if expired or revoked
        if token is None:
            abort(401)
        db.session.commit()  # last_used_at
        g._login_user = token.user  # Flask-Login's per-request user
        g.token_auth = True
        g.token_scope = token.scope
        acts = request.url_rule is not None and request.method not in ("GET", "HEAD", "OPTIONS")
        if token.scope == TokenScope.READ and acts:  # an unknown method stays a 405
            abort(403)  # a read-only token never acts

    @app.before_request
    def check_csrf() -> None:
        from flask import g

        if not app.config["WTF_CSRF_ENABLED"] or g.get("token_auth"):
            return
        if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE"):
            csrf.protect()

    app.before_request(enforce_access)

    @app.after_request
    def sync_search(response: Any) -> Any:
        """Changes committed by this request reach the index now; a failure here loses
        nothing, the outbox keeps them for the next sync."""
        if db.session.info.get("search_dirty"):
            from marketplace.search.services import sync

            try:
                sync()
            except Exception:  # the index must never break the page
                app.logger.exception("search sync failed; the outbox keeps the changes")
                db.session.rollback()
        return response

    # Registered after sync_search, so it runs before it (after_request runs in reverse).
    @app.after_request
    def commit_request(response: Any) -> Any:
        """The one commit point: a successful request keeps its changes (audit events of a GET
        included), an error answer keeps nothing unless the view asked (``keep_changes``)."""
        from flask import g

        if response.status_code < 400 or g.get("keep_changes"):
            db.session.commit()
        else:
            db.session.rollback()
        return response

    @app.after_request
    def no_store_private(response: Any) -> Any:
        """Signed-in pages and API answers may carry unmasked personal data: browsers and
        proxies must not keep them."""
        from flask import g
        from flask_login import current_user

        static = bool(request.endpoint) and str(request.endpoint).split(".")[-1] == "static"
        if (g.get("token_auth") or current_user.is_authenticated) and not static:
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        return response


def _register_blueprints(app: Flask) -> None:
    from marketplace.accounts.views import bp as accounts_bp
    from marketplace.api.views import bp as api_bp
    from marketplace.followups.views import bp as followups_bp
    from marketplace.home.views import bp as home_bp
    from marketplace.households.views import bp as households_bp
    from marketplace.imports.views import bp as imports_bp
    from marketplace.jobs.views import bp as jobs_bp
    from marketplace.jobs.views import work_bp
    from marketplace.matches.views import bp as matches_bp
    from marketplace.needs.views import bp as needs_bp
    from marketplace.notifications.views import bp as notifications_bp
    from marketplace.oversight.views import bp as oversight_bp
    from marketplace.plans.views import bp as plans_bp
    from marketplace.produce.views import bp as produce_bp
    from marketplace.reports.views import bp as reports_bp
    from marketplace.resources.views import bp as resources_bp
    from marketplace.search.views import bp as search_bp

    for blueprint in (
        home_bp,
        accounts_bp,
        households_bp,
        plans_bp,
        imports_bp,
        needs_bp,
        resources_bp,
        matches_bp,
        notifications_bp,
        search_bp,
        oversight_bp,
        reports_bp,
        api_bp,
        jobs_bp,
        work_bp,
        followups_bp,
        produce_bp,
    ):
        app.register_blueprint(blueprint)


def _error_response(code: int, message: str) -> Any:
    """JSON for the API, a page for everyone else; never a traceback."""
    if request.path.startswith("/api/"):
        return {"status": code, "message": message}, code
    return render_template("error.html", code=code, message=message), code


def _register_errors(app: Flask) -> None:
    from marketplace.errors import ServiceError

    @app.errorhandler(ServiceError)
    def refused(exc: ServiceError) -> Any:
        # A rule the user broke: nothing of the attempted change is kept.
        db.session.rollback()
        return _error_response(exc.status, str(exc.message))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        code = exc.code or 500
        messages = {
            400: _("The request could not be understood. Please check what you entered."),
            401: _("Please sign in to see this page."),
            403: _("You do not have permission to do this."),
            404: _("The page or record was not found."),
            405: _("This action is not allowed here."),
            409: _("This action conflicts with the current state of the record."),
            413: _("The upload is too large."),
            422: _("The request could not be understood. Please check what you entered."),
            429: _("Too many attempts. Please wait a moment and try again."),
        }
        response = _error_response(
            code, messages.get(code, _("Something went wrong. Please try again later."))
        )
        if code == 405:  # say which methods the resource does answer
            body, status = response
            allowed = dict(exc.get_headers()).get("Allow", "")
            return body, status, {"Allow": allowed} if allowed else {}
        return response

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception) -> Any:
        app.logger.exception("unhandled error on %s", request.path)
        db.session.rollback()
        return _error_response(500, _("Something went wrong. Please try again later."))

    # The database gone for a moment (restarted, failed over, a dropped connection, a deadlock):
    # 503 with Retry-After, not 500. The pool checks a connection before each use
    # (pool_pre_ping) and drops broken ones, so requests succeed again once it is back.
    from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
    from werkzeug.exceptions import InternalServerError

    database_errors = (OperationalError, InterfaceError, DisconnectionError)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(DisconnectionError)
    def database_unavailable(exc: Exception) -> Any:
        # The driver's first line only ("database is locked", "deadlock detected", "connection
        # failed: ..."): the rest of the text may carry the statement's parameters (personal data).
        cause = getattr(exc, "orig", None) or exc
        first = (str(cause).splitlines() or [""])[0][:200]
        app.logger.error(
            "database unavailable on %s: %s: %s", request.path, type(cause).__name__, first
        )
        try:
            db.session.rollback()
        except Exception:  # the connection is gone; the pool replaces it
            db.session.remove()
        from flask import g

        g._login_user = login_manager.anonymous_user()  # the page must not read the database
        message = _("The database cannot be reached for a moment. Please try again shortly.")
        try:
            body, status = _error_response(503, message)
        except Exception:  # even the page failed: plain text
            body, status = message, 503
        return body, status, {"Retry-After": str(app.config.get("RETRY_AFTER_SECONDS", 5))}

    @app.errorhandler(InternalServerError)
    def server_error(exc: InternalServerError) -> Any:
        # An error after the view (the commit) reaches here wrapped as a 500.
        if isinstance(exc.original_exception, database_errors):
            return database_unavailable(exc.original_exception)
        return http_error(exc)


def _register_template_helpers(app: Flask) -> None:
    from flask_wtf import FlaskForm

    from marketplace import privacy

    @app.context_processor
    def inject() -> dict[str, Any]:
        from flask_babel import get_locale
        from flask_login import current_user

        from marketplace.notifications.services import unread_count
        from marketplace.vocab import CATEGORIES, HouseholdStatus, PovertyCause

        return {
            "categories": CATEGORIES,
            "household_statuses": {s.value: s for s in HouseholdStatus},
            "poverty_causes": {c.value: c for c in PovertyCause},
            "unread": unread_count(current_user) if current_user.is_authenticated else 0,
            "current_locale": str(get_locale()),
            "languages": app.config["LANGUAGES"],
            # An empty form gives POST-only buttons their CSRF token.
            # formdata=None: it must not read the body (an oversized one raises again).
            "csrf_form": FlaskForm(formdata=None),
        }

    from marketplace.permissions import may_open
    from marketplace.roles import Role

    app.jinja_env.filters["explain"] = _explain
    app.jinja_env.filters["score_lines"] = _score_lines
    app.jinja_env.globals["may_open"] = may_open
    app.jinja_env.globals["Role"] = Role
    app.jinja_env.filters["mask_name"] = privacy.mask_name
    app.jinja_env.filters["mask_id"] = privacy.mask_id_number
    app.jinja_env.filters["mask_phone"] = privacy.mask_phone
    from marketplace.timefmt import FILTERS as time_filters

    app.jinja_env.filters.update(time_filters)  # Beijing time, stored UTC
    from marketplace.audit.checkpoints import latest_checkpoint

    # The disclosure page publishes the latest signed checkpoint of the audit trail.
    app.jinja_env.globals["latest_audit_checkpoint"] = latest_checkpoint


# The scorer brings NumPy and SciPy: imported when a page first explains a score, not at start.
def _explain(*args: Any, **kwargs: Any) -> Any:
    from marketplace.matches.scoring import explain

    return explain(*args, **kwargs)


def _score_lines(*args: Any, **kwargs: Any) -> Any:
    from marketplace.matches.scoring import score_lines

    return score_lines(*args, **kwargs)
