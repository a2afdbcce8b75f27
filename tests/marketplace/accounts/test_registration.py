"""Donor self-registration: organizations wait for verification; bad input writes nothing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from marketplace.accounts.models import Organization, User, VerificationStatus
from marketplace.demo import credit_code


def _form(region_id: int, **changes: str) -> dict[str, Any]:
    data = {
        "kind": "enterprise",
        "organization_name": "白银某某农业科技有限公司",
        "credit_code": credit_code("91620400MA71XYW99"),
        "region": str(region_id),
        "username": "nongye",
        "display_name": "王经理",
        "phone": "13912345678",
        "email": "",
        "password": "goodpass2026",
        "confirm": "goodpass2026",
    }
    data.update(changes)
    return data


def _counts(db: Any) -> tuple[int, int]:
    return (
        db.session.scalar(sa.select(sa.func.count(User.id))),
        db.session.scalar(sa.select(sa.func.count(Organization.id))),
    )


def test_enterprise_registers_and_waits_for_verification(client: Any, db: Any, region: Any) -> None:
    city = region("620400000000")
    response = client.post("/register", data=_form(city.id))
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.username == "nongye"))
    assert user is not None and user.role.value == "donor"
    assert user.organization.status == VerificationStatus.PENDING
    assert user.organization.region_id == city.id
    assert user.password_hash.startswith("$argon2")


def test_register_page_offers_the_deployed_regions(client: Any, db: Any) -> None:
    page = client.get("/register").data.decode()
    assert "白银市靖远县" in page
    assert "北京市" not in page


def test_bad_credit_code_is_refused_and_nothing_written(client: Any, db: Any, region: Any) -> None:
    good = credit_code("91620400MA71XYW99")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    response = client.post("/register", data=_form(region("620400000000").id, credit_code=bad))
    assert response.status_code == 400
    assert "统一社会信用代码无效" in response.data.decode()
    assert _counts(db) == (0, 0)


def test_organization_needs_a_credit_code(client: Any, db: Any, region: Any) -> None:
    response = client.post("/register", data=_form(region("620400000000").id, credit_code=""))
    assert response.status_code == 400
    assert "单位必须填写统一社会信用代码" in response.data.decode()
    assert _counts(db) == (0, 0)


def test_individual_donor_needs_no_credit_code(client: Any, db: Any, region: Any) -> None:
    data = _form(region("620400000000").id, kind="individual", credit_code="", organization_name="")
    assert client.post("/register", data=data).status_code == 302
    user = db.session.scalar(sa.select(User).where(User.username == "nongye"))
    assert user.organization.kind.value == "individual"
    assert user.organization.credit_code is None
    assert user.organization.name == "王经理"


def test_bad_phone_and_mismatched_passwords(client: Any, db: Any, region: Any) -> None:
    data = _form(region("620400000000").id, phone="12345", confirm="other2026x")
    response = client.post("/register", data=data)
    text = response.data.decode()
    assert response.status_code == 400
    assert "手机号码应为以1开头的11位数字" in text
    assert "两次输入的密码不一致" in text
    assert _counts(db) == (0, 0)


def test_duplicate_user_name_and_credit_code(client: Any, db: Any, region: Any) -> None:
    city = region("620400000000").id
    assert client.post("/register", data=_form(city)).status_code == 302
    again = client.post("/register", data=_form(city))
    assert again.status_code == 400
    assert "该用户名已被使用" in again.data.decode()
    other_name = client.post("/register", data=_form(city, username="another"))
    assert "该统一社会信用代码的单位已注册" in other_name.data.decode()
    assert _counts(db) == (1, 1)


def test_weak_password_is_refused(client: Any, db: Any, region: Any) -> None:
    data = _form(region("620400000000").id, password="abcdefgh", confirm="abcdefgh")
    response = client.post("/register", data=data)
    assert response.status_code == 400
    assert _counts(db) == (0, 0)
