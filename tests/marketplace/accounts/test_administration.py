"""Administrators verify organizations and manage accounts, only inside their region."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from marketplace.accounts.models import Role, User, VerificationStatus
from marketplace.audit.models import AuditEvent
from tests.conftest import BAIYIN, HUINING, JINGYUAN


def test_admin_verifies_an_organization_in_scope(
    client: Any, db: Any, login: Any, make_user: Any, make_org: Any, region: Any
) -> None:
    org = make_org(VerificationStatus.PENDING, region_code=JINGYUAN)
    admin = make_user(Role.ADMIN, [region(JINGYUAN)])
    login(admin)
    assert org.name in client.get("/admin/organizations").data.decode()
    response = client.post(f"/admin/organizations/{org.id}/verify", data={"reason": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert org.status == VerificationStatus.VERIFIED
    assert org.verified_by_id == admin.id
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "organization_verified")
    )
    assert event.object_id == org.id and event.before == {"status": "pending"}


def test_organization_outside_scope_is_not_found(
    client: Any, db: Any, login: Any, make_user: Any, make_org: Any, region: Any
) -> None:
    org = make_org(VerificationStatus.PENDING, region_code=HUINING)
    login(make_user(Role.ADMIN, [region(JINGYUAN)]))
    assert org.name not in client.get("/admin/organizations?status=all").data.decode()
    response = client.post(f"/admin/organizations/{org.id}/verify", data={"reason": ""})
    assert response.status_code == 404
    db.session.expire_all()
    assert org.status == VerificationStatus.PENDING


def test_rejection_needs_a_reason(
    client: Any, db: Any, login: Any, make_user: Any, make_org: Any, region: Any
) -> None:
    org = make_org(VerificationStatus.PENDING)
    login(make_user(Role.ADMIN, [region(BAIYIN)]))
    client.post(f"/admin/organizations/{org.id}/reject", data={"reason": "  "})
    db.session.expire_all()
    assert org.status == VerificationStatus.PENDING
    client.post(f"/admin/organizations/{org.id}/reject", data={"reason": "信用代码与名称不符"})
    db.session.expire_all()
    assert org.status == VerificationStatus.REJECTED
    assert org.status_reason == "信用代码与名称不符"


def test_auditor_cannot_verify(
    client: Any, db: Any, login: Any, make_user: Any, make_org: Any, region: Any
) -> None:
    org = make_org(VerificationStatus.PENDING)
    login(make_user(Role.AUDITOR, [region(BAIYIN)]))
    assert client.post(f"/admin/organizations/{org.id}/verify").status_code == 403
    db.session.expire_all()
    assert org.status == VerificationStatus.PENDING


def _new_user(client: Any, role: str, region_ids: list[int], username: str = "newstaff") -> Any:
    return client.post(
        "/admin/users/new",
        data={
            "role": role,
            "regions": [str(i) for i in region_ids],
            "username": username,
            "display_name": "新村干部",
            "phone": "",
            "email": "",
            "password": "initial2026",
        },
    )


def test_admin_creates_staff_for_villages_in_scope(
    client: Any, db: Any, login: Any, make_user: Any, region: Any, villages: Any
) -> None:
    login(make_user(Role.ADMIN, [region(JINGYUAN)]))
    two = villages(JINGYUAN)[:2]
    response = _new_user(client, "staff", [v.id for v in two])
    assert response.status_code == 302
    created = db.session.scalar(sa.select(User).where(User.username == "newstaff"))
    assert created.role == Role.STAFF
    assert {r.id for r in created.regions} == {v.id for v in two}


def test_admin_cannot_create_accounts_outside_scope(
    client: Any, db: Any, login: Any, make_user: Any, region: Any, villages: Any
) -> None:
    login(make_user(Role.ADMIN, [region(JINGYUAN)]))
    response = _new_user(client, "staff", [villages(HUINING)[0].id])
    assert response.status_code == 400
    assert db.session.scalar(sa.select(User).where(User.username == "newstaff")) is None


def test_staff_must_be_scoped_to_villages(
    client: Any, db: Any, login: Any, make_user: Any, region: Any
) -> None:
    login(make_user(Role.ADMIN, [region(BAIYIN)]))
    response = _new_user(client, "staff", [region(JINGYUAN).id])
    assert response.status_code == 400
    assert db.session.scalar(sa.select(User).where(User.username == "newstaff")) is None
    ok = _new_user(client, "admin", [region(JINGYUAN).id], username="countyadmin")
    assert ok.status_code == 302


def test_user_list_and_actions_are_scoped(
    client: Any, db: Any, login: Any, make_user: Any, region: Any, villages: Any
) -> None:
    mine = make_user(Role.STAFF, villages(JINGYUAN)[:1], username="mine")
    theirs = make_user(Role.STAFF, villages(HUINING)[:1], username="theirs")
    login(make_user(Role.ADMIN, [region(JINGYUAN)]))
    page = client.get("/admin/users").data.decode()
    assert "mine" in page and "theirs" not in page
    assert client.post(f"/admin/users/{theirs.id}/deactivate").status_code == 404
    assert client.post(f"/admin/users/{mine.id}/deactivate").status_code == 302
    db.session.expire_all()
    assert mine.active is False and theirs.active is True


def test_disabled_account_cannot_sign_in(client: Any, db: Any, make_user: Any, region: Any) -> None:
    user = make_user(Role.AUDITOR, [region(BAIYIN)], active=False)
    from tests.conftest import PASSWORD

    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 403
    assert "该账号已停用" in response.data.decode()
