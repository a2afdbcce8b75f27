"""Every form page of the application, for every role that may use it, refuses bad input well:
below 500, the form again, the typed text still in it, a message shown, nothing written.

The pages come from ``app.url_map`` (every rule answering both GET and POST), so a new form
page is walked without anyone adding it here.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.extensions import db as _db
from marketplace.permissions import AccessRule
from marketplace.roles import Role
from tests.conftest import World
from tests.pages import PageForm, forms_of

MARK = "保留输入测试"
# Longer than any text field allows: every form's length rule refuses it.
TYPED = MARK + "长" * 5000
# Endpoints a signed-out visitor or another form reaches with a token of its own.
NEEDS_A_SECRET = {"accounts.reset_password"}
MESSAGE = re.compile(r'invalid-feedback|alert-danger|role="alert"')


def _form_endpoints(app: Any) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        page_form = {"GET", "POST"} <= (rule.methods or set())
        if page_form and not rule.rule.startswith("/api/") and rule.endpoint not in NEEDS_A_SECRET:
            found.append((rule.endpoint, rule.rule))
    return sorted(found)


def _roles_for(app: Any, endpoint: str) -> list[Role | None]:
    rule: AccessRule = app.view_functions[endpoint].access_rule
    if not rule.login:
        return [None]
    return sorted(rule.roles or set(Role), key=lambda r: r.value)


def _fill(form: PageForm) -> dict[str, Any]:
    typed: dict[str, Any] = {}
    for control in form.controls:
        if not control.name or control.name == "csrf_token":
            continue
        if control.tag == "textarea" or control.type in ("text", "email", "search", "tel", "url"):
            typed[control.name] = TYPED
        elif control.type == "password":
            typed[control.name] = "x"
        elif control.type == "number":
            typed[control.name] = "-5"
        elif control.type == "date":
            typed[control.name] = "1900-01-01"
        elif control.type == "hidden" and control.name != "next":
            typed[control.name] = "-5"  # a tampered hidden value
        elif control.tag == "select":
            typed[control.name] = "999999999"  # not one of the choices offered
    return typed


def _rows(db: Any) -> dict[str, int]:
    counts = {}
    for table in _db.metadata.sorted_tables:
        if table.name in ("audit_event", "search_outbox", "region"):
            continue
        counts[table.name] = db.session.scalar(sa.select(sa.func.count()).select_from(table))
    return counts


@pytest.fixture
def users(world: World, make_user: Any, region: Any) -> dict[Role, Any]:
    from tests.conftest import BAIYIN

    return {
        Role.STAFF: world.staff,
        Role.ADMIN: world.admin,
        Role.AUDITOR: world.auditor,
        Role.DONOR: world.donor,
        Role.SUPERUSER: make_user(Role.SUPERUSER, [region(BAIYIN)], username="root"),
    }


def _ids(world: World, make_need: Any, make_match: Any) -> dict[str, int]:
    """The objects whose pages are walked: a need still under review, the world's resource,
    household and staff member, an approved match."""
    editable = make_need(world.village, world.household, status="submitted", title="待审")
    return {
        "need_id": editable.id,
        "resource_id": world.resource.id,
        "household_id": world.household.id,
        "user_id": world.staff.id,
        "match_id": make_match().id,
        "member_id": _member(world).id,
        **_produce(world),
    }


def _member(world: World) -> Any:
    """A person of the world's household roster (its edit page is walked too)."""
    from datetime import date

    from marketplace.demo import id_number
    from marketplace.households.models import HouseholdMember, MemberLabour, SchoolStage

    member = HouseholdMember(
        household=world.household, relation="spouse", name="李秀英",
        id_number=id_number(world.village.code, date(1972, 5, 6), 801),
        labour=MemberLabour.STRONG, schooling=SchoolStage.PRIMARY,
    )  # fmt: skip
    _db.session.add(member)
    _db.session.commit()
    return member


def _produce(world: World) -> dict[str, int]:
    """A listing still a draft (its edit page is walked), and an order of a verified one by
    the world's donor with a purchase resource."""
    from datetime import date
    from decimal import Decimal

    from marketplace.produce import services as produce
    from marketplace.resources.models import Resource, ResourceKind

    values = {"category": "consumption.produce", "quantity": 100, "unit": "斤",
              "price": Decimal(5), "available_from": date(2026, 1, 1)}  # fmt: skip
    draft = produce.create_listing(world.staff, world.village, world.household,
                                   product="草稿荞麦", **values)  # fmt: skip
    on_sale = produce.create_listing(world.staff, world.village, world.household,
                                     product="在售荞麦", **values)  # fmt: skip
    produce.submit_listing(world.staff, on_sale)
    produce.verify_listing(world.admin, on_sale)
    purchase = Resource(
        organization=world.org, kind=ResourceKind.PURCHASE, title="消费扶贫采购",
        categories=["consumption.produce"], capacity=1000, remaining=1000, unit="元",
        unit_value=Decimal(1), valid_from=world.resource.valid_from,
        valid_until=world.resource.valid_until, service_area=list(world.resource.service_area),
    )  # fmt: skip
    _db.session.add(purchase)
    order = produce.place_order(world.donor, on_sale, purchase, 10)
    _db.session.commit()
    return {"listing_id": draft.id, "order_id": order.id}


def _path(rule: str, values: dict[str, int]) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule)


