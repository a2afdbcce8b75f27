"""Who may use each route, and which regions each user may see.

Every view declares its rule with one of the decorators below; ``enforce_access`` runs before
every request and refuses a view that declared nothing, so a forgotten rule fails closed.
Objects outside a user's region scope answer 404, as if they did not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from flask import abort, current_app, request
from flask_login import current_user

from marketplace.roles import Role

if TYPE_CHECKING:
    from marketplace.accounts.models import User
    from marketplace.regions.models import Region

F = TypeVar("F", bound=Callable[..., Any])

# Endpoints served by extensions (static files) that need no rule of ours.
EXEMPT_ENDPOINTS = {"static", "bootstrap.static"}


@dataclass(frozen=True)
class AccessRule:
    login: bool
    roles: frozenset[Role] | None = None  # None: any signed-in user

    def describe(self) -> str:
        if not self.login:
            return "public"
        if self.roles is None:
            return "signed-in"
        return ",".join(sorted(r.value for r in self.roles))


def _declare(rule: AccessRule) -> Callable[[F], F]:
    def mark(view: F) -> F:
        view.access_rule = rule  # type: ignore[attr-defined]
        return view

    return mark


public = _declare(AccessRule(login=False))
signed_in = _declare(AccessRule(login=True))


def roles(*allowed: Role) -> Callable[[F], F]:
    return _declare(AccessRule(login=True, roles=frozenset(allowed)))


def declare_extension_routes(app: Any) -> None:
    """Routes added by extensions: the OpenAPI document is public."""
    if "openapi.spec" in app.view_functions:
        public(app.view_functions["openapi.spec"])


def access_rule_of(endpoint: str) -> AccessRule | None:
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access_rule", None)


def may_open(endpoint: str) -> bool:
    """Whether the current user passes the rule the route declares: the menu and the links to
    a route show only to those it would let in (the rule is written once, on the route)."""
    rule = access_rule_of(endpoint)
    if rule is None:
        return False
    if not rule.login:
        return True
    if not current_user.is_authenticated:
        return False
    return rule.roles is None or current_user.role in rule.roles


def enforce_access() -> Any:
    """before_request hook: apply the rule declared by the matched view."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in EXEMPT_ENDPOINTS:
        return None
    rule = access_rule_of(endpoint)
    if rule is None:
        current_app.logger.error("route %s declares no access rule", endpoint)
        abort(403)
    if not rule.login:
        return None
    if not current_user.is_authenticated:
        if request.path.startswith("/api/"):
            abort(401)
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    if rule.roles is not None and current_user.role not in rule.roles:
        abort(403)
    return None


# --- region scope -------------------------------------------------------------------------


def scope_paths(user: User) -> list[str] | None:
    """Path prefixes of the regions the user may see; None means all (superuser)."""
    if user.role == Role.SUPERUSER:
        return None
    return [r.path for r in user.regions]


def region_clause(user: User, path_column: Any) -> sa.ColumnElement[bool]:
    """A WHERE clause keeping rows whose region path lies inside the user's scope."""
    paths = scope_paths(user)
    if paths is None:
        return sa.true()
    if not paths:
        return sa.false()
    return sa.or_(*(path_column.startswith(p, autoescape=True) for p in paths))


def in_scope(user: User, region: Region | None) -> bool:
    if region is None:
        return False
    paths = scope_paths(user)
    return paths is None or any(region.path.startswith(p) for p in paths)
