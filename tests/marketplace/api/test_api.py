"""The JSON API: documented, masked like the pages, same rules, token and cookie auth."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.accounts.services import create_token
from marketplace.matches.models import Match
from tests.conftest import World


@pytest.fixture
def token_for(db: Any) -> Any:
    def make(user: Any) -> dict[str, str]:
        _token, plain = create_token(user, "测试系统")
        db.session.commit()
        return {"Authorization": f"Bearer {plain}"}

    return make


def test_openapi_document_and_local_docs(client: Any, db: Any) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert (
        "/api/v1/needs/{need_id}/pledge" in paths and "/api/v1/matches/{match_id}/confirm" in paths
    )
    docs = client.get("/api/v1/docs").data.decode()
    assert "cdn" not in docs.lower() and "swagger-ui-bundle.js" in docs
    with client.get("/api/v1/docs/assets/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200
    assert client.get("/api/v1/docs/assets/../../secret").status_code == 404


def test_public_reads_are_masked(client: Any, db: Any, world: World) -> None:
    needs = client.get("/api/v1/needs").get_json()
    item = next(n for n in needs if n["id"] == world.need.id)
    assert item["household"]["name"] == "张**"
    body = client.get(f"/api/v1/needs/{world.need.id}").data.decode()
    for secret in (
        world.household.head_name,
        world.household.head_id_number,
        world.household.phone,
    ):
        assert secret not in body
    resources = client.get("/api/v1/resources").get_json()
    assert [r["id"] for r in resources] == [world.resource.id]


def test_households_need_sign_in_and_scope(
    client: Any, db: Any, world: World, token_for: Any
) -> None:
    assert client.get("/api/v1/households").status_code == 401
    staff = client.get("/api/v1/households", headers=token_for(world.staff)).get_json()
    assert staff[0]["id_number"] == world.household.head_id_number
    auditor = client.get("/api/v1/households", headers=token_for(world.auditor)).get_json()
    assert auditor[0]["name"] == "张**" and "*" in auditor[0]["id_number"]
    assert world.household.phone not in str(auditor)
    other = token_for(world.other_staff)
    assert client.get(f"/api/v1/households/{world.household.id}", headers=other).status_code == 404
    donor = token_for(world.donor)
    assert client.get("/api/v1/households", headers=donor).status_code == 403


def test_full_match_through_the_api_with_tokens(
    client: Any, db: Any, world: World, token_for: Any
) -> None:
    donor, admin, staff = token_for(world.donor), token_for(world.admin), token_for(world.staff)
    created = client.post(
        f"/api/v1/needs/{world.need.id}/pledge",
        json={"resource_id": world.resource.id, "quantity": 1},
        headers=donor,
    )
    assert created.status_code == 201, created.data
    match_id = created.get_json()["id"]
    assert created.get_json()["household"] == "张**"
    assert client.post(f"/api/v1/matches/{match_id}/approve", headers=donor).status_code == 403
    assert client.post(f"/api/v1/matches/{match_id}/approve", headers=admin).status_code == 200
    again = client.post(f"/api/v1/matches/{match_id}/approve", headers=admin)
    assert again.status_code == 409 and again.get_json()["message"]
    client.post(f"/api/v1/matches/{match_id}/deliver", json={"note": "已送"}, headers=donor)
    confirm = client.post(
        f"/api/v1/matches/{match_id}/confirm",
        json={"received_quantity": 1, "received_on": date.today().isoformat(), "satisfaction": 4},
        headers=staff,
    )
    assert confirm.status_code == 200, confirm.data
    assert confirm.get_json()["status"] == "confirmed"


@pytest.mark.parametrize(
    "body",
    [
        {"resource_id": 1, "quantity": 0},
        {"resource_id": 1, "quantity": -2},
        {"resource_id": 1, "quantity": 1.5},
        {"resource_id": 1, "quantity": "1"},
        {"resource_id": 1},
        {},
    ],
)
def test_bad_pledges_get_4xx_and_change_nothing(
    client: Any, db: Any, world: World, token_for: Any, body: dict[str, Any]
) -> None:
    body = {**body, "resource_id": world.resource.id} if "resource_id" in body else body
    response = client.post(f"/api/v1/needs/{world.need.id}/pledge", json=body,
                           headers=token_for(world.donor))  # fmt: skip
    assert 400 <= response.status_code < 500
    assert db.session.scalar(sa.select(sa.func.count(Match.id))) == 0


def test_revoked_or_wrong_token_is_refused(client: Any, db: Any, world: World) -> None:
    token, plain = create_token(world.donor, "x")
    db.session.commit()
    headers = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/v1/matches", headers=headers).status_code == 200
    from marketplace.accounts.services import revoke_token

    revoke_token(world.donor, token)
    db.session.commit()
    assert client.get("/api/v1/matches", headers=headers).status_code == 401
    assert (
        client.get("/api/v1/matches", headers={"Authorization": "Bearer nope"}).status_code == 401
    )


def test_cookie_sessions_still_need_csrf(app: Any, db: Any, world: World) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client()
        page = client.get("/login").data.decode()
        import re

        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        client.post("/login", data={"username": "donor", "password": "testpass123",
                                    "csrf_token": csrf})  # fmt: skip
        response = client.post(f"/api/v1/needs/{world.need.id}/pledge",
                               json={"resource_id": world.resource.id, "quantity": 1})  # fmt: skip
        assert response.status_code == 400
        assert db.session.scalar(sa.select(sa.func.count(Match.id))) == 0
        ok = client.post(f"/api/v1/needs/{world.need.id}/pledge",
                         json={"resource_id": world.resource.id, "quantity": 1},
                         headers={"X-CSRFToken": csrf})  # fmt: skip
        assert ok.status_code == 201
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_token_pages(client: Any, db: Any, login: Any, world: World) -> None:
    login(world.donor)
    page = client.post("/account/tokens", data={"name": "县报表系统"}).data.decode()
    assert "fp_" in page
    from marketplace.accounts.models import ApiToken

    token = db.session.scalar(sa.select(ApiToken))
    assert token.name == "县报表系统" and token.token_hash not in page
    client.post(f"/account/tokens/{token.id}/revoke")
    db.session.refresh(token)
    assert token.revoked_at is not None
