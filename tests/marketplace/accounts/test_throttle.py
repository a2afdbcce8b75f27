"""Failed sign-ins slow down one address for one account; they never lock the owner out."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from marketplace.accounts.models import LoginThrottle, Role
from marketplace.audit.models import AuditEvent
from tests.conftest import BAIYIN, JINGYUAN, PASSWORD
from tests.pages import submit

ATTACKER = {"REMOTE_ADDR": "203.0.113.7"}
OWNER = {"REMOTE_ADDR": "198.51.100.20"}


def _sign_in(client: Any, username: str, password: str, where: dict[str, str]) -> Any:
    return submit(
        client,
        "/login",
        {"username": username, "password": password},
        environ_base=where,
    )


def _fail_until_throttled(app: Any, username: str) -> list[int]:
    attacker = app.test_client()
    return [
        _sign_in(attacker, username, "wrong1234", ATTACKER).status_code
        for _ in range(app.config["LOGIN_MAX_FAILURES"])
    ]


def test_failures_make_that_address_wait_not_the_owner(
    app: Any, client: Any, db: Any, make_user: Any
) -> None:
    user = make_user(Role.SUPERUSER)
    codes = _fail_until_throttled(app, user.username)
    assert codes[:-1] == [401] * (len(codes) - 1) and codes[-1] == 429
    # The attacker's address now waits, even with the right password.
    attacker = app.test_client()
    refused = _sign_in(attacker, user.username, PASSWORD, ATTACKER)
    assert refused.status_code == 429
    text = refused.data.decode()
    assert "分钟" in text and "15" in text  # says how long, in Chinese
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert 'name="username"' in text  # the form again, not a bare error page
    # The owner, elsewhere, signs in as usual.
    assert _sign_in(client, user.username, PASSWORD, OWNER).status_code == 302
    assert client.get("/dashboard").status_code == 200
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"login_failed", "login_throttled", "login_refused_throttled", "login"} <= actions


def test_unknown_names_are_throttled_alike(app: Any, db: Any) -> None:
    codes = _fail_until_throttled(app, "ghost")
    assert codes[-1] == 429
    throttle = db.session.scalar(sa.select(LoginThrottle))
    assert throttle.username == "ghost" and throttle.address == ATTACKER["REMOTE_ADDR"]


def test_a_success_clears_the_count_for_that_address(
    app: Any, client: Any, db: Any, make_user: Any
) -> None:
    user = make_user(Role.SUPERUSER)
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        assert _sign_in(client, user.username, "wrong1234", OWNER).status_code == 401
    assert _sign_in(client, user.username, PASSWORD, OWNER).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(LoginThrottle.id))) == 0


def test_administrator_lifts_the_throttle(
    app: Any, client: Any, db: Any, login: Any, make_user: Any, region: Any, villages: Any
) -> None:
    staff = make_user(Role.STAFF, villages(JINGYUAN)[:1])
    _fail_until_throttled(app, staff.username)
    login(make_user(Role.ADMIN, [region(BAIYIN)]))
    page = client.get("/admin/users").data.decode()
    assert "登录受限" in page
    response = submit(client, "/admin/users", action=f"/admin/users/{staff.id}/unlock")
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(LoginThrottle.id))) == 0
    assert _sign_in(app.test_client(), staff.username, PASSWORD, ATTACKER).status_code == 302


def test_the_wait_ends(app: Any, db: Any, make_user: Any) -> None:
    from datetime import timedelta

    from marketplace.db import utcnow

    user = make_user(Role.SUPERUSER)
    _fail_until_throttled(app, user.username)
    db.session.execute(sa.update(LoginThrottle).values(blocked_until=utcnow() - timedelta(1)))
    db.session.commit()
    attacker = app.test_client()
    assert _sign_in(attacker, user.username, "wrong1234", ATTACKER).status_code == 401
    assert _sign_in(attacker, user.username, PASSWORD, ATTACKER).status_code == 302
