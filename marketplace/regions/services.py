"""Loading the gazetteer and per-deployment townships and villages; region look-ups."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from marketplace.extensions import db
from marketplace.regions.models import LEVEL_ORDER, Region, RegionLevel

DATA_DIR = Path(__file__).resolve().parent / "data"
GAZETTEER = DATA_DIR / "china_counties.csv"
BAIYIN_EXTRACT = DATA_DIR / "baiyin_townships_villages.csv"

CHILD_LEVEL = {
    RegionLevel.PROVINCE: RegionLevel.CITY,
    RegionLevel.CITY: RegionLevel.COUNTY,
    RegionLevel.COUNTY: RegionLevel.TOWNSHIP,
    RegionLevel.TOWNSHIP: RegionLevel.VILLAGE,
}


@dataclass
class LoadReport:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _coordinate(raw: str, low: float, high: float) -> float | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    value = float(raw)  # ValueError reported by the caller
    if not low <= value <= high:
        raise ValueError(raw)
    return value


def load_gazetteer(path: Path = GAZETTEER) -> LoadReport:
    """Provinces, cities and counties from the shipped file; idempotent."""
    report = LoadReport()
    existing = {code for (code,) in db.session.execute(sa.select(Region.code))}
    by_code: dict[str, Region] = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["code"] in existing:
                continue
            parent = by_code.get(row["parent_code"]) if row["parent_code"] else None
            if row["parent_code"] and parent is None:
                parent = db.session.scalar(
                    sa.select(Region).where(Region.code == row["parent_code"])
                )
            region = Region(
                code=row["code"],
                name=row["name"],
                level=RegionLevel(row["level"]),
                parent=parent,
                path=(parent.path if parent else "/") + row["code"] + "/",
                lat=float(row["lat"]) if row["lat"] else None,
                lng=float(row["lng"]) if row["lng"] else None,
            )
            db.session.add(region)
            by_code[row["code"]] = region
            report.created += 1
    db.session.flush()
    return report


def load_subdivisions(text: str) -> LoadReport:
    """Townships and villages from CSV text: code, name, parent_code[, lat, lng].

    Rows are checked first; if any row is bad nothing is written and every bad line is
    reported with its number. A parent may be a known region or a row of the same file, in any
    order. Existing codes are updated (name, coordinates), so loading twice changes nothing.
    """
    report = LoadReport()
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    start = 1
    if rows and rows[0] and rows[0][0].strip().lower() == "code":
        start, rows = 2, rows[1:]
    parsed: dict[str, _Row] = {}
    for number, cells in enumerate(rows, start=start):
        if any(cell.strip() for cell in cells):
            _parse_row(number, cells, parsed, report)
    known = {r.code: r for r in db.session.scalars(sa.select(Region))}
    levels: dict[str, RegionLevel] = {}
    for row in parsed.values():
        level = _level_below(row.parent_code, known, parsed)
        if level is None:
            report.errors.append(
                (row.number, f"unknown parent code {row.parent_code!r}, or not a county/township")
            )
        else:
            levels[row.code] = level
    if report.errors:
        report.errors.sort()
        return report
    # Townships before villages, whatever the file's order.
    for row in sorted(parsed.values(), key=lambda r: levels[r.code].depth):
        parent = known[row.parent_code]
        lat = row.lat if row.lat is not None else parent.lat
        lng = row.lng if row.lng is not None else parent.lng
        region = known.get(row.code)
        if region is None:
            region = Region(
                code=row.code,
                name=row.name,
                level=levels[row.code],
                parent=parent,
                path=parent.path + row.code + "/",
                lat=lat,
                lng=lng,
            )
            db.session.add(region)
            known[row.code] = region
            report.created += 1
        elif (region.name, region.lat, region.lng) != (row.name, lat, lng):
            region.name, region.lat, region.lng = row.name, lat, lng
            report.updated += 1
    db.session.flush()
    return report


@dataclass
class _Row:
    number: int
    code: str
    name: str
    parent_code: str
    lat: float | None
    lng: float | None


def _parse_row(number: int, row: list[str], parsed: dict[str, _Row], report: LoadReport) -> None:
    if len(row) not in (3, 5):
        report.errors.append((number, "expected 3 or 5 columns: code,name,parent_code[,lat,lng]"))
        return
    code, name, parent_code = (c.strip() for c in row[:3])
    if not (code.isdigit() and len(code) == 12):
        report.errors.append((number, f"code must have 12 digits: {code!r}"))
        return
    if not name or len(name) > 100:
        report.errors.append((number, "name is empty or longer than 100 characters"))
        return
    if code in parsed:
        report.errors.append(
            (number, f"code {code} appears twice (first on line {parsed[code].number})")
        )
        return
    try:
        lat = _coordinate(row[3], -90, 90) if len(row) == 5 else None
        lng = _coordinate(row[4], -180, 180) if len(row) == 5 else None
    except ValueError:
        report.errors.append((number, "lat/lng must be numbers in range"))
        return
    parsed[code] = _Row(number, code, name, parent_code, lat, lng)


def _level_below(
    parent_code: str, known: dict[str, Region], parsed: dict[str, _Row]
) -> RegionLevel | None:
    """The level of a unit under this parent: township under a county, village under those."""
    parent = known.get(parent_code)
    if parent is not None:
        if parent.level in (RegionLevel.COUNTY, RegionLevel.TOWNSHIP):
            return CHILD_LEVEL[parent.level]
        return None
    row = parsed.get(parent_code)
    if row is not None and _level_below(row.parent_code, known, {}) == RegionLevel.TOWNSHIP:
        return RegionLevel.VILLAGE
    return None


def load_baiyin_extract() -> LoadReport:
    return load_subdivisions(BAIYIN_EXTRACT.read_text(encoding="utf-8"))


def by_code(code: str) -> Region | None:
    return db.session.scalar(sa.select(Region).where(Region.code == code))


def deployment_paths_query() -> sa.Select[Any]:
    """Paths of the cities and counties where townships have been loaded (the deployed area)."""
    township = sa.orm.aliased(Region)
    county = sa.orm.aliased(Region)
    counties = (
        sa.select(county.path)
        .join(township, township.parent_id == county.id)
        .where(township.level == RegionLevel.TOWNSHIP)
        .distinct()
    )
    return counties


def deployment_regions() -> list[Region]:
    """Cities and counties of the deployed area, for pickers (the country has 3,000 counties)."""
    county_paths = list(db.session.scalars(deployment_paths_query()))
    city_codes = {p.strip("/").split("/")[-2] for p in county_paths if p.count("/") >= 3}
    regions = db.session.scalars(
        sa.select(Region)
        .where(sa.or_(Region.path.in_(county_paths), Region.code.in_(city_codes)))
        .order_by(Region.path)
    ).all()
    return list(regions)


def load_ancestors(regions: Iterable[Region]) -> list[Region]:
    """Every ancestor of these regions in one query, so that ``full_name`` over a page of them
    finds its parents in the session instead of asking for each (a parent by id is looked up
    in the identity map first). The session holds its rows weakly: keep the list while the
    page is rendered."""
    codes = {code for r in regions for code in r.path.strip("/").split("/")[:-1] if code}
    if not codes:
        return []
    return list(db.session.scalars(sa.select(Region).where(Region.code.in_(sorted(codes)))))


def works_in_background(region: Region) -> bool:
    """Whether work over the region (an allocation, a report export) is large enough to run in
    the background with a progress page: regions at BACKGROUND_REGION_LEVEL or above."""
    level = RegionLevel(current_app.config.get("BACKGROUND_REGION_LEVEL", "city"))
    return LEVEL_ORDER.index(region.level) <= LEVEL_ORDER.index(level)