@pytest.fixture
def make_match(db: Any, world: World) -> Any:
    from datetime import timedelta

    from marketplace.db import utcnow
    from marketplace.matches.models import Match, MatchStatus

    def make() -> Match:
        match = Match(
            need=world.need,
            resource=world.resource,
            quantity=1,
            status=MatchStatus.APPROVED,
            proposed_by_id=world.donor.id,
            decided_at=utcnow() - timedelta(days=1),
        )
        db.session.add(match)
        db.session.commit()
        return match

    return make


def test_every_form_page_refuses_bad_input_and_keeps_it(
    app: Any,
    client: Any,
    db: Any,
    login: Any,
    world: World,
    users: dict[Role, Any],
    make_need: Any,
    make_match: Any,
) -> None:
    walked = []
    ids = _ids(world, make_need, make_match)
    for endpoint, rule in _form_endpoints(app):
        for role in _roles_for(app, endpoint):
            client.post("/logout")
            if role is not None:
                login(users[role])
            path = _path(rule, ids)
            page = client.get(path)
            assert page.status_code < 500, (endpoint, role)
            if page.status_code != 200:
                continue  # this user may not open it (scope, state): refused, not broken
            html = page.data.decode()
            own = [f for f in forms_of(html) if f.method == "post" and f.action in ("", path)]
            if not own:
                continue  # nothing to submit in this state (e.g. no e-mail: no reset form)
            form = own[0]
            before = _rows(db)
            response = client.post(path, data=form.data(**_fill(form)))
            shown = response.data.decode()
            where = (endpoint, role and role.value, response.status_code)
            assert 400 <= response.status_code < 500, where
            if any(v == TYPED for v in _fill(form).values()):
                assert MARK in shown, where
            assert MESSAGE.search(shown), where
            assert "valid choice" not in shown, where  # WTForms' English, untranslated
            assert _rows(db) == before, where
            walked.append(where)
    walked_endpoints = {w[0] for w in walked}
    assert {"resources.create", "needs.create", "households.create", "accounts.register",
            "accounts.login", "accounts.create_user"} <= walked_endpoints  # fmt: skip
    assert {"produce.create", "produce.edit"} <= walked_endpoints


def _pages(app: Any, values: dict[str, int]) -> list[str]:
    """Every GET page of the site with its parameters filled from the world."""
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or rule.rule.startswith(("/api/", "/static")):
            continue
        if rule.endpoint in NEEDS_A_SECRET or "export" in rule.endpoint or "<path:" in rule.rule:
            continue
        if any(a not in ("need_id", "resource_id", "household_id", "user_id", "match_id",
                         "member_id", "listing_id", "order_id")
               for a in rule.arguments):  # fmt: skip
            continue
        paths.append(_path(rule.rule, values))
    return sorted(set(paths))


def test_every_page_form_posted_as_rendered_never_fails(
    app: Any,
    client: Any,
    db: Any,
    login: Any,
    world: World,
    users: dict[Role, Any],
    make_need: Any,
    make_match: Any,
    make_org: Any,
) -> None:
    """Each form of each page, posted exactly as the page renders it (its hidden fields, its
    defaults, each of its buttons): the answer is never a server error."""
    from marketplace.accounts.models import VerificationStatus

    make_org(status=VerificationStatus.PENDING, name="待审核的公益协会")
    posted = 0
    pages = _pages(app, _ids(world, make_need, make_match))
    for role in Role:
        client.post("/logout")
        login(users[role])
        for path in pages:
            page = client.get(path)
            assert page.status_code < 500, (path, role)
            if page.status_code != 200 or "html" not in page.content_type:
                continue
            for form in forms_of(page.data.decode()):
                if form.method != "post" or form.action in ("/logout",):
                    continue
                for button in form.buttons() or [None]:
                    target = form.action or path
                    label = button.name or None if button else None
                    answer = client.post(target, data=form.data(button=label))
                    assert answer.status_code < 500, (path, target, role, button)
                    posted += 1
                    if "/login" in answer.headers.get("Location", ""):
                        login(users[role])  # the action signed the user out: sign in again
    assert posted > 20


def _form_classes(app: Any) -> list[type]:
    from flask_wtf import FlaskForm

    found, todo = [], list(FlaskForm.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return [c for c in found if c.__module__.startswith("marketplace.")]


def test_every_select_and_number_range_is_the_products(app: Any) -> None:
    """A select of WTForms' own refuses a value it does not offer in English (its Chinese
    catalogue leaves the message fuzzy), and its NumberRange speaks up when the field could not
    even read a number: every form of the product uses marketplace.forms' instead."""
    from wtforms.fields import SelectFieldBase
    from wtforms.fields.core import UnboundField
    from wtforms.validators import NumberRange as WTFormsNumberRange

    from marketplace import forms

    ours = (forms.SelectField, forms.SelectMultipleField)
    wrong = []
    classes = _form_classes(app)
    for cls in classes:
        for name in dir(cls):
            field = getattr(cls, name)
            if not isinstance(field, UnboundField):
                continue
            if issubclass(field.field_class, SelectFieldBase) and not issubclass(
                field.field_class, ours
            ):
                wrong.append((cls.__name__, name, field.field_class.__name__))
            validators = field.kwargs.get("validators") or (field.args[1:2] or [[]])[0] or []
            for validator in validators:
                if isinstance(validator, WTFormsNumberRange) and not isinstance(
                    validator, forms.NumberRange
                ):
                    wrong.append((cls.__name__, name, "NumberRange"))
    assert {"ResourceForm", "NeedForm", "HouseholdForm"} <= {c.__name__ for c in classes}
    assert wrong == []
