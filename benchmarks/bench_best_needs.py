"""Best needs for a resource (the resource page's panel, ``/api/v1/resources/<id>/suggestions``):
``scoring.suggest_needs`` against the path it replaced (every candidate a NeedView scored by
``rank.needs_for_resource``), both in this run, for city-wide resources. Run:
    python -m benchmarks.bench_best_needs --database URL [--database URL ...] [--resources 12]
        [--rounds 5]
Each database is filled beforehand with ``marketplace synth --households N --resources 10000``;
the benchmark adds prior aid if there is none (a match for every tenth need, two in three
counted) and brings the schema to head. Peak RSS is measured in a fresh process per path.
Two columns for the new path: "new" reads the candidates every time (the fact cache off, as
after any change to a fact), "kept" scores the columns kept under an unchanged facts token."""

from __future__ import annotations

import argparse
import json
import resource as rlimit
import subprocess
import sys
import time
from datetime import date
from statistics import quantiles
from typing import Any

MATCHES = """INSERT INTO match (need_id, resource_id, quantity, status, score_breakdown,
    decision_reason, delivery_note, feedback, dispute_reason, created_at, updated_at)
SELECT id, 1 + (id % 9973), 1, CASE id % 3 WHEN 0 THEN 'confirmed' WHEN 1 THEN 'approved'
    ELSE 'rejected' END, '{}', '', '', '', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
FROM need WHERE id % 10 = 0"""


def old_suggest_needs(resource: Any, limit: int) -> list[tuple[Any, Any]]:
    """The path before issue 17, as it was: village ids first, then every candidate read as a
    row, made a NeedView, and scored one by one."""
    import sqlalchemy as sa

    from marketplace.extensions import db
    from marketplace.households.models import Household
    from marketplace.matches.adapters import resource_view
    from marketplace.matches.aid import COUNTED_FOR_RANKING
    from marketplace.matches.models import Match
    from marketplace.matches.scoring import weights
    from marketplace.needs.models import Need, NeedStatus
    from marketplace.regions.models import Region
    from matching import rank
    from matching.model import NeedView

    paths = [r.path for r in resource.service_area]
    villages = list(db.session.scalars(sa.select(Region.id).where(
        sa.or_(*(Region.path.startswith(p, autoescape=True) for p in paths)))))  # fmt: skip
    aided = (
        sa.select(Need.household_id, sa.func.count(Match.id).label("times"))
        .join(Match, Match.need_id == Need.id)
        .where(Match.status.in_(COUNTED_FOR_RANKING), Need.household_id.is_not(None),
               Need.village_id.in_(villages))
        .group_by(Need.household_id)
        .subquery()
    )  # fmt: skip
    rows = db.session.execute(
        sa.select(Need.id, Need.category, Need.subcategory, Region.path, Need.open_quantity,
                  Household.status, Household.primary_cause, Household.other_causes,
                  Need.urgency, Need.created_at, Need.title, Need.description, Region.lat,
                  Region.lng, aided.c.times, Need.household_id, Household.labour_capacity)
        .join(Region, Need.village_id == Region.id)
        .outerjoin(Household, Need.household_id == Household.id)
        .outerjoin(aided, aided.c.household_id == Need.household_id)
        .where(Need.status == NeedStatus.VERIFIED, Need.open_quantity > 0,
               sa.or_(Need.category.in_(resource.categories),
                      Need.subcategory.in_(resource.categories)),
               Need.village_id.in_(villages))
    )  # fmt: skip
    today = date.today()
    views = [
        NeedView(
            id=row.id, category=row.category, subcategory=row.subcategory,
            village_path=row.path, open_quantity=row.open_quantity, verified=True,
            household_status=row.status.value if row.status is not None else None,
            household_causes=((row.primary_cause.value, *[c for c in row.other_causes or [] if c])
                              if row.primary_cause is not None else ()),
            urgency=row.urgency, days_waiting=max((today - row.created_at.date()).days, 0),
            prior_aid=row.times or 0, text=f"{row.title} {row.description}", lat=row.lat,
            lng=row.lng, household_id=row.household_id,
            household_labour=(row.labour_capacity.value if row.labour_capacity is not None
                              else None),
        )
        for row in rows
    ]  # fmt: skip
    ranked = rank.needs_for_resource(resource_view(resource), views, weights(), today, limit)
    needs = {n.id: n for n in db.session.scalars(
        sa.select(Need).where(Need.id.in_([s.need_id for s in ranked])))}  # fmt: skip
    return [(needs[s.need_id], s) for s in ranked if s.need_id in needs]


