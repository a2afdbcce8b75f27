"""accounts/policy.py: who may verify, reject and resubmit an organization and manage an
account (role x region scope x state), the pages showing exactly those buttons, and a raced
verification refused with 409."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.accounts import policy, services
from marketplace.accounts.models import (
    LoginThrottle,
    Organization,
    OrganizationKind,
    Role,
    User,
    VerificationStatus,
)
from marketplace.audit.models import AuditEvent
from marketplace.db import utcnow
from marketplace.errors import ServiceError
from marketplace.extensions import db as _db
from tests.conftest import BAIYIN, HUINING, JINGYUAN
from tests.pages import forms_of, submit_on

P, V, R = VerificationStatus.PENDING, VerificationStatus.VERIFIED, VerificationStatus.REJECTED
ORG_ID = 500


def _user(role: Role, regions: list[Any] | None = None, **values: Any) -> User:
    """An account that never reaches the database: the rules read only these fields."""
    return User(role=role, regions=regions or [], active=True, **values)


def _first_village(code: str) -> Any:
    from marketplace.regions.models import Region, RegionLevel
    from marketplace.regions.services import by_code

    parent = by_code(code)
    assert parent is not None
    return _db.session.scalars(
        sa.select(Region)
        .where(Region.level == RegionLevel.VILLAGE, Region.path.startswith(parent.path))
        .order_by(Region.code)
    ).first()


# Who acts on an organization registered in 靖远县, and in which states each action is allowed.
#   who: (role, region of the account, member of the organization)
ORGANIZATION_TABLE = [
    # who                                 verify    reject    resubmit
    ((Role.ADMIN, JINGYUAN, False), {P, R}, {P, V}, set()),
    ((Role.ADMIN, BAIYIN, False), {P, R}, {P, V}, set()),  # an enclosing region
    ((Role.ADMIN, HUINING, False), set(), set(), set()),  # another county
    ((Role.ADMIN, JINGYUAN, True), set(), set(), set()),  # never their own
    ((Role.SUPERUSER, None, False), {P, R}, {P, V}, set()),
    ((Role.AUDITOR, JINGYUAN, False), set(), set(), set()),
    ((Role.STAFF, "village", False), set(), set(), set()),
    ((Role.DONOR, None, True), set(), set(), {P, R}),  # its member corrects it
    ((Role.DONOR, None, False), set(), set(), set()),  # another donor
]


@pytest.mark.parametrize("state", [P, V, R])
@pytest.mark.parametrize(("who", "verify", "reject", "resubmit"), ORGANIZATION_TABLE)
def test_who_decides_on_an_organization(
    db: Any,
    region: Any,
    who: tuple[Role, str | None, bool],
    state: VerificationStatus,
    verify: set[VerificationStatus],
    reject: set[VerificationStatus],
    resubmit: set[VerificationStatus],
) -> None:
    role, code, member = who
    org = Organization(
        id=ORG_ID, name="靖远县某企业", kind=OrganizationKind.ENTERPRISE,
        region=region(JINGYUAN), status=state,
    )  # fmt: skip
    user = _user(role, _regions(region, code), id=1, organization_id=ORG_ID if member else None)
    expected = {"verify": state in verify, "reject": state in reject,
                "resubmit": state in resubmit}  # fmt: skip
    assert policy.organization_actions(user, org) == expected
    assert policy.can_verify_organization(user, org) == expected["verify"]
    assert policy.can_reject_organization(user, org) == expected["reject"]
    assert policy.can_resubmit(user, org) == expected["resubmit"]


def test_a_superuser_decides_on_an_organization_without_a_region(db: Any) -> None:
    org = Organization(id=ORG_ID, name="无地区", kind=OrganizationKind.INDIVIDUAL, status=P)
    assert policy.can_verify_organization(_user(Role.SUPERUSER, id=1), org)
    assert not policy.administers_organization(_user(Role.ADMIN, id=1), org)


def test_the_workflow_of_a_verification() -> None:
    moves = {s: {t for t in VerificationStatus if t in policy.WORKFLOW.moves[s]} for s in (P, V, R)}
    assert moves == {P: {V, R, P}, R: {P, V}, V: {R}}


# Who manages which account. The actor's region and the account's: codes, "village" (the
# first village of 靖远县), "huining village", "both" (one village in each county), "org"
# (a donor of an organization registered in 靖远县), "no org" (a donor without one).
MANAGE_TABLE = [
    # actor                      account                      manage  villages
    ((Role.ADMIN, JINGYUAN), (Role.STAFF, "village"), True, True),
    ((Role.ADMIN, JINGYUAN), (Role.STAFF, "huining village"), False, False),
    ((Role.ADMIN, JINGYUAN), (Role.STAFF, "both"), False, False),  # every region inside
    ((Role.ADMIN, JINGYUAN), (Role.STAFF, None), False, False),
    ((Role.ADMIN, JINGYUAN), (Role.DONOR, "org"), True, False),
    ((Role.ADMIN, HUINING), (Role.DONOR, "org"), False, False),
    ((Role.ADMIN, JINGYUAN), (Role.DONOR, "no org"), False, False),
    ((Role.ADMIN, JINGYUAN), (Role.AUDITOR, JINGYUAN), True, False),
    ((Role.ADMIN, JINGYUAN), (Role.ADMIN, BAIYIN), False, False),  # above them
    ((Role.ADMIN, BAIYIN), (Role.ADMIN, JINGYUAN), True, False),
    ((Role.ADMIN, BAIYIN), (Role.SUPERUSER, None), False, False),
    ((Role.SUPERUSER, None), (Role.ADMIN, BAIYIN), True, False),
    ((Role.SUPERUSER, None), (Role.STAFF, "village"), True, True),
    ((Role.SUPERUSER, None), (Role.SUPERUSER, None), True, False),  # another superuser
    ((Role.AUDITOR, BAIYIN), (Role.STAFF, "village"), False, False),
    ((Role.STAFF, "village"), (Role.STAFF, "village"), False, False),
    ((Role.DONOR, None), (Role.DONOR, "org"), False, False),
]


def _regions(region: Any, code: str | None) -> list[Any]:
    if code in (None, "org", "no org"):
        return []
    if code == "village":
        return [_first_village(JINGYUAN)]
    if code == "huining village":
        return [_first_village(HUINING)]
    if code == "both":
        return [_first_village(JINGYUAN), _first_village(HUINING)]
    return [region(code)]


@pytest.mark.parametrize(("actor_is", "account_is", "manage", "villages"), MANAGE_TABLE)
def test_who_manages_an_account(
    db: Any,
    region: Any,
    actor_is: tuple[Role, str | None],
    account_is: tuple[Role, str | None],
    manage: bool,
    villages: bool,
) -> None:
    actor = _user(actor_is[0], _regions(region, actor_is[1]), id=1)
    role, code = account_is
    org = Organization(id=ORG_ID, name="靖远县某企业", kind=OrganizationKind.ENTERPRISE,
                       region=region(JINGYUAN)) if code == "org" else None  # fmt: skip
    account = _user(role, _regions(region, code), id=2, organization=org)
    assert policy.can_manage_user(actor, account) is manage
    assert policy.can_assign_villages(actor, account) is villages
    for active in (True, False):
        account.active = active
        for throttled in (True, False):
            assert policy.user_actions(actor, account, throttled=throttled) == {
                "deactivate": manage and active,
                "activate": manage and not active,
                "reset_password": manage,
                "assign_villages": villages,
                "unlock": manage and throttled,
            }


@pytest.mark.parametrize("role", list(Role))
def test_nobody_manages_their_own_account(db: Any, region: Any, role: Role) -> None:
    me = _user(role, [region(BAIYIN)] if role != Role.SUPERUSER else [], id=1)
    assert not policy.can_manage_user(me, me)


CREATE_TABLE = [
    # actor                 role            regions              allowed
    ((Role.ADMIN, JINGYUAN), None, [], True),
    ((Role.ADMIN, JINGYUAN), Role.STAFF, ["village"], True),
    ((Role.ADMIN, JINGYUAN), Role.AUDITOR, [JINGYUAN], True),
    ((Role.ADMIN, JINGYUAN), Role.STAFF, ["huining village"], False),
    ((Role.ADMIN, JINGYUAN), Role.ADMIN, [BAIYIN], False),
    ((Role.ADMIN, JINGYUAN), Role.SUPERUSER, [JINGYUAN], False),
    ((Role.ADMIN, JINGYUAN), Role.DONOR, [JINGYUAN], False),
    ((Role.SUPERUSER, None), Role.ADMIN, [BAIYIN], True),
    ((Role.AUDITOR, BAIYIN), None, [], False),
    ((Role.STAFF, "village"), Role.STAFF, ["village"], False),
    ((Role.DONOR, None), None, [], False),
]


@pytest.mark.parametrize(("actor_is", "role", "codes", "allowed"), CREATE_TABLE)
def test_who_creates_which_accounts_where(
    db: Any,
    region: Any,
    actor_is: tuple[Role, str | None],
    role: Role | None,
    codes: list[str],
    allowed: bool,
) -> None:
    actor = _user(actor_is[0], _regions(region, actor_is[1]), id=1)
    regions = [r for code in codes for r in _regions(region, code)]
    assert policy.can_create_user(actor, role, regions) is allowed


# --- the pages show exactly the allowed buttons ----------------------------------------------


def _posts(html: str) -> set[str]:
    return {f.action for f in forms_of(html) if f.method == "post" and "/admin/" in f.action}


def test_organizations_page_shows_the_allowed_decisions(
    client: Any, db: Any, login: Any, make_user: Any, make_org: Any, region: Any
) -> None:
    pending = make_org(P, region_code=JINGYUAN)
    verified = make_org(V, region_code=JINGYUAN)
    rejected = make_org(R, region_code=JINGYUAN, status_reason="材料不全")
    elsewhere = make_org(P, region_code=HUINING)
    login(make_user(Role.ADMIN, [region(JINGYUAN)]))
    html = client.get("/admin/organizations?status=all").get_data(as_text=True)
    base = "/admin/organizations"
    assert _posts(html) == {
        f"{base}/{pending.id}/verify",
        f"{base}/{pending.id}/reject",
        f"{base}/{verified.id}/reject",
        f"{base}/{rejected.id}/verify",
    }
    assert elsewhere.name not in html


def test_users_page_shows_the_allowed_actions(
    client: Any, db: Any, login: Any, make_user: Any, make_org: Any, region: Any, villages: Any
) -> None:
    admin = make_user(Role.ADMIN, [region(JINGYUAN)])
    staff = make_user(Role.STAFF, villages(JINGYUAN)[:1])
    disabled = make_user(Role.AUDITOR, [region(JINGYUAN)], active=False)
    donor = make_user(Role.DONOR, org=make_org(region_code=JINGYUAN))
    make_user(Role.ADMIN, [region(BAIYIN)])  # above the administrator: not listed
    db.session.add(LoginThrottle(username=donor.username, address="10.0.0.1", failures=5,
                                 blocked_until=utcnow() + timedelta(minutes=10)))  # fmt: skip
    db.session.commit()
    login(admin)
    html = client.get("/admin/users").get_data(as_text=True)
    users = "/admin/users"
    assert _posts(html) == {
        f"{users}/{staff.id}/deactivate",
        f"{users}/{staff.id}/reset-password",
        f"{users}/{disabled.id}/activate",
        f"{users}/{disabled.id}/reset-password",
        f"{users}/{donor.id}/deactivate",
        f"{users}/{donor.id}/reset-password",
        f"{users}/{donor.id}/unlock",
    }  # nothing for the administrator's own account
    assert f"{users}/{staff.id}/villages" in html  # only village staff are assigned villages
    assert not any(f"{users}/{u.id}/villages" in html for u in (admin, disabled, donor))


@pytest.mark.parametrize(("state", "offered"), [(P, True), (R, True), (V, False)])
def test_the_donor_dashboard_offers_resubmission_only_before_verification(
    client: Any, db: Any, login: Any, make_user: Any, make_org: Any, state: Any, offered: bool
) -> None:
    login(make_user(Role.DONOR, org=make_org(state, region_code=JINGYUAN)))
    assert ("/account/organization" in client.get("/dashboard").get_data(as_text=True)) is offered
    assert client.get("/account/organization").status_code == (200 if offered else 302)


# --- raced and illegal moves -------------------------------------------------------------------


def test_two_administrators_verifying_from_the_same_page(
    app: Any, db: Any, make_user: Any, make_org: Any, region: Any
) -> None:
    from tests.conftest import PASSWORD

    org = make_org(P, region_code=JINGYUAN)
    first, second = (make_user(Role.ADMIN, [region(code)]) for code in (JINGYUAN, BAIYIN))
    browsers = []
    for admin in (first, second):
        browser = app.test_client()
        browser.post("/login", data={"username": admin.username, "password": PASSWORD})
        browsers.append((browser, browser.get("/admin/organizations").get_data(as_text=True)))
    action = f"/admin/organizations/{org.id}/verify"
    (one, one_page), (two, two_page) = browsers
    assert submit_on(one, one_page, action=action).status_code == 302
    late = submit_on(two, two_page, action=action)
    assert late.status_code == 409
    assert "该操作与记录的当前状态冲突" in late.get_data(as_text=True)
    db.session.expire_all()
    org = db.session.get(Organization, org.id)
    assert org.status == V and org.verified_by_id == first.id
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "organization_verified")) == 1  # fmt: skip


def test_a_decision_on_a_stale_read_is_refused_as_raced(
    app: Any, db: Any, make_user: Any, make_org: Any, region: Any
) -> None:
    org = make_org(P, region_code=JINGYUAN)
    first, second = (make_user(Role.ADMIN, [region(code)]) for code in (JINGYUAN, BAIYIN))
    org_id, first_id = org.id, first.id
    assert org.status == P  # what the second administrator read
    with app.app_context():  # meanwhile, in another request, the first one rejects it
        services.verify_organization(
            _db.session.get(User, first_id), _db.session.get(Organization, org_id), False, "不符"
        )
        _db.session.commit()
        _db.session.remove()
    with pytest.raises(ServiceError) as refused:
        services.verify_organization(second, org, True)
    assert refused.value.status == 409
    assert str(refused.value.message) == str(policy.WORKFLOW.raced)
    db.session.rollback()
    db.session.expire_all()
    org = db.session.get(Organization, org_id)
    assert org.status == R and org.verified_by_id == first_id and org.status_reason == "不符"


def test_a_resubmission_raced_by_a_verification_is_refused(
    app: Any, db: Any, make_user: Any, make_org: Any, region: Any
) -> None:
    org = make_org(R, region_code=JINGYUAN, status_reason="材料不全")
    donor = make_user(Role.DONOR, org=org)
    admin = make_user(Role.ADMIN, [region(JINGYUAN)])
    org_id, admin_id, name = org.id, admin.id, org.name
    assert org.status == R
    with app.app_context():
        services.verify_organization(
            _db.session.get(User, admin_id), _db.session.get(Organization, org_id), True
        )
        _db.session.commit()
        _db.session.remove()
    with pytest.raises(ServiceError) as refused:
        services.resubmit_organization(
            donor, org, name="改过的名字", credit_code=org.credit_code, region=org.region,
            contact_name="王经理", contact_phone="13912345678",
        )  # fmt: skip
    assert refused.value.status == 409
    db.session.rollback()
    db.session.expire_all()
    org = db.session.get(Organization, org_id)
    assert org.status == V and org.name == name


@pytest.mark.parametrize(("state", "approve"), [(V, True), (R, False)])
def test_deciding_again_is_refused_with_409(
    db: Any, make_user: Any, make_org: Any, region: Any, state: VerificationStatus, approve: bool
) -> None:
    org = make_org(state, region_code=JINGYUAN, status_reason="之前的理由")
    with pytest.raises(ServiceError) as refused:
        services.verify_organization(
            make_user(Role.ADMIN, [region(JINGYUAN)]), org, approve, "再次"
        )
    assert refused.value.status == 409
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Organization, org.id).status == state
