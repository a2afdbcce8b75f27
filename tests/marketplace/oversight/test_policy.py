"""oversight/policy.py: who may draw, carry out, close and answer a spot check and read the
audit trail (role x region scope x state), the check's page showing exactly those forms, and a
raced close refused with 409."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role, User
from marketplace.audit.models import AuditEvent
from marketplace.errors import ServiceError
from marketplace.extensions import db as _db
from marketplace.matches.models import Match, MatchStatus
from marketplace.oversight import policy, spot_checks
from marketplace.oversight.models import SpotCheck, SpotCheckStatus
from tests.conftest import BAIYIN, HUINING, JINGYUAN, World
from tests.pages import forms_of

OPEN, CLOSED = SpotCheckStatus.OPEN, SpotCheckStatus.CLOSED
TODAY = date.today()
AUTHOR_ID = 7


def _user(role: Role, regions: list[Any], user_id: int = 1) -> User:
    """An account that never reaches the database: the rules read only these fields."""
    return User(id=user_id, role=role, regions=regions)


def _check(region: Any, status: SpotCheckStatus) -> SpotCheck:
    return SpotCheck(id=1, created_by_id=AUTHOR_ID, region=region, status=status)


# (role, the account's region, drew the check) for a check drawn in 靖远县.
WHO = {
    "author": (Role.AUDITOR, BAIYIN, True),
    "another auditor": (Role.AUDITOR, JINGYUAN, False),
    "auditor elsewhere": (Role.AUDITOR, HUINING, False),
    "superuser author": (Role.SUPERUSER, None, True),
    "superuser": (Role.SUPERUSER, None, False),
    "county admin": (Role.ADMIN, JINGYUAN, False),
    "city admin": (Role.ADMIN, BAIYIN, False),
    "admin elsewhere": (Role.ADMIN, HUINING, False),
    "staff": (Role.STAFF, JINGYUAN, False),
    "donor": (Role.DONOR, None, False),
}

CHECK_TABLE = [
    # who                  record  close   answer    (in each state: open, closed)
    ("author", {OPEN}, {OPEN}, set()),
    ("another auditor", set(), set(), set()),
    ("auditor elsewhere", set(), set(), set()),
    ("superuser author", {OPEN}, {OPEN}, {CLOSED}),
    ("superuser", set(), set(), {CLOSED}),
    ("county admin", set(), set(), {CLOSED}),
    ("city admin", set(), set(), {CLOSED}),
    ("admin elsewhere", set(), set(), set()),
    ("staff", set(), set(), set()),
    ("donor", set(), set(), set()),
]


def _who(region: Any, name: str) -> User:
    role, code, author = WHO[name]
    return _user(role, [region(code)] if code else [], AUTHOR_ID if author else 1)


@pytest.mark.parametrize("state", [OPEN, CLOSED])
@pytest.mark.parametrize(("who", "record", "close", "answer"), CHECK_TABLE)
def test_who_works_on_a_spot_check(
    db: Any,
    region: Any,
    who: str,
    state: SpotCheckStatus,
    record: set[SpotCheckStatus],
    close: set[SpotCheckStatus],
    answer: set[SpotCheckStatus],
) -> None:
    user, check = _who(region, who), _check(region(JINGYUAN), state)
    expected = {"record": state in record, "close": state in close, "answer": state in answer}
    assert policy.actions(user, check) == expected
    assert policy.can_record_finding(user, check) is expected["record"]
    assert policy.can_close(user, check) is expected["close"]
    assert policy.can_answer(user, check) is expected["answer"]


@pytest.mark.parametrize(
    ("who", "draws_in"),
    [
        ("author", {BAIYIN, JINGYUAN, HUINING}),
        ("another auditor", {JINGYUAN}),
        ("auditor elsewhere", {HUINING}),
        ("superuser", {BAIYIN, JINGYUAN, HUINING}),
        ("city admin", set()),
        ("staff", set()),
        ("donor", set()),
    ],
)
def test_who_draws_a_sample_where(db: Any, region: Any, who: str, draws_in: set[str]) -> None:
    user = _who(region, who)
    for code in (BAIYIN, JINGYUAN, HUINING):
        assert policy.can_draw_spot_check(user, region(code)) is (code in draws_in), code
    assert policy.can_draw_spot_checks(user) is bool(draws_in)


@pytest.mark.parametrize(
    ("who", "reads"),
    [
        ("author", True),
        ("auditor elsewhere", False),  # the trail yes, not a check drawn in another county
        ("superuser", True),
        ("county admin", True),
        ("admin elsewhere", False),
        ("staff", False),
        ("donor", False),
    ],
)
def test_who_reads_checks_and_the_trail(db: Any, region: Any, who: str, reads: bool) -> None:
    user = _who(region, who)
    assert policy.can_read_spot_check(user, _check(region(JINGYUAN), OPEN)) is reads
    assert policy.can_read_trail(user) is (user.role in {Role.AUDITOR, Role.ADMIN, Role.SUPERUSER})
    assert not policy.can_read_trail(None)


def test_the_trail_is_empty_for_those_who_may_not_read_it(
    db: Any, world: World, make_user: Any, region: Any
) -> None:
    from marketplace.audit.services import record_event
    from marketplace.oversight.services import trail_for

    record_event("test_event", world.staff, world.need)
    db.session.flush()
    assert db.session.scalars(trail_for(world.admin)).all()
    assert db.session.scalars(trail_for(world.staff)).all() == []


def test_the_workflow_of_a_spot_check() -> None:
    assert policy.WORKFLOW.moves == {OPEN: {CLOSED}, CLOSED: set()}


# --- the page shows exactly the allowed forms ---------------------------------------------------


@pytest.fixture
def drawn(db: Any, world: World, region: Any) -> SpotCheck:
    for n, village in enumerate([world.village, world.other_village]):
        need = world.need if n == 0 else None
        if need is None:
            from marketplace.needs.models import Need, NeedStatus

            need = Need(village=village, category="necessities",
                        subcategory="necessities.washer", title="抽查需求", quantity=1,
                        open_quantity=1, unit="台", status=NeedStatus.VERIFIED)  # fmt: skip
        db.session.add(Match(need=need, resource=world.resource, quantity=1,
                             status=MatchStatus.CONFIRMED))  # fmt: skip
    db.session.flush()
    check = spot_checks.create(world.auditor, region(JINGYUAN), TODAY, TODAY, "", "", 2, 11)
    db.session.commit()
    return check


def _posts(html: str) -> set[str]:
    """The check's forms by what they do: findings, the report, closing it, the answer."""
    found = set()
    for form in forms_of(html):
        if form.method == "post" and "/spot-checks/" in form.action:
            found.add("items" if "/items/" in form.action else form.action.rsplit("/", 1)[-1])
            if form.has_button("结束抽查"):
                found.add("close")
    return found


