"""``marketplace synth``: a realistic synthetic province in the configured database, for
benchmarks and load tests (real counties of the gazetteer, generated townships, villages,
households, needs, organizations and resources, Chinese texts)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from marketplace.accounts.models import Organization, OrganizationKind, VerificationStatus
from marketplace.db import utcnow
from marketplace.demo import NEED_TEMPLATES, SURNAMES, credit_code
from marketplace.extensions import db
from marketplace.households.models import Household
from marketplace.needs.models import Need, NeedStatus
from marketplace.regions.models import Region, RegionLevel
from marketplace.regions.services import load_gazetteer
from marketplace.resources.models import (
    Resource,
    ResourceKind,
    ResourceStatus,
    resource_service_area,
)
from marketplace.vocab import HouseholdStatus, LabourCapacity, PovertyCause

CHUNK = 5000
KIND_OF = {"industry": ResourceKind.MONEY, "jobs": ResourceKind.JOBS,
           "consumption": ResourceKind.PURCHASE, "services": ResourceKind.DISCOUNT}  # fmt: skip


Progress = Callable[[int], None]  # told the rows written so far


def _insert(model: Any, rows: list[dict[str, Any]], progress: Progress | None = None) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        ids += db.session.scalars(
            sa.insert(model).returning(model.id, sort_by_parameter_order=True),
            chunk,  # type: ignore[attr-defined]
        ).all()
        if progress is not None:
            progress(len(chunk))
    return ids


def _villages(province: str, townships: int, villages: int) -> list[Region]:
    prefix = f"/{province}0000000000/"
    counties = db.session.scalars(
        sa.select(Region).where(Region.level == RegionLevel.COUNTY, Region.path.startswith(prefix))
    ).all()
    existing = {code for (code,) in db.session.execute(sa.select(Region.code))}
    rows = []
    for county in counties:
        for t in range(1, townships + 1):
            town_code = f"{county.code[:6]}{900 + t:03d}000"
            if town_code not in existing:
                rows.append({"code": town_code, "name": f"{county.name}第{t}镇",
                             "level": RegionLevel.TOWNSHIP, "parent_id": county.id,
                             "path": f"{county.path}{town_code}/", "lat": county.lat,
                             "lng": county.lng})  # fmt: skip
    _insert(Region, rows)
    towns = db.session.scalars(
        sa.select(Region).where(
            Region.level == RegionLevel.TOWNSHIP, Region.path.startswith(prefix),
            Region.name.like("%第%镇"),
        )
    ).all()  # fmt: skip
    rows = []
    for town in towns:
        for v in range(1, villages + 1):
            code = f"{town.code[:9]}{v:03d}"
            if code not in existing:
                rows.append({"code": code, "name": f"{town.name}{v}村",
                             "level": RegionLevel.VILLAGE, "parent_id": town.id,
                             "path": f"{town.path}{code}/", "lat": town.lat,
                             "lng": town.lng})  # fmt: skip
    _insert(Region, rows)
    return list(
        db.session.scalars(
            sa.select(Region).where(
                Region.level == RegionLevel.VILLAGE, Region.path.startswith(prefix),
                Region.name.like("%镇%村"),
            )
        )
    )  # fmt: skip


def synth_rows(households: int, resources: int) -> int:
    return 2 * households + resources


def synthesize(
    households: int,
    resources: int,
    province: str = "62",
    seed: int = 7,
    progress: Progress | None = None,
) -> dict[str, int]:
    """``progress`` is told the rows written as each batch goes in: households, needs and
    resources (``synth_rows`` of them in all)."""
    rng = random.Random(seed)
    load_gazetteer()
    places = _villages(province, townships=12, villages=15)
    now, today = utcnow(), date.today()
    start = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Household.id), 0))) or 0
    rows = []
    for i in range(households):
        village = places[i % len(places)]
        n = start + i + 1
        rows.append({
            "register_number": f"S{village.code}{n:08d}", "village_id": village.id,
            # Marked synthetic (S...): never a real person's number.
            "head_name": rng.choice(SURNAMES) + "某", "head_id_number": f"S{n:017d}",
            "phone": "", "member_count": 1 + n % 6, "primary_cause": rng.choice(list(PovertyCause)),
            "other_causes": [], "status": rng.choice(list(HouseholdStatus)),
            "labour_capacity": rng.choice(list(LabourCapacity)), "created_at": now,
            "updated_at": now,
        })  # fmt: skip
    household_ids = _insert(Household, rows, progress)
    rows = []
    villages_of = [places[i % len(places)].id for i in range(households)]
    for household_id, row in zip(household_ids, villages_of, strict=True):
        code, title, unit, quantity, value, _causes = rng.choice(NEED_TEMPLATES)
        rows.append({
            "household_id": household_id, "village_id": row, "category": code.split(".")[0],
            "subcategory": code, "title": title, "description": title,
            "quantity": quantity, "open_quantity": quantity, "unit": unit,
            "estimated_value": Decimal(quantity * value), "urgency": rng.randint(1, 3),
            "status": NeedStatus.VERIFIED, "created_at": now - timedelta(days=rng.randrange(120)),
            "updated_at": now, "return_reason": "",
        })  # fmt: skip
    _insert(Need, rows, progress)
    org_rows = []
    base = db.session.scalar(sa.select(sa.func.count(Organization.id))) or 0
    for j in range(max(resources // 10, 1)):
        org_rows.append({
            "name": f"合成爱心企业{base + j + 1}", "kind": OrganizationKind.ENTERPRISE,
            "credit_code": credit_code(f"9162{(base + j) % 10000:04d}MA{(base + j):07d}"),
            "status": VerificationStatus.VERIFIED, "contact_name": "", "contact_phone": "",
            "description": "", "status_reason": "", "created_at": now, "updated_at": now,
        })  # fmt: skip
    org_ids = _insert(Organization, org_rows)
    resource_rows, areas = [], []
    for k in range(resources):
        code, title, unit, _q, value, _c = rng.choice(NEED_TEMPLATES)
        capacity = None if rng.random() < 0.05 else rng.randint(5, 60)
        resource_rows.append({
            "organization_id": org_ids[k % len(org_ids)], "kind": KIND_OF.get(
                code.split(".")[0], ResourceKind.GOODS),
            "title": f"捐赠：{title}", "description": title, "categories": [code],
            "capacity": capacity, "remaining": capacity, "unit": unit, "unit_value": Decimal(value),
            "eligible_statuses": [], "eligible_causes": [], "valid_from": today - timedelta(days=5),
            "valid_until": today + timedelta(days=300), "status": ResourceStatus.ACTIVE,
            "created_at": now, "updated_at": now,
        })  # fmt: skip
        village = rng.choice(places)
        depth = rng.choice([1, 2, 2, 3])  # city, county, county, township above the village
        areas.append(village.path.strip("/").split("/")[depth])
    resource_ids = _insert(Resource, resource_rows, progress)
    region_ids = dict(db.session.execute(sa.select(Region.code, Region.id).where(
        Region.code.in_(set(areas)))).all())  # fmt: skip
    links = [
        {"resource_id": r, "region_id": region_ids[a]}
        for r, a in zip(resource_ids, areas, strict=True)
    ]
    for begin in range(0, len(links), CHUNK):
        db.session.execute(sa.insert(resource_service_area), links[begin : begin + CHUNK])
    if db.session.get_bind().dialect.name == "postgresql":
        # Bulk-loaded tables need statistics before the first query plans (autovacuum would
        # come later): without them a need look-up by village reads the whole table.
        db.session.execute(sa.text("ANALYZE household, need, resource, resource_service_area"))
    return {
        "villages": len(places),
        "households": len(household_ids),
        "resources": len(resource_ids),
    }
