"""The demo data: real cases from the source documents, one account per role, idempotent."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role, User
from marketplace.demo import DEMO_PASSWORD, load_demo
from marketplace.households.models import Household
from marketplace.models import Match, Need, Organization, Region, Resource
from marketplace.validation import normalise_id_number


def _counts(db: Any) -> dict[str, int]:
    models = [User, Organization, Household, Need, Resource, Match, Region]
    return {
        m.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in models
    }


@pytest.fixture
def demo(db: Any) -> Any:
    load_demo()
    db.session.commit()
    return db


def test_demo_is_idempotent(demo: Any) -> None:
    first = _counts(demo)
    load_demo()
    demo.session.commit()
    assert _counts(demo) == first
    assert first["Household"] == 300


def test_demo_has_the_real_cases(demo: Any) -> None:
    resources = {r.title: r for r in demo.session.scalars(sa.select(Resource))}
    washers = next(r for t, r in resources.items() if "洗衣机60台" in t)
    assert washers.capacity == 60
    assert [a.name for a in washers.service_area] == ["靖远县"]
    telecom = next(r for t, r in resources.items() if "0.06元" in t)
    assert telecom.capacity is None
    assert [a.name for a in telecom.service_area] == ["白银市"]
    discount = next(r for t, r in resources.items() if "500元" in t)
    assert discount.capacity == 10000


def test_demo_households_are_valid_and_spread(demo: Any) -> None:
    households = demo.session.scalars(sa.select(Household)).all()
    for h in households:
        assert normalise_id_number(h.head_id_number) == h.head_id_number
    counties = {h.village.parent.parent.name for h in households}
    assert counties == {"白银区", "平川区", "靖远县", "会宁县", "景泰县"}
    categories = set(demo.session.scalars(sa.select(Need.category).distinct()))
    assert len(categories) == 10


def test_demo_capacity_reconciles(demo: Any) -> None:
    for resource in demo.session.scalars(sa.select(Resource)):
        if resource.capacity is None:
            continue
        taken = demo.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(Match.quantity), 0)).where(
                Match.resource_id == resource.id
            )
        )
        assert resource.remaining == resource.capacity - taken


@pytest.mark.parametrize(
    ("username", "role"),
    [
        ("root", Role.SUPERUSER),
        ("city_admin", Role.ADMIN),
        ("jingyuan_admin", Role.ADMIN),
        ("township_admin", Role.ADMIN),
        ("auditor", Role.AUDITOR),
        ("jingyuan_staff", Role.STAFF),
        ("huining_staff", Role.STAFF),
        ("telecom", Role.DONOR),
        ("new_charity", Role.DONOR),
    ],
)
def test_each_demo_account_signs_in_to_its_dashboard(
    app: Any, demo: Any, username: str, role: Role
) -> None:
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    user = demo.session.scalar(sa.select(User).where(User.username == username))
    assert user.role == role
    assert client.get("/dashboard").status_code == 200


def test_home_page_shows_figures_and_nothing_personal(app: Any, demo: Any) -> None:
    page = app.test_client().get("/").data.decode()
    assert ">300<" in page
    for household in demo.session.scalars(sa.select(Household).limit(20)):
        assert household.head_name not in page
        assert household.head_id_number not in page
