"""Shared fixtures: one app and schema per run, every row but the gazetteer removed after each test.

TEST_DATABASE_URL chooses the database the suite runs on (default: a SQLite file in a temp dir).
TEST_POSTGRES_URL names a PostgreSQL database for the tests marked ``postgres``; without it they
are skipped with the reason shown, unless REQUIRE_POSTGRES=1 (CI), where they fail instead.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

_INSTANCE = Path(tempfile.mkdtemp(prefix="fupin-test-"))
os.environ["MARKETPLACE_INSTANCE"] = str(_INSTANCE)
os.environ.setdefault("SECRET_KEY", "test-secret-key")

from marketplace import create_app, page_cache  # noqa: E402
from marketplace.accounts.models import (  # noqa: E402
    Organization,
    OrganizationKind,
    Role,
    User,
    VerificationStatus,
)
from marketplace.accounts.services import hash_password  # noqa: E402
from marketplace.extensions import db as _db  # noqa: E402
from marketplace.regions.models import Region  # noqa: E402
from marketplace.regions.services import by_code, load_baiyin_extract, load_gazetteer  # noqa: E402

PASSWORD = "testpass123"


@functools.cache
def _password_hash() -> str:
    """One hash for every test user, made at the tests' argon2 cost (inside the app)."""
    return hash_password(PASSWORD)


BAIYIN = "620400000000"
JINGYUAN = "620421000000"
HUINING = "620422000000"


def database_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{_INSTANCE / 'test.db'}"


def postgres_url() -> str | None:
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url and database_url().startswith("postgresql"):
        url = database_url()
    return url


def base_config(url: str) -> dict[str, Any]:
    return {
        "TESTING": True,
        # Argon2 at its lowest cost: the suite signs in hundreds of times, and at the
        # application's cost that was a third of its time. Still argon2 ("$argon2..." hashes).
        "PASSWORD_HASH_TIME_COST": 1,
        "PASSWORD_HASH_MEMORY_KIB": 8,
        "PASSWORD_HASH_PARALLELISM": 1,
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        # The limiter stays on (it is one object for every app); the limit is set out of reach
        # except in the test that checks it.
        "RATELIMIT_ENABLED": True,
        "LOGIN_RATE_LIMIT": "100000 per minute",
        "SERVER_NAME": "localhost",
    }


