"""Monthly reports: who may read which region, live figures or the frozen snapshot, exports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from flask_babel import lazy_gettext as _l

from marketplace import facts
from marketplace.accounts.models import Role, User
from marketplace.audit.services import record_event
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.facts import cache as fact_cache
from marketplace.regions.models import Region, RegionLevel
from marketplace.regions.services import by_code, deployment_paths_query
from marketplace.reports import policy
from marketplace.reports.figures import (
    ALL,
    CATEGORY,
    ORGANIZATION,
    ROUTE,
    Tally,
    compute_month,
    empty_figures,
    month_bounds,
    month_tallies,
    organization_names,
    parse_month,
)
from marketplace.reports.models import ReportSnapshot
from marketplace.timefmt import beijing_today
from marketplace.vocab import CATEGORY_TREE, Route


@dataclass
class Row:
    """One line of a report table: what it is about and its figures."""

    key: str
    label: str
    figures: dict[str, Any]
    region: Region | None = None


@dataclass
class MonthReport:
    region: Region
    month: str
    summary: dict[str, Any]
    regions: list[Row]  # the region's children, for the drill-down
    categories: list[Row]
    organizations: list[Row]
    snapshot: ReportSnapshot | None
    computed_at: str
    routes: list[Row] = field(default_factory=list)  # the five routes (五个一批)

    @property
    def trail(self) -> list[Region]:
        return [*self.region.ancestors(), self.region]


def month_or_error(text: str | None) -> date:
    """The month asked for ('YYYY-MM'), this month when none, a clear error when malformed."""
    if not text:
        today = datetime.now(UTC).date()
        return date(today.year, today.month, 1)
    try:
        return parse_month(text)
    except ValueError as exc:
        raise ServiceError(_l("Give the month as YYYY-MM, for example 2026-10.")) from exc


def deployment_roots() -> list[Region]:
    """The provinces of the deployed area: the widest reports a superuser can read."""
    codes = {path.strip("/").split("/")[0] for path in db.session.scalars(deployment_paths_query())}
    return list(db.session.scalars(sa.select(Region).where(Region.code.in_(codes))))


def default_region(user: User) -> Region:
    regions = sorted(user.regions, key=lambda r: r.path) if user.role != Role.SUPERUSER else []
    regions = regions or deployment_roots()
    if not regions:
        raise ServiceError(_l("No region has been set up yet."), 404)
    return regions[0]


def region_for(user: User, code: str | None) -> Region:
    """The region asked for, if the user may read its report; 404 otherwise."""
    if not code:
        return default_region(user)
    region = by_code(code.strip()[:12])
    if region is None or not policy.can_read(user, region):
        raise ServiceError(_l("The page or record was not found."), 404)
    return region


def find_snapshot(region: Region, month: str) -> ReportSnapshot | None:
    """A frozen report of this month covering the region (its own or an ancestor's); its
    figures are read when first needed (a province's run to megabytes)."""
    prefixes = [r.path for r in [*region.ancestors(), region]]
    return db.session.scalar(
        sa.select(ReportSnapshot)
        .join(Region, ReportSnapshot.region_id == Region.id)
        .where(ReportSnapshot.month == month, Region.path.in_(prefixes))
        .options(sa.orm.defer(ReportSnapshot.figures))
        .order_by(ReportSnapshot.created_at.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class RegionFigures:
    """What one region's report reads of a month's figures: its own entry (by category,
    donor and route), its children's totals and the donors' names. Plain data, kept between
    requests (``report_figures``)."""

    entry: dict[str, Any]
    children: dict[str, dict[str, Any]]
    organization_names: dict[str, str]
    computed_at: str
    counted: bool  # the routes were counted (a month frozen before they were is not)


def region_figures(data: dict[str, Any], region: Region) -> RegionFigures:
    """The region's part of a month's figures (``compute_month`` or a snapshot's)."""
    regions = data["regions"]
    entry = regions.get(region.code) or {}
    names = data.get("organization_names", {})
    return RegionFigures(
        entry=entry,
        children={c.code: regions[c.code].get(ALL) for c in region.children if c.code in regions},
        organization_names={k: names[k] for k in entry.get(ORGANIZATION, {}) if k in names},
        computed_at=data["computed_at"],
        counted=all(ROUTE in e for e in regions.values()),
    )


def report_figures(region: Region, first: date, snapshot: ReportSnapshot | None) -> RegionFigures:
    """The month's figures for the region: the snapshot's when frozen, else computed live and
    kept until a fact of one of its counties changes (marketplace.facts: their tokens) or the
    day turns (follow-ups fall due and "unmet" is as of today): one SELECT of the tokens
    instead of the month's facts; a change in another county keeps it."""
    if snapshot is not None:
        # A snapshot does not change (freezing again gives it a new time): kept by its id.
        frozen = ("report-snapshot", snapshot.id, str(snapshot.created_at), region.code)
        return fact_cache.get(
            frozen, lambda: region_figures(snapshot.figures, region), versioned=False
        )
    key = ("report", region.code, first, beijing_today(), date.today())
    counties = report_counties(region)
    if region.level == RegionLevel.CITY:
        compute = lambda: city_figures(region, first)  # noqa: E731
    else:
        compute = lambda: compute_region_figures(region, first)  # noqa: E731
    return fact_cache.get(
        key, compute, tokens=lambda session: facts.region_tokens(session, counties)
    )


@dataclass(frozen=True)
class CountyTallies:
    """A county's own tallies of a month, by (dimension, key): kept under its token, merged
    into its city's report, so that a change in one county recomputes that county only."""

    own: dict[tuple[str, str], Tally]
    names: dict[str, str]
    computed_at: str


def county_tallies(county: Region, first: date) -> CountyTallies:
    def compute() -> CountyTallies:
        figures = month_tallies(county, first)
        own = {
            (dim, key): t for (code, dim, key), t in figures.tallies.items() if code == county.code
        }
        ids = {int(key) for dim, key in own if dim == ORGANIZATION}
        return CountyTallies(
            own, organization_names(ids), datetime.now(UTC).isoformat(timespec="seconds")
        )

    key = ("report-tallies", county.code, first, beijing_today(), date.today())
    code = county.code
    return fact_cache.get(key, compute, tokens=lambda session: facts.region_tokens(session, [code]))


def city_figures(city: Region, first: date) -> RegionFigures:
    """A city's figures from its counties' kept tallies (equal to ``compute_region_figures``:
    every fact is in one county, so the city's tallies are the sums of its counties')."""
    merged: dict[tuple[str, str], Tally] = {}
    children: dict[str, dict[str, Any]] = {}
    names: dict[str, str] = {}
    times = []
    for county in city.children:
        part = county_tallies(county, first)
        times.append(part.computed_at)
        names.update(part.names)
        if part.own:
            own_all = part.own.get((ALL, ""))
            children[county.code] = own_all.as_dict() if own_all else empty_figures()
        for name, tally in part.own.items():
            merged.setdefault(name, Tally()).merge(tally)  # a new Tally: the kept ones stay
    entry: dict[str, Any] = {}
    if merged:
        entry = {ALL: empty_figures(), CATEGORY: {}, ORGANIZATION: {}, ROUTE: {}}
        for (dimension, key), tally in sorted(merged.items()):
            if dimension == ALL:
                entry[ALL] = tally.as_dict()
            else:
                entry[dimension][key] = tally.as_dict()
    return RegionFigures(
        entry=entry,
        children=children,
        organization_names={k: names[k] for k in entry.get(ORGANIZATION, {}) if k in names},
        computed_at=min(times) if times else datetime.now(UTC).isoformat(timespec="seconds"),
        counted=True,
    )


def report_counties(region: Region) -> list[str]:
    """The codes of the counties the region's report covers (its own county, below one)."""
    own = facts.county_of(region.path)
    if own is not None:
        return [own]
    if region.level == RegionLevel.CITY:
        return [c.code for c in region.children]
    # a province: its cities' children, one query (the cities need not be loaded)
    cities = sa.select(Region.id).where(Region.parent_id == region.id)
    return list(db.session.scalars(sa.select(Region.code).where(Region.parent_id.in_(cities))))


def compute_region_figures(region: Region, first: date) -> RegionFigures:
    return region_figures(compute_month(region, first), region)


def month_report(region: Region, first: date) -> MonthReport:
    month = first.strftime("%Y-%m")
    snapshot = find_snapshot(region, month)
    data = report_figures(region, first, snapshot)
    entry = data.entry

    # Copies: the kept figures are shared by every request.
    def figures(found: dict[str, Any] | None) -> dict[str, Any]:
        return dict(found) if found else empty_figures()

    children = [Row(c.code, c.name, figures(data.children.get(c.code)), c) for c in region.children]
    by_category = entry.get(CATEGORY, {})
    categories = [
        Row(top.code, str(top.label), figures(by_category.get(top.code)))
        for top, _subs in CATEGORY_TREE
    ]
    by_org = entry.get(ORGANIZATION, {})
    org_names = data.organization_names
    organizations = sorted(
        (Row(key, org_names.get(key, "#" + key), dict(f)) for key, f in by_org.items()),
        key=lambda row: (-row.figures["value_pledged"], row.label),
    )
    # A month frozen before the routes were counted has none: its rows show "—".
    by_route = entry.get(ROUTE) or {}
    missing = empty_figures() if data.counted else dict.fromkeys(empty_figures())
    routes = [
        Row(route.value, str(route.label), dict(by_route.get(route.value) or missing))
        for route in Route
    ]
    return MonthReport(
        region=region, month=month, summary=figures(entry.get(ALL)), regions=children,
        categories=categories, organizations=organizations, snapshot=snapshot,
        computed_at=data.computed_at, routes=routes,
    )  # fmt: skip


def take_snapshot(
    actor: User | None, root: Region, first: date, replace: bool = False
) -> ReportSnapshot:
    """Freeze a finished month's figures for the root's subtree (``actor`` None: the command
    line, which freezes any region)."""
    if actor is not None and not policy.can_freeze(actor, root):
        raise ServiceError(_l("Only administrators may do this."), 403)
    month = first.strftime("%Y-%m")
    if month_bounds(first)[1] > datetime.now(UTC):
        raise ServiceError(_l("A month can be frozen only after it has ended."))
    existing = db.session.scalar(
        sa.select(ReportSnapshot).where(
            ReportSnapshot.month == month, ReportSnapshot.region_id == root.id
        )
    )
    if existing is not None and not replace:
        raise ServiceError(_l("The figures of this month are already frozen."), 409)
    figures = compute_month(root, first)
    if existing is not None:
        before = {"computed_at": existing.figures.get("computed_at")}
        existing.figures = figures
        existing.created_at = datetime.now(UTC)
        existing.created_by_id = actor.id if actor else None
        snapshot = existing
    else:
        before = None
        snapshot = ReportSnapshot(
            month=month, region=root, figures=figures, created_by_id=actor.id if actor else None
        )
        db.session.add(snapshot)
    db.session.flush()
    record_event(
        "report_snapshot_taken", actor, snapshot, before=before,
        after={"month": month, "region": root.code},
    )  # fmt: skip
    return snapshot


def record_export(user: User, report: MonthReport, fmt: str, table: str = "") -> None:
    record_event(
        "report_exported", user,
        after={"month": report.month, "region": report.region.code, "format": fmt,
               "table": table},
    )  # fmt: skip