def _page(app: Any, username: str, check: SpotCheck) -> str:
    from tests.conftest import PASSWORD

    browser = app.test_client()
    browser.post("/login", data={"username": username, "password": PASSWORD})
    response = browser.get(f"/oversight/spot-checks/{check.id}")
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def test_the_check_page_shows_the_allowed_forms(
    app: Any, db: Any, world: World, drawn: SpotCheck, make_user: Any, region: Any
) -> None:
    other = make_user(Role.AUDITOR, [region(JINGYUAN)], username="otherauditor")
    assert _posts(_page(app, "auditor", drawn)) == {"items", "report", "close"}
    assert _posts(_page(app, other.username, drawn)) == set()
    assert _posts(_page(app, "admin", drawn)) == set()  # not answered while open
    spot_checks.close(world.auditor, drawn, "报告", allow_unchecked=True)
    db.session.commit()
    assert _posts(_page(app, "auditor", drawn)) == set()
    assert _posts(_page(app, "admin", drawn)) == {"answer"}


def test_the_list_offers_a_draw_to_auditors_only(app: Any, db: Any, world: World) -> None:
    from tests.conftest import PASSWORD

    for username, offered in (("auditor", True), ("admin", False)):
        browser = app.test_client()
        browser.post("/login", data={"username": username, "password": PASSWORD})
        html = browser.get("/oversight/spot-checks").get_data(as_text=True)
        assert ("/oversight/spot-checks/new" in html) is offered, username


# --- raced and illegal moves -------------------------------------------------------------------


def test_a_close_raced_by_another_close_is_refused(
    app: Any, db: Any, world: World, drawn: SpotCheck
) -> None:
    """The auditor closes the check in two tabs read open: the second close is refused."""
    check_id, auditor_id = drawn.id, world.auditor.id
    assert drawn.status == OPEN  # what the second tab read
    with app.app_context():
        spot_checks.close(_db.session.get(User, auditor_id), _db.session.get(SpotCheck, check_id),
                          "第一份报告", allow_unchecked=True)  # fmt: skip
        _db.session.commit()
        _db.session.remove()
    with pytest.raises(ServiceError) as refused:
        spot_checks.close(world.auditor, drawn, "第二份报告", allow_unchecked=True)
    assert refused.value.status == 409
    assert str(refused.value.message) == str(policy.WORKFLOW.raced)
    db.session.rollback()
    db.session.expire_all()
    check = db.session.get(SpotCheck, check_id)
    assert check.status == CLOSED and check.report == "第一份报告"
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "spot_check_closed")) == 1  # fmt: skip


def test_closing_twice_through_the_page_answers_409(
    client: Any, login: Any, db: Any, world: World, drawn: SpotCheck
) -> None:
    login(world.auditor)
    page = f"/oversight/spot-checks/{drawn.id}/report"
    data = {"text": "报告", "close": "1", "confirmed": "1"}
    assert client.post(page, data=data).status_code == 302
    assert client.post(page, data=data).status_code == 409
    db.session.expire_all()
    assert db.session.get(SpotCheck, drawn.id).report == "报告"


def test_answering_an_open_check_is_refused(db: Any, world: World, drawn: SpotCheck) -> None:
    with pytest.raises(ServiceError) as refused:
        spot_checks.answer(world.admin, drawn, "已整改")
    assert refused.value.status == 409
    with pytest.raises(ServiceError) as elsewhere:
        spot_checks.answer(world.huining_admin, drawn, "已整改")
    assert elsewhere.value.status == 403


def test_an_answer_is_given_once(app: Any, db: Any, world: World, drawn: SpotCheck) -> None:
    """The page shows the answer instead of the form; a second post is refused, not written
    over the first."""
    spot_checks.close(world.auditor, drawn, "报告", allow_unchecked=True)
    db.session.commit()
    page = _page(app, "admin", drawn)
    (form,) = [f for f in forms_of(page) if f.action.endswith("/answer")]
    from tests.conftest import PASSWORD

    browser = app.test_client()
    browser.post("/login", data={"username": "admin", "password": PASSWORD})
    assert browser.post(form.action, data=form.data(text="已整改")).status_code == 302
    assert _posts(_page(app, "admin", drawn)) == set()
    again = browser.post(form.action, data=form.data(text="改写"))
    assert again.status_code == 409 and "此次抽查已经答复过了。" in again.get_data(as_text=True)
    db.session.refresh(drawn)
    assert drawn.reply == "已整改"