class FreshContextClient(FlaskClient):
    """Each request gets its own app context, session and ``g``, as under a real server.

    Without this, a request would reuse the test's app context and see its cached user and
    session state: tests would pass for reasons that do not hold in production.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app() -> Iterator[Any]:
    app = create_app(base_config(database_url()))
    app.test_client_class = FreshContextClient
    with app.app_context():
        _db.drop_all()
        _db.create_all()
        load_gazetteer()
        report = load_baiyin_extract()
        assert report.ok, report.errors
        _db.session.commit()
        app.config["GAZETTEER_MAX_ID"] = _db.session.scalar(sa.select(sa.func.max(Region.id)))
        yield app
        _db.session.remove()
        page_cache.dispose(app)
        _db.drop_all()
        _db.engine.dispose()


@pytest.fixture
def db(app: Any) -> Iterator[Any]:
    """The database inside an app context; everything a test wrote is removed afterwards."""
    with app.test_request_context():
        yield _db
        _db.session.rollback()
        _clean(app)


def _clean(app: Any) -> None:
    with _db.engine.begin() as conn:
        # organization and user refer to each other: break the cycle first.
        conn.execute(sa.text("UPDATE organization SET verified_by_id = NULL"))
        for table in reversed(_db.metadata.sorted_tables):
            if table.name == "region":
                conn.execute(table.delete().where(table.c.id > app.config["GAZETTEER_MAX_ID"]))
            else:
                conn.execute(table.delete())
    _db.session.remove()


@pytest.fixture
def client(app: Any, db: Any) -> Any:
    return app.test_client()


@pytest.fixture
def region() -> Callable[[str], Region]:
    def get(code: str) -> Region:
        found = by_code(code)
        assert found is not None, code
        return found

    return get


@pytest.fixture
def villages(db: Any, region: Callable[[str], Region]) -> Callable[[str], list[Region]]:
    def under(code: str) -> list[Region]:
        parent = region(code)
        return list(
            db.session.scalars(
                sa.select(Region)
                .where(Region.level == "village", Region.path.startswith(parent.path))
                .order_by(Region.code)
            )
        )

    return under


@pytest.fixture
def make_org(db: Any, region: Callable[[str], Region]) -> Callable[..., Organization]:
    counter = iter(range(1, 10_000))

    def make(
        status: VerificationStatus = VerificationStatus.VERIFIED,
        region_code: str = BAIYIN,
        kind: OrganizationKind = OrganizationKind.ENTERPRISE,
        **values: Any,
    ) -> Organization:
        from marketplace.demo import credit_code

        n = next(counter)
        org = Organization(
            name=values.pop("name", f"测试企业{n}"),
            kind=kind,
            credit_code=values.pop("credit_code", credit_code(f"91620400MA71T{n:04d}")),
            region=region(region_code),
            status=status,
            **values,
        )
        db.session.add(org)
        db.session.commit()
        return org

    return make


@pytest.fixture
def make_user(db: Any) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(
        role: Role,
        regions: list[Region] | None = None,
        org: Organization | None = None,
        **values: Any,
    ) -> User:
        n = next(counter)
        user = User(
            username=values.pop("username", f"{role.value}{n}"),
            display_name=values.pop("display_name", f"测试{role.label}{n}"),
            role=role,
            regions=regions or [],
            organization=org,
            password_hash=_password_hash(),
            **values,
        )
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def login(client: Any) -> Callable[[User], Any]:
    def do(user: User) -> Any:
        response = client.post("/login", data={"username": user.username, "password": PASSWORD})
        assert response.status_code == 302, response.data.decode()[:500]
        return response

    return do


@pytest.fixture
def pg_url() -> str:
    url = postgres_url()
    reason = "needs PostgreSQL: set TEST_POSTGRES_URL=postgresql+psycopg://..."
    if not url:
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail(reason + " (REQUIRE_POSTGRES is set)")
        pytest.skip(reason)
    return url


# --- workflow factories -----------------------------------------------------------------

_serial = iter(range(1, 1_000_000))


@pytest.fixture
def make_household(db: Any) -> Callable[..., Any]:
    from datetime import date

    from marketplace.demo import id_number
    from marketplace.households.models import Household, IdentificationStatus
    from marketplace.vocab import HouseholdStatus, PovertyCause

    def make(village: Region, **values: Any) -> Household:
        n = next(_serial)
        household = Household(
            register_number=values.pop("register_number", f"{village.code}{n:04d}"),
            village=village,
            head_name=values.pop("head_name", "张三丰"),
            head_id_number=values.pop(
                "head_id_number", id_number(village.code, date(1970, 1, 1 + n % 28), n % 1000)
            ),
            phone=values.pop("phone", "13912345678"),
            member_count=values.pop("member_count", 3),
            primary_cause=values.pop("primary_cause", PovertyCause.ILLNESS),
            status=values.pop("status", HouseholdStatus.POOR),
            # Identified (精准识别 confirmed by the county), so that its needs can be verified.
            identification=values.pop("identification", IdentificationStatus.CONFIRMED),
            **values,
        )
        db.session.add(household)
        db.session.commit()
        return household

    return make


@pytest.fixture
def make_need(db: Any) -> Callable[..., Any]:
    from marketplace.needs.models import Need, NeedStatus

    def make(village: Region, household: Any = None, **values: Any) -> Need:
        subcategory = values.pop("subcategory", "necessities.washer")
        quantity = values.pop("quantity", 1)
        need = Need(
            village=village,
            household=household,
            category=subcategory.split(".")[0],
            subcategory=subcategory,
            title=values.pop("title", "需要一台洗衣机"),
            quantity=quantity,
            open_quantity=values.pop("open_quantity", quantity),
            unit=values.pop("unit", "台"),
            status=values.pop("status", NeedStatus.VERIFIED),
            **values,
        )
        db.session.add(need)
        db.session.commit()
        return need

    return make


@pytest.fixture
def make_resource(db: Any) -> Callable[..., Any]:
    from datetime import date, timedelta
    from decimal import Decimal

    from marketplace.resources.models import Resource, ResourceKind

    def make(org: Organization, area: list[Region], **values: Any) -> Resource:
        capacity = values.pop("capacity", 10)
        today = date.today()
        resource = Resource(
            organization=org,
            kind=values.pop("kind", ResourceKind.GOODS),
            title=values.pop("title", "捐赠洗衣机"),
            categories=values.pop("categories", ["necessities.washer"]),
            capacity=capacity,
            remaining=values.pop("remaining", capacity),
            unit=values.pop("unit", "台"),
            unit_value=values.pop("unit_value", Decimal("1200")),
            valid_from=values.pop("valid_from", today - timedelta(days=1)),
            valid_until=values.pop("valid_until", today + timedelta(days=90)),
            delivery_deadline=values.pop("delivery_deadline", today + timedelta(days=60)),
            service_area=area,
            **values,
        )
        db.session.add(resource)
        db.session.commit()
        return resource

    return make


class World:
    """A small Jingyuan scene: staff, administrators, a household with a verified need, and a
    verified donor with a resource reaching the county."""

    def __init__(self, **parts: Any) -> None:
        self.__dict__.update(parts)


@pytest.fixture
def world(
    db: Any,
    region: Any,
    villages: Any,
    make_user: Any,
    make_org: Any,
    make_household: Any,
    make_need: Any,
    make_resource: Any,
) -> World:
    jingyuan_villages = villages(JINGYUAN)
    village, other_village = jingyuan_villages[0], jingyuan_villages[1]
    huining_village = villages(HUINING)[0]
    org = make_org(region_code=BAIYIN)
    household = make_household(village)
    return World(
        village=village,
        other_village=other_village,
        huining_village=huining_village,
        staff=make_user(Role.STAFF, [village], username="staff"),
        other_staff=make_user(Role.STAFF, [huining_village], username="otherstaff"),
        admin=make_user(Role.ADMIN, [region(JINGYUAN)], username="admin"),
        huining_admin=make_user(Role.ADMIN, [region(HUINING)], username="huiningadmin"),
        auditor=make_user(Role.AUDITOR, [region(BAIYIN)], username="auditor"),
        org=org,
        donor=make_user(Role.DONOR, org=org, username="donor"),
        household=household,
        need=make_need(village, household),
        resource=make_resource(org, [region(JINGYUAN)]),
    )
