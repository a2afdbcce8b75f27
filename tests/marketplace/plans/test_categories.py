"""The need categories follow the five routes (五个一批): 生态补偿 and 社会保障兜底 are categories
with their sub-categories, accepted by the forms and by the database (the model's and the
migrated one's checks), every category maps to one route, and the reports split by route."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.needs.models import Need
from marketplace.reports import services as reports
from marketplace.reports.figures import compute_month
from marketplace.timefmt import beijing_today
from marketplace.vocab import CATEGORIES, CATEGORY_TREE, Route
from tests.conftest import JINGYUAN, World
from tests.marketplace.test_migrations import _migrated, _postgres_schema
from tests.pages import forms_of, submit

NEW = {
    "ecology": {"ecology.ranger", "ecology.reforestation", "ecology.grassland"},
    "safety_net": {"safety_net.minimum_living", "safety_net.destitute", "safety_net.temporary"},
}


def test_every_category_follows_one_of_the_five_routes() -> None:
    assert len(Route) == 5
    for code, category in CATEGORIES.items():
        assert category.route in Route, code
    tops = {top.code: {s.code for s in subs} for top, subs in CATEGORY_TREE}
    for code, subs in NEW.items():
        assert tops[code] == subs
    assert CATEGORIES["ecology.ranger"].route == Route.ECOLOGY
    assert CATEGORIES["safety_net.minimum_living"].route == Route.SAFETY_NET
    assert CATEGORIES["housing.relocation"].route == Route.RELOCATION
    assert CATEGORIES["housing.renovation"].route == Route.SAFETY_NET
    assert CATEGORIES["education.grant"].route == Route.EDUCATION
    assert CATEGORIES["jobs.training"].route == Route.PRODUCTION
    assert {c.route for c in CATEGORIES.values()} == set(Route)


def test_the_need_form_takes_the_new_categories(
    client: Any, db: Any, login: Any, world: World
) -> None:
    login(world.staff)
    for subcategory in ("ecology.ranger", "safety_net.minimum_living"):
        response = submit(client, "/needs/new", {
            "household": str(world.household.id), "subcategory": subcategory,
            "title": "申请" + str(CATEGORIES[subcategory].label), "quantity": "1", "unit": "户",
        })  # fmt: skip
        assert response.status_code == 302, response.data.decode()[:2000]
    rows = db.session.execute(
        sa.select(Need.category, Need.subcategory).where(Need.category.in_(list(NEW)))
    ).all()
    assert sorted(rows) == [("ecology", "ecology.ranger"),
                            ("safety_net", "safety_net.minimum_living")]  # fmt: skip
    client.post("/logout")
    login(world.donor)
    page = client.get("/resources/new").data.decode()
    offered = next(f for f in forms_of(page) if "categories" in f.names).field("categories")
    assert {"ecology", "safety_net", "ecology.ranger"} <= set(offered.options)


def test_the_database_takes_them_and_refuses_others(db: Any, world: World) -> None:
    columns = (
        "village_id, category, subcategory, title, description, quantity, open_quantity, "
        "unit, estimated_value, urgency, status, return_reason, created_at, updated_at"
    )
    insert = sa.text(
        f"INSERT INTO need ({columns}) VALUES (:village, :top, :sub, 't', '', 1, 1, '户', 0, 2, "
        "'submitted', '', :now, :now)"
    )  # fmt: skip
    from marketplace.db import utcnow

    with db.engine.begin() as conn:
        conn.execute(insert, {"village": world.village.id, "top": "safety_net",
                              "sub": "safety_net.destitute", "now": utcnow()})  # fmt: skip
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        conn.execute(insert, {"village": world.village.id, "top": "safety_net",
                              "sub": "safety_net.unknown", "now": utcnow()})  # fmt: skip


def _migrated_checks(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        checks = sa.inspect(conn).get_check_constraints("need")
    return " ".join(c["sqltext"] for c in checks)


def test_the_migrated_sqlite_database_takes_the_new_categories(tmp_path: Any) -> None:
    with _migrated(f"sqlite:///{tmp_path / 'migrated.db'}") as engine:
        text = _migrated_checks(engine)
    for top, subs in NEW.items():
        assert f"'{top}'" in text and all(f"'{s}'" in text for s in subs)


@pytest.mark.postgres
def test_the_migrated_postgres_database_takes_the_new_categories(pg_url: str) -> None:
    with _postgres_schema(pg_url) as options, _migrated(pg_url, options) as engine:
        text = _migrated_checks(engine)
    for top, subs in NEW.items():
        assert f"'{top}'" in text and all(f"'{s}'" in text for s in subs)


def test_the_report_splits_the_help_by_route(
    db: Any, world: World, make_need: Any, region: Any, client: Any, login: Any
) -> None:
    from datetime import UTC, datetime

    october = datetime(2026, 10, 10, 4, tzinfo=UTC)
    for subcategory in ("ecology.ranger", "housing.relocation", "housing.renovation",
                        "medical.treatment", "jobs.training"):  # fmt: skip
        make_need(world.village, world.household, subcategory=subcategory, created_at=october,
                  verified_at=october)  # fmt: skip
    data = compute_month(region(JINGYUAN), date(2026, 10, 1))["regions"][JINGYUAN]["route"]
    posted = {route: figures["posted"] for route, figures in data.items()}
    assert posted == {"ecology": 1, "relocation": 1, "safety_net": 2, "production": 1}
    report = reports.month_report(region(JINGYUAN), date(2026, 10, 1))
    rows = {row.key: row.figures.get("posted") for row in report.routes}
    assert rows == {"production": 1, "relocation": 1, "ecology": 1, "education": 0,
                    "safety_net": 2}  # fmt: skip
    login(world.admin)
    page = client.get(f"/reports/?month=2026-10&region={JINGYUAN}").data.decode()
    assert "按五个一批" in page and "易地搬迁脱贫一批" in page and "社会保障兜底" in page
    assert "两不愁三保障全部达标户数" in page


def test_a_month_frozen_before_these_figures_shows_them_as_dashes(
    db: Any, world: World, region: Any, client: Any, login: Any
) -> None:
    """A snapshot taken before the household and route figures existed: the page answers, and
    those figures show "—" (not 0: nobody counted them then)."""
    from marketplace.reports.figures import HOUSEHOLD_COUNTS, ROUTE
    from marketplace.reports.models import ReportSnapshot

    today = beijing_today()
    month = date(today.year, today.month, 1)  # the world's needs were posted now
    figures = compute_month(region(JINGYUAN), month)
    for entry in figures["regions"].values():
        entry.pop(ROUTE, None)
        for name in HOUSEHOLD_COUNTS:
            entry["all"].pop(name, None)
    text = month.strftime("%Y-%m")
    db.session.add(ReportSnapshot(month=text, region=region(JINGYUAN), figures=figures))
    db.session.commit()
    login(world.admin)
    page = client.get(f"/reports/?month={text}&region={JINGYUAN}")
    assert page.status_code == 200
    html = page.data.decode()
    assert "冻结" in html  # read from the snapshot
    households = html.split('<h2 class="h5 mt-3">各地区农户情况</h2>', 1)[1].split("</table>")[0]
    township = households.split(world.village.parent.name, 1)[1].split("</tr>", 1)[0]
    assert township.count("<td>—</td>") == len(HOUSEHOLD_COUNTS)
    routes = html.split('<h2 class="h5 mt-3">按五个一批</h2>', 1)[1].split("</table>", 1)[0]
    assert "<td>—</td>" in routes and "<td>0</td>" not in routes
