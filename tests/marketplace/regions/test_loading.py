"""The shipped gazetteer, the Baiyin extract, and loading townships and villages from CSV."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from marketplace.regions.models import Region, RegionLevel
from marketplace.regions.services import load_gazetteer, load_subdivisions
from tests.conftest import JINGYUAN


def _count(db: Any, **filters: Any) -> int:
    return db.session.scalar(sa.select(sa.func.count(Region.id)).filter_by(**filters))


def test_gazetteer_covers_the_country(db: Any, region: Any) -> None:
    assert _count(db, level=RegionLevel.PROVINCE) == 34
    assert _count(db, level=RegionLevel.COUNTY) > 2800
    gansu = region("620000000000")
    jingyuan = region(JINGYUAN)
    assert jingyuan.name == "靖远县"
    assert gansu.contains(jingyuan)
    assert jingyuan.full_name == "白银市靖远县"
    # Every unit has coordinates (taken from the parent where the source has none).
    assert db.session.scalar(sa.select(sa.func.count(Region.id)).where(Region.lat.is_(None))) == 0


def test_gazetteer_load_is_idempotent(db: Any) -> None:
    assert load_gazetteer().created == 0


def test_baiyin_extract_has_its_five_counties_townships_and_villages(db: Any, region: Any) -> None:
    city = region("620400000000")
    counties = [c.name for c in city.children]
    assert counties == ["白银区", "平川区", "靖远县", "会宁县", "景泰县"]
    under_city = Region.path.startswith(city.path)
    townships = db.session.scalar(
        sa.select(sa.func.count(Region.id)).where(under_city, Region.level == "township")
    )
    village_count = db.session.scalar(
        sa.select(sa.func.count(Region.id)).where(under_city, Region.level == "village")
    )
    assert (townships, village_count) == (78, 860)


def test_load_townships_and_villages(db: Any, region: Any) -> None:
    text = (
        "code,name,parent_code,lat,lng\n"
        "620421999000,测试镇,620421000000,36.5,104.6\n"
        "620421999001,测试村,620421999000,,\n"
    )
    report = load_subdivisions(text)
    assert report.ok and report.created == 2
    village = region("620421999001")
    assert village.level == RegionLevel.VILLAGE
    assert village.parent.name == "测试镇"
    assert (village.lat, village.lng) == (36.5, 104.6)
    assert region(JINGYUAN).contains(village)
    again = load_subdivisions(text)
    assert (again.created, again.updated) == (0, 0)


def test_villages_may_come_before_their_township(db: Any, region: Any) -> None:
    text = "620421999001,测试村,620421999000\n620421999000,测试镇,620421000000\n"
    assert load_subdivisions(text).ok
    assert region("620421999001").parent.code == "620421999000"


def test_bad_rows_are_reported_by_line_and_nothing_is_written(db: Any) -> None:
    before = _count(db)
    text = (
        "code,name,parent_code,lat,lng\n"
        "620421999000,好的镇,620421000000,,\n"
        "62042199,短代码,620421000000,,\n"
        "620421999002,,620421000000,,\n"
        "620421999003,孤儿村,999999999999,,\n"
        "620421999004,坐标错,620421000000,north,104\n"
        "620421999005,列数错\n"
        "620421999006,省下挂,620000000000,,\n"
    )
    report = load_subdivisions(text)
    assert [line for line, _ in report.errors] == [3, 4, 5, 6, 7, 8]
    assert "12 digits" in report.errors[0][1]
    assert "unknown parent" in report.errors[2][1]
    db.session.rollback()
    assert _count(db) == before


def test_cli_reports_bad_rows_and_exits_non_zero(app: Any, db: Any, tmp_path: Any) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("620421999000,测试镇,123\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["regions", "load", str(bad)])
    assert result.exit_code != 0
    assert "line 1" in result.output
    good = tmp_path / "good.csv"
    good.write_text("\ufeffcode,name,parent_code\n620421999000,测试镇,620421000000\n", "utf-8")
    result = app.test_cli_runner().invoke(args=["regions", "load", str(good)])
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output
