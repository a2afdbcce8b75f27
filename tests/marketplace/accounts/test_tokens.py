"""API tokens: scope and expiry, and every way an account's tokens end."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from marketplace.accounts.models import ApiToken, Role, TokenScope, User
from marketplace.accounts.services import create_token, today_in_beijing
from tests.conftest import JINGYUAN, PASSWORD, World
from tests.pages import submit


def _bearer(plain: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {plain}"}


def _token(db: Any, user: User, scope: TokenScope = TokenScope.WRITE, **kw: Any) -> str:
    _token, plain = create_token(user, "对接系统", scope=scope, **kw)
    db.session.commit()
    return plain


def test_token_page_creates_a_read_only_token_with_expiry(
    client: Any, db: Any, login: Any, world: World
) -> None:
    login(world.donor)
    until = today_in_beijing() + timedelta(days=30)
    page = submit(
        client, "/account/tokens", {"name": "县报表系统", "expires_on": until.isoformat()}
    )
    assert page.status_code == 200
    text = page.data.decode()
    token = db.session.scalar(sa.select(ApiToken))
    assert token.scope == TokenScope.READ  # the default the form offers
    assert token.expires_on == until
    assert "fp_" in text and until.isoformat() in text and "只读" in text


def test_past_expiry_is_refused_at_the_field(
    client: Any, db: Any, login: Any, world: World
) -> None:
    login(world.donor)
    yesterday = (today_in_beijing() - timedelta(days=1)).isoformat()
    page = submit(client, "/account/tokens", {"name": "县报表系统", "expires_on": yesterday})
    assert page.status_code == 400
    text = page.data.decode()
    assert "县报表系统" in text and yesterday in text
    assert "有效期不能早于今天" in text
    assert db.session.scalar(sa.select(sa.func.count(ApiToken.id))) == 0


def test_read_only_token_reads_but_never_acts(client: Any, db: Any, world: World) -> None:
    plain = _token(db, world.donor, TokenScope.READ)
    assert client.get("/api/v1/matches", headers=_bearer(plain)).status_code == 200
    refused = client.post(
        f"/api/v1/needs/{world.need.id}/pledge",
        json={"resource_id": world.resource.id, "quantity": 1},
        headers=_bearer(plain),
    )
    assert refused.status_code == 403
    acting = _token(db, world.donor, TokenScope.WRITE)
    created = client.post(
        f"/api/v1/needs/{world.need.id}/pledge",
        json={"resource_id": world.resource.id, "quantity": 1},
        headers=_bearer(acting),
    )
    assert created.status_code == 201


def test_expired_token_is_refused(client: Any, db: Any, world: World) -> None:
    today = today_in_beijing()
    plain = _token(db, world.donor, expires_on=today)
    assert client.get("/api/v1/matches", headers=_bearer(plain)).status_code == 200
    db.session.execute(sa.update(ApiToken).values(expires_on=today - timedelta(days=1)))
    db.session.commit()
    assert client.get("/api/v1/matches", headers=_bearer(plain)).status_code == 401
    from marketplace.accounts.services import user_for_token

    assert user_for_token(plain) is None


def test_password_change_ends_tokens(client: Any, db: Any, login: Any, world: World) -> None:
    plain = _token(db, world.donor)
    login(world.donor)
    response = submit(
        client,
        "/account/password",
        {"current": PASSWORD, "new": "newpass2026", "confirm": "newpass2026"},
    )
    assert response.status_code == 302
    assert client.get("/api/v1/matches", headers=_bearer(plain)).status_code == 401


def test_deactivation_ends_tokens_and_sessions(
    app: Any, client: Any, db: Any, login: Any, make_user: Any, region: Any, villages: Any
) -> None:
    staff = make_user(Role.STAFF, villages(JINGYUAN)[:1])
    plain = _token(db, staff)
    theirs = app.test_client()
    login_as = theirs.post("/login", data={"username": staff.username, "password": PASSWORD})
    assert login_as.status_code == 302
    login(make_user(Role.ADMIN, [region(JINGYUAN)]))
    response = submit(client, "/admin/users", action=f"/admin/users/{staff.id}/deactivate")
    assert response.status_code == 302
    assert client.get("/api/v1/matches", headers=_bearer(plain)).status_code == 401
    assert theirs.get("/dashboard").status_code == 302
    db.session.expire_all()
    assert db.session.scalar(sa.select(ApiToken.revoked_at)) is not None
    # Re-enabled, the old token stays dead.
    submit(client, "/admin/users", action=f"/admin/users/{staff.id}/activate")
    assert client.get("/api/v1/matches", headers=_bearer(plain)).status_code == 401


def test_sign_out_everywhere(app: Any, client: Any, db: Any, login: Any, world: World) -> None:
    plain = _token(db, world.donor)
    other = app.test_client()
    other.post("/login", data={"username": world.donor.username, "password": PASSWORD})
    login(world.donor)
    page = client.get("/account/tokens").data.decode()
    assert "data-confirm" in page
    response = submit(client, "/account/tokens", action="/account/sign-out-everywhere")
    assert response.status_code == 302
    assert client.get("/dashboard").status_code == 302
    assert other.get("/dashboard").status_code == 302
    assert client.get("/api/v1/matches", headers=_bearer(plain)).status_code == 401


def test_revoke_asks_for_confirmation_and_revokes(
    client: Any, db: Any, login: Any, world: World
) -> None:
    plain = _token(db, world.donor)
    token_id = db.session.scalar(sa.select(ApiToken.id))
    login(world.donor)
    page = client.get("/account/tokens").data.decode()
    assert "读取并操作" in page
    response = submit(client, "/account/tokens", action=f"/account/tokens/{token_id}/revoke")
    assert response.status_code == 302
    assert client.get("/api/v1/matches", headers=_bearer(plain)).status_code == 401


def test_a_method_no_route_serves_stays_405_for_a_read_only_token(
    client: Any, db: Any, world: World
) -> None:
    plain = _token(db, world.donor, TokenScope.READ)
    answer = client.open("/api/v1/needs", method="TRACE", headers=_bearer(plain))
    assert answer.status_code == 405 and "GET" in answer.headers["Allow"]
