"""The JSON API: documented, masked like the pages, same rules, token and cookie auth."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import TokenScope
from marketplace.accounts.services import create_token
from marketplace.matches.models import Match
from marketplace.timefmt import beijing_today
from tests.conftest import World


@pytest.fixture
def token_for(db: Any) -> Any:
    def make(user: Any) -> dict[str, str]:
        _token, plain = create_token(user, "测试系统", scope=TokenScope.WRITE)
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


def test_openapi_document_declares_security_errors_and_search(client: Any, db: Any) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["BearerAuth"] == {
        **spec["components"]["securitySchemes"]["BearerAuth"],
        "type": "http",
        "scheme": "bearer",
    }
    paths = spec["paths"]
    search = paths["/api/v1/search"]["get"]
    assert {p["name"] for p in search["parameters"]} >= {"q", "type", "category", "page"}
    assert search["security"] == [{}, {"BearerAuth": []}]  # anyone; a token sees the same
    households = paths["/api/v1/households/{household_id}"]["get"]
    assert households["security"] == [{"BearerAuth": []}]
    assert {"200", "400", "401", "403", "404"} <= set(households["responses"])
    for path, operations in paths.items():
        for method, operation in operations.items():
            if method == "post":
                assert {"400", "401", "403", "404", "409", "413"} <= set(operation["responses"])
                body = operation.get("requestBody")
                # A delivery or a hand-over may say nothing (today, no note).
                optional = path.endswith(("/deliver", "/hand_over"))
                assert body is None or body["required"] == (not optional), path
            param_ids = [p for p in operation["parameters"] if p["in"] == "path"]
            assert all(p["schema"]["maximum"] == 2**31 - 1 for p in param_ids), path
    schemas = spec["components"]["schemas"]
    # Money is a decimal string, scores are numbers: declared so, sent so.
    assert schemas["NeedOut"]["properties"]["estimated_value"]["type"] == "string"
    assert schemas["ResourceOut"]["properties"]["unit_value"]["format"] == "decimal"
    assert schemas["MatchOut"]["properties"]["score"]["type"] == ["number", "null"]
    assert schemas["SuggestionOut"]["properties"]["score"]["type"] == "number"
    assert set(schemas["ErrorOut"]["required"]) == {"status", "message"}


def test_money_and_scores_are_sent_as_declared(
    client: Any, db: Any, world: World, token_for: Any
) -> None:
    need = client.get(f"/api/v1/needs/{world.need.id}").get_json()
    assert need["estimated_value"] == "0.00"
    resource = client.get(f"/api/v1/resources/{world.resource.id}").get_json()
    assert resource["unit_value"] == "1200.00"
    created = client.post(
        f"/api/v1/needs/{world.need.id}/pledge",
        json={"resource_id": world.resource.id, "quantity": 1},
        headers=token_for(world.donor),
    ).get_json()
    assert isinstance(created["score"], float) and round(created["score"], 4) == created["score"]
    suggestions = client.get(
        f"/api/v1/needs/{world.need.id}/suggestions", headers=token_for(world.staff)
    ).get_json()
    assert suggestions and all(isinstance(s["score"], float) for s in suggestions)


def test_search_is_an_api_operation(client: Any, db: Any, world: World) -> None:
    answer = client.get("/api/v1/search", query_string={"q": "洗衣机", "type": "planet"})
    assert answer.status_code == 200
    body = answer.get_json()
    assert set(body) == {"total", "total_capped", "page", "notes", "facets", "hits"}
    assert len(body["notes"]) == 1  # the unknown type, ignored with a note


def test_token_answers_are_not_stored_by_caches(
    client: Any, db: Any, world: World, token_for: Any
) -> None:
    staff = token_for(world.staff)
    for path in (f"/api/v1/households/{world.household.id}", f"/api/v1/needs/{world.need.id}"):
        answer = client.get(path, headers=staff)
        assert answer.status_code == 200
        assert answer.headers["Cache-Control"] == "no-store", path
    # Refusals to a token too (they may say what exists).
    assert client.get("/api/v1/households/999", headers=staff).headers["Cache-Control"] == (
        "no-store"
    )


def test_unsupported_methods_answer_405_with_allow(client: Any, db: Any, world: World) -> None:
    for path, allowed in (
        ("/api/v1/needs", {"GET", "HEAD", "OPTIONS"}),
        (f"/api/v1/matches/{world.need.id}/approve", {"POST", "OPTIONS"}),
        ("/login", {"GET", "HEAD", "OPTIONS", "POST"}),
    ):
        for method in ("TRACE", "PUT", "DELETE"):
            answer = client.open(path, method=method)
            assert answer.status_code == 405, (method, path)
            assert {m.strip() for m in answer.headers["Allow"].split(",")} == allowed
    api = client.open("/api/v1/needs", method="TRACE")
    assert api.is_json and api.get_json()["status"] == 405 and api.get_json()["message"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/needs?limit=0", None),
        ("get", "/api/v1/needs?limit=abc", None),
        ("get", "/api/v1/needs?category=nope", None),
        ("get", "/api/v1/needs/99999999999999999999", None),
        ("get", "/api/v1/resources/2147483648", None),
        ("get", "/api/v1/search?q=a%00b", None),
        ("post", "/api/v1/needs/{need}/pledge", {"resource_id": 10**30, "quantity": 1}),
        ("post", "/api/v1/needs/{need}/pledge", {"resource_id": "{resource}", "quantity": 1}),
        ("post", "/api/v1/needs/{need}/pledge", {"resource_id": True, "quantity": 1}),
        ("post", "/api/v1/needs/{need}/pledge", {"resource_id": 1, "quantity": 1.5}),
        ("post", "/api/v1/needs/{need}/pledge", ["not", "an", "object"]),
        ("post", "/api/v1/needs/{need}/pledge", "null"),
        ("post", "/api/v1/matches/1/deliver", {"note": "送达\u0000"}),
        ("post", "/api/v1/matches/1/reject", {"reason": "   "}),
        ("post", "/api/v1/matches/1/confirm", {"received_quantity": 1, "received_on": "x",
                                                "satisfaction": 3}),
    ],
)  # fmt: skip
def test_odd_input_gets_a_clear_4xx(
    client: Any, db: Any, world: World, token_for: Any, method: str, path: str, body: Any
) -> None:
    path = path.format(need=world.need.id)
    if isinstance(body, dict) and body.get("resource_id") == "{resource}":
        body = {**body, "resource_id": str(world.resource.id)}  # a string is not an integer
    headers = token_for(world.donor if "pledge" in path or "deliver" in path else world.admin)
    if body == "null":
        answer = client.open(path, method=method.upper(), data="null", headers=headers,
                             content_type="application/json")  # fmt: skip
    else:
        answer = client.open(path, method=method.upper(), json=body, headers=headers)
    assert 400 <= answer.status_code < 500, answer.data
    error = answer.get_json()
    assert error["status"] == answer.status_code and error["message"]
    assert db.session.scalar(sa.select(sa.func.count(Match.id))) == 0


def test_a_body_over_the_limit_is_a_json_413(
    app: Any, client: Any, db: Any, world: World, token_for: Any
) -> None:
    headers = token_for(world.donor)
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1000
    try:
        for content_type in ("application/json", "application/x-www-form-urlencoded"):
            answer = client.post(
                f"/api/v1/matches/{world.need.id}/deliver",
                data='{"note": "' + "x" * 2000 + '"}',
                content_type=content_type,
                headers=headers,
            )
            assert answer.status_code == 413, content_type
            assert answer.get_json()["status"] == 413 and answer.get_json()["message"]
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit


def test_a_rule_refusal_of_well_formed_input_is_a_409(
    client: Any, db: Any, world: World, token_for: Any
) -> None:
    answer = client.post(
        f"/api/v1/needs/{world.need.id}/pledge",
        json={"resource_id": world.resource.id, "quantity": 5},  # the need has 1 open
        headers=token_for(world.donor),
    )
    assert answer.status_code == 409
    assert answer.get_json() == {"status": 409, "message": "该需求仅剩 1 待对接。"}


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
        json={
            "received_quantity": 1,
            "received_on": beijing_today().isoformat(),
            "satisfaction": 4,
        },
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
