"""Sign-in, server-side session invalidation, CSRF and rate limits (throttles: test_throttle)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from marketplace.accounts.models import Role, User
from marketplace.audit.models import AuditEvent
from tests.conftest import BAIYIN, PASSWORD


def _events(db: Any, action: str) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == action)
    )


def test_sign_in_and_out(client: Any, db: Any, make_user: Any, region: Any) -> None:
    user = make_user(Role.ADMIN, [region(BAIYIN)])
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/dashboard").status_code == 200
    assert _events(db, "login") == 1
    client.post("/logout")
    assert client.get("/dashboard").status_code == 302
    assert _events(db, "logout") == 1


def test_wrong_password_is_refused_and_recorded(client: Any, db: Any, make_user: Any) -> None:
    user = make_user(Role.SUPERUSER)
    response = client.post("/login", data={"username": user.username, "password": "nope12345"})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.data.decode()
    assert _events(db, "login_failed") == 1
    assert client.get("/dashboard").status_code == 302


def test_unknown_user_gets_the_same_message(client: Any, db: Any) -> None:
    response = client.post("/login", data={"username": "ghost", "password": "nope12345"})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.data.decode()


def test_logout_invalidates_the_session_on_the_server(
    app: Any, client: Any, db: Any, make_user: Any
) -> None:
    user = make_user(Role.SUPERUSER)
    client.post("/login", data={"username": user.username, "password": PASSWORD})
    stolen = app.test_client()
    cookie = client.get_cookie("session")
    stolen.set_cookie("session", cookie.value, domain=cookie.domain)
    assert stolen.get("/dashboard").status_code == 200
    client.post("/logout")
    # The copied cookie still carries the old token, which the server no longer accepts.
    assert stolen.get("/dashboard").status_code == 302


def test_password_change_ends_other_sessions(
    app: Any, client: Any, db: Any, make_user: Any
) -> None:
    user = make_user(Role.SUPERUSER)
    other = app.test_client()
    for c in (client, other):
        c.post("/login", data={"username": user.username, "password": PASSWORD})
    response = client.post(
        "/account/password",
        data={"current": PASSWORD, "new": "newpass2026", "confirm": "newpass2026"},
    )
    assert response.status_code == 302
    assert other.get("/dashboard").status_code == 302
    ok = client.post("/login", data={"username": user.username, "password": "newpass2026"})
    assert ok.status_code == 302


def test_weak_new_password_changes_nothing(client: Any, db: Any, make_user: Any) -> None:
    user = make_user(Role.SUPERUSER)
    client.post("/login", data={"username": user.username, "password": PASSWORD})
    before = user.password_hash
    response = client.post(
        "/account/password", data={"current": PASSWORD, "new": "short", "confirm": "short"}
    )
    assert response.status_code == 400
    assert "密码至少8位" in response.data.decode()
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == before


def test_next_parameter_never_leaves_the_site(client: Any, db: Any, make_user: Any) -> None:
    user = make_user(Role.SUPERUSER)
    response = client.post(
        "/login?next=https://evil.example/x",
        data={"username": user.username, "password": PASSWORD},
    )
    assert response.location.endswith("/dashboard")


def test_forms_need_a_csrf_token(app: Any, db: Any, make_user: Any) -> None:
    user = make_user(Role.SUPERUSER)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client()
        response = client.post("/login", data={"username": user.username, "password": PASSWORD})
        assert response.status_code == 400
        assert client.get("/dashboard").status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_login_attempts_are_rate_limited(app: Any, db: Any) -> None:
    from marketplace.extensions import limiter

    saved = app.config["LOGIN_RATE_LIMIT"]
    app.config["LOGIN_RATE_LIMIT"] = "5 per minute"
    limiter.reset()
    try:
        client = app.test_client()
        # Other names each time: the per-account throttle (test_throttle) stays out of it.
        codes = [
            client.post(
                "/login", data={"username": f"ghost{i}", "password": "x1234567"}
            ).status_code
            for i in range(7)
        ]
        assert codes[:5] == [401] * 5
        assert codes[5:] == [429, 429]
    finally:
        app.config["LOGIN_RATE_LIMIT"] = saved
        limiter.reset()
