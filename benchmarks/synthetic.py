"""A synthetic province for benchmarks: real Gansu counties from the shipped gazetteer, made-up
townships and villages under them, the need-category mix of the demo, Chinese texts."""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from matching.constraints import allowed
from matching.model import NeedView, ResourceView
from matching.scoring import Weights, score

GAZETTEER = Path(__file__).resolve().parent.parent / "marketplace/regions/data/china_counties.csv"
SUBCATEGORIES = [
    ("necessities.washer", "需要一台洗衣机"), ("necessities.appliance", "家里缺少冰箱"),
    ("necessities.clothing", "冬季缺少棉被棉衣"), ("services.telecom", "申请通信资费优惠"),
    ("education.grant", "孩子上高中需要助学金"), ("medical.treatment", "慢性病用药费用困难"),
    ("housing.renovation", "危房改造缺少资金"), ("industry.livestock", "想养种羊缺少资金"),
    ("industry.planting", "需要马铃薯良种和地膜"), ("jobs.employment", "希望外出务工"),
    ("jobs.training", "希望参加技能培训"), ("consumption.produce", "自产小杂粮需要销路"),
    ("finance.microcredit", "申请小额信贷贴息"), ("infrastructure.water", "修建水窖"),
]  # fmt: skip
TODAY = date(2026, 11, 22)


def villages(
    province: str = "62", per_county: tuple[int, int] = (12, 15)
) -> list[tuple[str, float, float]]:
    """(path, lat, lng) of synthetic villages under every county of the province."""
    with GAZETTEER.open(encoding="utf-8") as gazetteer:
        rows = list(csv.DictReader(gazetteer))
    counties = [r for r in rows if r["level"] == "county" and r["code"].startswith(province)]
    rng = random.Random(7)
    out = []
    for county in counties:
        code = county["code"]
        base = f"/{code[:2]}0000000000/{code[:4]}00000000/{code}/"
        lat, lng = float(county["lat"]), float(county["lng"])
        for t in range(1, per_county[0] + 1):
            town = f"{code[:6]}{t:03d}000"
            for v in range(1, per_county[1] + 1):
                village = f"{code[:6]}{t:03d}{v:03d}"
                out.append((f"{base}{town}/{village}/", lat + rng.uniform(-0.2, 0.2),
                            lng + rng.uniform(-0.2, 0.2)))  # fmt: skip
    return out


def needs(count: int, seed: int = 1) -> list[NeedView]:
    rng = random.Random(seed)
    places = villages()
    result = []
    for i in range(1, count + 1):
        sub, title = rng.choice(SUBCATEGORIES)
        path, lat, lng = rng.choice(places)
        result.append(NeedView(
            id=i, category=sub.split(".")[0], subcategory=sub, village_path=path,
            open_quantity=1 + (rng.random() < 0.2) * rng.randrange(1, 5), verified=True,
            household_status=rng.choice(["poor", "poor", "monitored", "exited"]),
            household_causes=(rng.choice(["illness", "disability", "skills", "capital"]),),
            urgency=rng.randint(1, 3), days_waiting=rng.randrange(120), prior_aid=rng.randrange(3),
            text=f"{title} 第{i % 97}组", lat=lat, lng=lng,
        ))  # fmt: skip
    return result


def resources(count: int, seed: int = 2) -> list[ResourceView]:
    rng = random.Random(seed)
    places = villages()
    result = []
    for i in range(1, count + 1):
        sub, title = rng.choice(SUBCATEGORIES)
        path = rng.choice(places)[0]
        codes = [c for c in path.split("/") if c]
        depth = rng.choice([2, 3, 3, 4])  # city, county, county, township
        area = "/" + "/".join(codes[:depth]) + "/"
        result.append(ResourceView(
            id=i, categories=(sub,) if rng.random() < 0.8 else (sub.split(".")[0],),
            service_paths=(area,), remaining=None if rng.random() < 0.05 else rng.randint(5, 60),
            active=True, organization_verified=True, valid_from=TODAY - timedelta(days=10),
            valid_until=TODAY + timedelta(days=200), text=f"捐赠：{title}",
        ))  # fmt: skip
    return result


def candidate_pairs(
    alloc_needs: list[NeedView], alloc_res: list[ResourceView], weights: Weights
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every allowed (need, resource) pair whose resource serves an area above the need's
    village, as columns: need ids, resource ids, integer points."""
    need_col: list[int] = []
    resource_col: list[int] = []
    points_col: list[int] = []
    by_area: dict[str, list[ResourceView]] = {}
    for r in alloc_res:
        by_area.setdefault(r.service_paths[0], []).append(r)
    for n in alloc_needs:
        codes = [c for c in n.village_path.split("/") if c]
        for depth in range(1, len(codes) + 1):
            for r in by_area.get("/" + "/".join(codes[:depth]) + "/", []):
                if allowed(n, r, TODAY):
                    need_col.append(n.id)
                    resource_col.append(r.id)
                    points_col.append(score(n, r, weights).points)
    return np.array(need_col), np.array(resource_col), np.array(points_col)