def _app(url: str) -> Any:
    from marketplace import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url})


def city_resources(count: int) -> list[int]:
    import sqlalchemy as sa

    from marketplace.extensions import db
    from marketplace.regions.models import Region, RegionLevel
    from marketplace.resources.models import Resource, resource_service_area

    return list(db.session.scalars(
        sa.select(Resource.id).join(resource_service_area)
        .join(Region, Region.id == resource_service_area.c.region_id)
        .where(Region.level == RegionLevel.CITY).order_by(Resource.id).limit(count)))  # fmt: skip


def prepare(url: str) -> None:
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from marketplace.extensions import db
    from marketplace.matches.models import Match

    with _app(url).app_context():
        upgrade()
        if not db.session.scalar(sa.select(sa.func.count(Match.id))):
            db.session.execute(sa.text(MATCHES))
            db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE need, household, match"))
        else:
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()


def p95(samples: list[float]) -> float:
    return quantiles(samples, n=20)[18] if len(samples) >= 20 else max(samples)


def measure(url: str, count: int, rounds: int) -> dict[str, Any]:
    import sqlalchemy as sa

    from marketplace.extensions import db
    from marketplace.matches.scoring import suggest_needs
    from marketplace.needs.models import Need
    from marketplace.resources.models import Resource

    app = _app(url)
    with app.app_context():
        needs = db.session.scalar(sa.select(sa.func.count(Need.id)))
        ids = city_resources(count)
        old: list[float] = []
        new: list[float] = []
        kept: list[float] = []
        for rid in ids:  # warm both (imports, caches), and check they agree
            resource = db.session.get(Resource, rid)
            a = [s for _n, s in old_suggest_needs(resource, 10)]
            b = [s for _n, s in suggest_needs(resource, 10)]
            assert a == b, (rid, [s.need_id for s in a], [s.need_id for s in b])
        # "new": every request reads the candidates (FACT_CACHE off: as after any change to a
        # fact); "kept": the columns kept from an earlier request under the same facts token.
        for _ in range(rounds):
            for rid in ids:
                for fn, samples, keep in ((old_suggest_needs, old, False),
                                          (suggest_needs, new, False),
                                          (suggest_needs, kept, True)):  # fmt: skip
                    app.config["FACT_CACHE"] = keep
                    db.session.expunge_all()
                    resource = db.session.get(Resource, rid)
                    start = time.perf_counter()
                    fn(resource, 10)
                    samples.append((time.perf_counter() - start) * 1000)
    return {"needs": needs, "resources": len(ids), "old": old, "new": new, "kept": kept}


def rss(url: str, path: str, count: int) -> float:
    """Peak RSS (MB) of a fresh process that answers every resource once by one path."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_best_needs", "--database", url, "--rss-of",
         path, "--resources", str(count)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", action="append", required=True)
    parser.add_argument("--resources", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rss-of", choices=["old", "new"])
    args = parser.parse_args()
    if args.rss_of:
        from marketplace.extensions import db
        from marketplace.matches.scoring import suggest_needs
        from marketplace.resources.models import Resource

        fn = old_suggest_needs if args.rss_of == "old" else suggest_needs
        with _app(args.database[0]).app_context():
            for rid in city_resources(args.resources):
                fn(db.session.get(Resource, rid), 10)
        print(rlimit.getrusage(rlimit.RUSAGE_SELF).ru_maxrss / 1024)
        return
    print("| database | needs | resources x rounds | old p50 / p95 | new p50 / p95 | "
          "kept p50 / p95 | p95 ratio old / new / kept | peak RSS old / new |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for url in args.database:
        prepare(url)
        found = measure(url, args.resources, args.rounds)
        old, new, kept = found["old"], found["new"], found["kept"]
        memory = (rss(url, "old", args.resources), rss(url, "new", args.resources))
        name = url.split("://", 1)[0].split("+")[0]
        print(f"| {name} | {found['needs']:,} | {found['resources']} x {args.rounds} | "
              f"{quantiles(old, n=2)[0]:.0f} / {p95(old):.0f} ms | "
              f"{quantiles(new, n=2)[0]:.1f} / {p95(new):.1f} ms | "
              f"{quantiles(kept, n=2)[0]:.1f} / {p95(kept):.1f} ms | "
              f"1 / {p95(old) / p95(new):.0f} / {p95(old) / p95(kept):.0f} | "
              f"{memory[0]:.0f} / {memory[1]:.0f} MB |", flush=True)  # fmt: skip
        print(json.dumps({"url": name, "old": old, "new": new, "kept": kept}), file=sys.stderr)


if __name__ == "__main__":
    main()
