"""Account lifecycle: verification posted as rendered, refusals at the field, password resets
by an administrator and by e-mail, staff rotation, a rejected donor's resubmission."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Organization, Role, User, VerificationStatus
from marketplace.audit.models import AuditEvent
from marketplace.notifications.models import Notification
from tests.conftest import BAIYIN, HUINING, JINGYUAN, PASSWORD
from tests.pages import find_form, submit


def _event(db: Any, action: str) -> AuditEvent | None:
    return db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id.desc())
    )


def _notes(db: Any, user: User) -> list[Notification]:
    return list(db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id)))


# --- verification ---------------------------------------------------------------------------


def test_verify_button_as_rendered(
    client: Any, db: Any, login: Any, make_user: Any, make_org: Any, region: Any
) -> None:
    """The 审核通过 button posts no reason at all: this answered 500."""
    org = make_org(VerificationStatus.PENDING, region_code=JINGYUAN)
    donor = make_user(Role.DONOR, org=org)
    login(make_user(Role.ADMIN, [region(JINGYUAN)]))
    page = client.get("/admin/organizations").data.decode()
    verify = find_form(page, f"/admin/organizations/{org.id}/verify")
    assert "reason" not in verify.names
    response = submit(
        client, "/admin/organizations", action=f"/admin/organizations/{org.id}/verify"
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Organization, org.id).status == VerificationStatus.VERIFIED
    assert [n.kind for n in _notes(db, donor)] == ["organization_verified"]


def test_reject_as_rendered_needs_a_reason_at_the_field(
    client: Any, db: Any, login: Any, make_user: Any, make_org: Any, region: Any
) -> None:
    org = make_org(VerificationStatus.PENDING, region_code=JINGYUAN)
    donor = make_user(Role.DONOR, org=org)
    login(make_user(Role.ADMIN, [region(JINGYUAN)]))
    action = f"/admin/organizations/{org.id}/reject"
    assert "data-confirm" in str(
        find_form(client.get("/admin/organizations").data.decode(), action).button().attrs
    )
    refused = submit(client, "/admin/organizations", {"reason": "  "}, action=action)
    assert refused.status_code == 400
    text = refused.data.decode()
    assert "驳回时请填写理由" in text and "is-invalid" in text
    db.session.expire_all()
    assert db.session.get(Organization, org.id).status == VerificationStatus.PENDING
    done = submit(client, "/admin/organizations", {"reason": "营业执照与名称不符"}, action=action)
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Organization, org.id).status == VerificationStatus.REJECTED
    [note] = _notes(db, donor)
    assert note.kind == "organization_rejected" and note.params["reason"] == "营业执照与名称不符"


# --- account creation -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["superuser", "donor", "nonsense"])
def test_a_role_the_form_does_not_offer_is_refused_at_the_field(
    client: Any, db: Any, login: Any, make_user: Any, region: Any, role: str
) -> None:
    login(make_user(Role.ADMIN, [region(JINGYUAN)]))
    response = submit(
        client,
        "/admin/users/new",
        {
            "role": role,
            "regions": [str(region(JINGYUAN).id)],
            "username": "sneaky",
            "display_name": "某人",
            "password": "initial2026",
        },
    )
    assert response.status_code == 400
    text = response.data.decode()
    assert "sneaky" in text  # input kept
    assert "is-invalid" in text
    assert db.session.scalar(sa.select(User).where(User.username == "sneaky")) is None


def test_admin_creates_staff_as_rendered(
    client: Any, db: Any, login: Any, make_user: Any, region: Any, villages: Any
) -> None:
    login(make_user(Role.ADMIN, [region(JINGYUAN)]))
    village = villages(JINGYUAN)[0]
    response = submit(
        client,
        "/admin/users/new",
        {
            "role": "staff",
            "regions": [str(village.id)],
            "username": "newstaff",
            "display_name": "新村干部",
            "password": "initial2026",
        },
    )
    assert response.status_code == 302
    taken = submit(
        client,
        "/admin/users/new",
        {
            "role": "staff",
            "regions": [str(village.id)],
            "username": "newstaff",
            "display_name": "又一个",
            "password": "initial2026",
        },
    )
    assert taken.status_code == 400
    assert "该用户名已被使用" in taken.data.decode() and "又一个" in taken.data.decode()


# --- reset by an administrator ----------------------------------------------------------------


def test_admin_reset_gives_a_temporary_password_that_must_be_changed(
    app: Any, client: Any, db: Any, login: Any, make_user: Any, region: Any, villages: Any
) -> None:
    staff = make_user(Role.STAFF, villages(JINGYUAN)[:1])
    theirs = app.test_client()
    theirs.post("/login", data={"username": staff.username, "password": PASSWORD})
    admin = make_user(Role.ADMIN, [region(JINGYUAN)])
    login(admin)
    action = f"/admin/users/{staff.id}/reset-password"
    button = find_form(client.get("/admin/users").data.decode(), action).button()
    assert "data-confirm" in button.attrs
    page = submit(client, "/admin/users", action=action)
    assert page.status_code == 200
    import re

    temporary = re.search(r'<code class="user-select-all">([^<]+)</code>', page.data.decode())
    assert temporary is not None
    temporary_password = temporary.group(1)
    event = _event(db, "password_reset")
    assert event is not None and event.actor_id == admin.id and event.object_id == staff.id
    assert temporary_password not in str(event.after)
    assert theirs.get("/dashboard").status_code == 302  # their session ended
    # Signing in with it leads to the password page, and every page does until it is changed.
    person = app.test_client()
    signed = person.post(
        "/login", data={"username": staff.username, "password": temporary_password}
    )
    assert signed.status_code == 302 and signed.location.endswith("/account/password")
    for path in ("/dashboard", "/households", "/account/tokens"):
        response = person.get(path)
        assert response.status_code == 302 and response.location.endswith("/account/password")
    changed = submit(
        person,
        "/account/password",
        {"current": temporary_password, "new": "mine2026pass", "confirm": "mine2026pass"},
    )
    assert changed.status_code == 302
    person.post("/login", data={"username": staff.username, "password": "mine2026pass"})
    assert person.get("/dashboard").status_code == 200


def test_reset_outside_the_region_is_not_found(
    client: Any, db: Any, login: Any, make_user: Any, region: Any, villages: Any
) -> None:
    theirs = make_user(Role.STAFF, villages(HUINING)[:1])
    login(make_user(Role.ADMIN, [region(JINGYUAN)]))
    assert client.post(f"/admin/users/{theirs.id}/reset-password").status_code == 404
    assert _event(db, "password_reset") is None


def test_admin_resets_a_donor_of_an_organization_in_the_region(
    client: Any, db: Any, login: Any, make_user: Any, make_org: Any, region: Any
) -> None:
    donor = make_user(Role.DONOR, org=make_org(region_code=JINGYUAN))
    elsewhere = make_user(Role.DONOR, org=make_org(region_code=HUINING))
    login(make_user(Role.ADMIN, [region(JINGYUAN)]))
    page = client.get("/admin/users").data.decode()
    assert donor.username in page and elsewhere.username not in page
    assert (
        submit(client, "/admin/users", action=f"/admin/users/{donor.id}/reset-password").status_code
        == 200
    )
    assert client.post(f"/admin/users/{elsewhere.id}/reset-password").status_code == 404


# --- self-service reset by e-mail -------------------------------------------------------------


def test_without_mail_the_page_says_to_ask_an_administrator(client: Any, db: Any) -> None:
    page = client.get("/login").data.decode()
    assert "/login/forgot" in page
    forgot = client.get("/login/forgot").data.decode()
    assert "请本地区的管理员" in forgot
    assert 'name="identifier"' not in forgot


@pytest.fixture
def mail(app: Any, monkeypatch: Any) -> list[tuple[str, str, str]]:
    from marketplace.notifications import services as notifications

    sent: list[tuple[str, str, str]] = []
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.invalid")
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://fupin.example.cn")
    monkeypatch.setattr(notifications, "send_email", lambda *args: sent.append(args))
    return sent


def test_reset_by_email_single_use_same_answer(
    client: Any, db: Any, make_user: Any, region: Any, mail: list[Any]
) -> None:
    user = make_user(Role.AUDITOR, [region(BAIYIN)], email="audit@example.cn")
    answers = []
    for identifier in ("nobody", "audit@example.cn"):
        response = submit(client, "/login/forgot", {"identifier": identifier})
        assert response.status_code == 302
        page = client.get(response.location).data.decode()
        answers.append(page[page.find("<main") : page.find("</main>")])
    assert answers[0] == answers[1] and "重置密码的链接" in answers[0]
    [(to, subject, body)] = mail
    assert "重置" in subject
    assert to == "audit@example.cn"
    import re

    link = re.search(r"https://fupin\.example\.cn(/login/reset/\S+)", body)
    assert link is not None, body
    path = link.group(1)
    done = submit(client, path, {"password": "fresh2026pass", "confirm": "fresh2026pass"})
    assert done.status_code == 302
    assert client.get(path).status_code == 400  # used once: the password changed
    assert (
        client.post(
            "/login", data={"username": user.username, "password": "fresh2026pass"}
        ).status_code
        == 302
    )
    assert _event(db, "password_reset_by_email") is not None


def test_reset_link_expires(
    client: Any, db: Any, make_user: Any, region: Any, mail: list[Any], monkeypatch: Any
) -> None:
    from marketplace.accounts import services

    user = make_user(Role.AUDITOR, [region(BAIYIN)], email="audit@example.cn")
    path = f"/login/reset/{services.reset_token(user)}"
    assert client.get(path).status_code == 200
    monkeypatch.setattr(services, "RESET_MAX_AGE", -1)
    page = client.get(path)
    assert page.status_code == 400 and "/login/forgot" in page.data.decode()
    assert client.get("/login/reset/forged-token").status_code == 400


def test_weak_password_on_the_reset_page_keeps_the_form(
    client: Any, db: Any, make_user: Any, region: Any, mail: list[Any]
) -> None:
    from marketplace.accounts import services

    user = make_user(Role.AUDITOR, [region(BAIYIN)], email="audit@example.cn")
    path = f"/login/reset/{services.reset_token(user)}"
    refused = submit(client, path, {"password": "short", "confirm": "short"})
    assert refused.status_code == 400 and "密码至少8位" in refused.data.decode()
    assert client.get(path).status_code == 200  # still usable


# --- staff rotation --------------------------------------------------------------------------


def test_admin_rotates_staff_villages(
    client: Any, db: Any, login: Any, make_user: Any, region: Any, villages: Any
) -> None:
    old, new = villages(JINGYUAN)[0], villages(JINGYUAN)[5]
    staff = make_user(Role.STAFF, [old])
    admin = make_user(Role.ADMIN, [region(JINGYUAN)])
    login(admin)
    assert f"/admin/users/{staff.id}/villages" in client.get("/admin/users").data.decode()
    response = submit(client, f"/admin/users/{staff.id}/villages", {"regions": [str(new.id)]})
    assert response.status_code == 302
    db.session.expire_all()
    assert [r.id for r in db.session.get(User, staff.id).regions] == [new.id]
    event = _event(db, "staff_villages_changed")
    assert event.before == {"regions": [old.code]} and event.after == {"regions": [new.code]}


def test_rotation_refuses_villages_outside_the_region_and_none(
    client: Any, db: Any, login: Any, make_user: Any, region: Any, villages: Any
) -> None:
    staff = make_user(Role.STAFF, villages(JINGYUAN)[:1])
    login(make_user(Role.ADMIN, [region(JINGYUAN)]))
    url = f"/admin/users/{staff.id}/villages"
    outside = submit(client, url, {"regions": [str(villages(HUINING)[0].id)]})
    assert outside.status_code == 400
    empty = submit(client, url, {"regions": []})
    assert empty.status_code == 400 and "请为该账号至少选择一个区域" in empty.data.decode()
    db.session.expire_all()
    assert [r.id for r in db.session.get(User, staff.id).regions] == [villages(JINGYUAN)[0].id]


# --- a rejected donor -------------------------------------------------------------------------


def test_rejected_donor_sees_the_reason_corrects_and_resubmits(
    client: Any, db: Any, login: Any, make_user: Any, make_org: Any, region: Any
) -> None:
    from marketplace.demo import credit_code

    org = make_org(
        VerificationStatus.REJECTED, region_code=JINGYUAN, status_reason="信用代码与营业执照不符"
    )
    donor = make_user(Role.DONOR, org=org)
    admin = make_user(Role.ADMIN, [region(JINGYUAN)])
    login(donor)
    dashboard = client.get("/dashboard").data.decode()
    assert "信用代码与营业执照不符" in dashboard
    assert "等待管理员审核" not in dashboard
    assert "/account/organization" in dashboard
    good = credit_code("91620400MA71XYW77")
    response = submit(
        client,
        "/account/organization",
        {
            "name": "靖远县更正后的公司",
            "credit_code": good,
            "contact_name": "王经理",
            "contact_phone": "13912345678",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    org = db.session.get(Organization, org.id)
    assert org.status == VerificationStatus.PENDING and org.status_reason == ""
    assert org.name == "靖远县更正后的公司" and org.credit_code == good
    assert [n.kind for n in _notes(db, admin)] == ["organization_submitted"]
    assert _event(db, "organization_resubmitted") is not None


def test_resubmission_with_a_taken_credit_code_keeps_the_input(
    client: Any, db: Any, login: Any, make_user: Any, make_org: Any
) -> None:
    other = make_org()
    org = make_org(VerificationStatus.REJECTED, region_code=JINGYUAN, status_reason="x")
    login(make_user(Role.DONOR, org=org))
    response = submit(
        client,
        "/account/organization",
        {
            "name": "新名字公司",
            "credit_code": other.credit_code,
            "contact_name": "王经理",
            "contact_phone": "13912345678",
        },
    )
    assert response.status_code == 400
    text = response.data.decode()
    assert "新名字公司" in text and "该统一社会信用代码的单位已注册" in text
    db.session.expire_all()
    assert db.session.get(Organization, org.id).status == VerificationStatus.REJECTED
