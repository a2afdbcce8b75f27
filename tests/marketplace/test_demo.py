"""The demo data: real cases from the source documents, one account per role, idempotent.

The demo is loaded once for the module (it takes seconds); each test still sees it as loaded:
whatever a test changes (a sign-in writes the audit trail and the time of last sign-in) is put
back afterwards, and checked to be back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role, User
from marketplace.demo import DEMO_PASSWORD, load_demo
from marketplace.extensions import db as _db
from marketplace.households.models import Household
from marketplace.models import Match, Need, Organization, Region, Resource
from marketplace.validation import normalise_id_number
from tests.conftest import _clean

# Every row of every table, by table name and primary key.
Snapshot = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


def _counts(db: Any) -> dict[str, int]:
    models = [User, Organization, Household, Need, Resource, Match, Region]
    return {
        m.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in models
    }


def _key(table: sa.Table, row: dict[str, Any]) -> tuple[Any, ...]:
    columns = list(table.primary_key.columns) or list(table.columns)
    return tuple(row[c.name] for c in columns)


def _snapshot(conn: sa.Connection) -> Snapshot:
    return {
        table.name: {_key(table, row): dict(row) for row in conn.execute(table.select()).mappings()}
        for table in _db.metadata.sorted_tables
    }


def _where(table: sa.Table, key: tuple[Any, ...]) -> Any:
    columns = list(table.primary_key.columns) or list(table.columns)
    return sa.and_(*(c == v for c, v in zip(columns, key, strict=True)))


def _differences(expected: Snapshot, actual: Snapshot) -> dict[str, str]:
    found = {}
    for name, rows in expected.items():
        now = actual[name]
        added = now.keys() - rows.keys()
        removed = rows.keys() - now.keys()
        changed = [k for k in rows.keys() & now.keys() if rows[k] != now[k]]
        if added or removed or changed:
            found[name] = f"{len(added)} added, {len(removed)} removed, {len(changed)} changed"
    return found


def _restore(expected: Snapshot) -> None:
    """Put every table back as it was in ``expected``: the rows a test changed get their
    values back, the rows it added go (children first), the rows it deleted come back
    (parents first)."""
    tables = _db.metadata.sorted_tables
    with _db.engine.begin() as conn:
        actual = _snapshot(conn)
        if not _differences(expected, actual):
            return
        for table in tables:
            rows, now = expected[table.name], actual[table.name]
            for key in rows.keys() & now.keys():
                if rows[key] != now[key]:
                    conn.execute(table.update().where(_where(table, key)).values(rows[key]))
        for table in reversed(tables):
            for key in actual[table.name].keys() - expected[table.name].keys():
                conn.execute(table.delete().where(_where(table, key)))
        for table in tables:
            missing = expected[table.name].keys() - actual[table.name].keys()
            if missing:
                conn.execute(table.insert(), [expected[table.name][k] for k in missing])
    with _db.engine.connect() as conn:
        left = _differences(expected, _snapshot(conn))
    assert not left, f"the demo could not be put back as it was loaded: {left}"


@pytest.fixture(scope="module")
def loaded(app: Any) -> Iterator[Snapshot]:
    """The demo, loaded once for the module; every row but the gazetteer removed afterwards
    (as the ``db`` fixture does after each test)."""
    with app.app_context():
        load_demo()
        _db.session.commit()
        _db.session.remove()
        with _db.engine.connect() as conn:
            snapshot = _snapshot(conn)
    yield snapshot
    with app.app_context():
        _clean(app)


@pytest.fixture
def demo(app: Any, loaded: Snapshot) -> Iterator[Any]:
    """The database holding the demo as loaded, inside a request context like ``db``; what
    the test changed is put back afterwards."""
    with app.test_request_context():
        yield _db
        _db.session.rollback()
        _db.session.remove()
        _restore(loaded)


def test_demo_is_idempotent(demo: Any) -> None:
    first = _counts(demo)
    load_demo()
    demo.session.commit()
    assert _counts(demo) == first
    assert first["Household"] == 4 * 12 * 5 + 12 * 10  # Jingyuan: 10 a village (the worked case)


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
    assert ">360<" in page
    for household in demo.session.scalars(sa.select(Household).limit(20)):
        assert household.head_name not in page
        assert household.head_id_number not in page


def test_the_60_washers_spread_over_jingyuans_villages_one_per_household(
    app: Any, demo: Any
) -> None:
    """The worked case of the fair allocation: Jingyuan's administrator opens the allocation
    page of the 60 washing machines; fair mode (the default) shares them over the villages
    with eligible needs, one per household, and shows the shares."""
    washers = next(r for r in demo.session.scalars(sa.select(Resource)) if "洗衣机60台" in r.title)
    assert washers.per_household == 1
    browser = app.test_client()
    browser.post("/login", data={"username": "jingyuan_admin", "password": DEMO_PASSWORD})
    page = browser.get(f"/resources/{washers.id}/allocate").get_data(as_text=True)
    assert "总分（公平）" in page and "总分（最高）" in page
    shares = page.split('aria-label="份额"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>([^<]+)</td>" + r'<td class="text-end">(\d+)</td>' * 3, shares)
    assert rows, "no shares shown"
    assert all("靖远县" in name for name, *_ in rows)
    given = sum(int(g) for *_, g in rows)
    assert given == sum(int(s) for _n, _b, s, _g in rows) <= washers.remaining
    assert all(int(g) <= int(b) for _n, b, _s, g in rows)
    # More eligible households than washers: the shares bind, and every village gets some.
    assert len(rows) == 12 and sum(int(b) for _n, b, _s, _g in rows) > washers.remaining
    assert given == washers.remaining and all(int(g) >= 1 for *_, g in rows)
    proposals = page.split('aria-label="拟分配"', 1)[1].split("<h2", 1)[0]
    assert proposals.count('<tr><td><a href="/needs/') == given
    # each proposal's points open into the components that add up to them
    assert proposals.count("<details><summary>") == given and "合计" in proposals


def test_the_demo_plays_household_plans_through_the_services(app: Any, demo: Any) -> None:
    """一户一策 in the demo (demo_data/plans.json): plans with measures and checked guarantees,
    one household out of poverty by assessment, one at risk after a serious illness, one need
    posted from a measure and one for a guarantee not met; the pages show them."""
    from marketplace.plans import services as plans
    from marketplace.plans.models import GuaranteeCheck, Measure, Plan, StatusDecision

    plans_made = list(demo.session.scalars(sa.select(Plan)))
    assert len(plans_made) == 4
    assert demo.session.scalar(sa.select(sa.func.count(GuaranteeCheck.id))) == 4 * 6
    exits = list(demo.session.scalars(sa.select(StatusDecision)))
    assert len(exits) == 2 and all(d.to_status.value == "exited" for d in exits)
    at_risk = [p.household for p in plans_made if plans.risk_of(p.household).at_risk]
    assert len(at_risk) == 1 and at_risk[0].status.value == "exited"
    assert demo.session.scalar(
        sa.select(sa.func.count(Need.id)).where(Need.measure_id.is_not(None))) == 1  # fmt: skip
    assert demo.session.scalar(sa.select(sa.func.count(Measure.id))) >= 4
    browser = app.test_client()
    browser.post("/login", data={"username": "jingyuan_admin", "password": DEMO_PASSWORD})
    listing = browser.get("/plans/monitoring").get_data(as_text=True)
    assert at_risk[0].register_number in listing
    page = browser.get(f"/plans/{at_risk[0].id}").get_data(as_text=True)
    assert "有返贫风险" in page and "纳入监测" in page


def test_demo_households_arrive_identified_with_their_rosters(app: Any, demo: Any) -> None:
    """Each demo household went through 精准识别 (proposed by its village's staff, reviewed for
    its township, confirmed for its county) and has its whole roster, the head first: valid
    ID card numbers, each person once, and the labour capacity the household was registered
    with (the roster now decides it)."""
    from marketplace.audit.models import AuditEvent
    from marketplace.households.models import HouseholdMember, IdentificationStatus
    from marketplace.households.services import ordered_roster, roster_labour

    households = demo.session.scalars(sa.select(Household)).all()
    assert {h.identification for h in households} == {IdentificationStatus.CONFIRMED}
    assert all(h.village_assessed_on and h.identification_confirmed_by_id for h in households)
    confirmed = demo.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "identification_confirmed"))  # fmt: skip
    assert confirmed == len(households)
    numbers = list(demo.session.scalars(sa.select(HouseholdMember.id_number)))
    assert len(numbers) == len(set(numbers)) == sum(h.member_count for h in households)
    assert all(normalise_id_number(n) == n for n in numbers)
    for h in households:
        roster = ordered_roster(h)
        assert roster[0].relation.value == "head" and roster[0].id_number == h.head_id_number
        assert roster_labour(roster) == h.labour_capacity
    browser = app.test_client()
    browser.post("/login", data={"username": "jingyuan_staff", "password": DEMO_PASSWORD})
    staffed = next(h for h in households if h.village_id in {
        r.id for r in demo.session.scalar(sa.select(User).where(
            User.username == "jingyuan_staff")).regions})  # fmt: skip
    page = browser.get(f"/households/{staffed.id}").get_data(as_text=True)
    assert "县已确认" in page and staffed.head_id_number in page and "名册已录" in page
