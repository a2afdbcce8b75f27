"""What keeping the facts (marketplace.facts) saves: the monthly report of a county and of the
city, the home page and the disclosure page, with the cache off (every request counts and
computes, as before) and on, 1 client, in one run. Run:
    python -m benchmarks.bench_reports --database postgresql+psycopg://postgres@127.0.0.1/facts_100k
        [--households 100000] [--resources 10000] [--rounds 40] [--json out.json]
The database is filled once with ``marketplace synth``; an administrator of the county and one
of the city are made. Requests go through the Flask test client in this process (no HTTP
server: what is measured is the application's time, database included). Each page is asked
``--rounds`` times with the cache off and on in turn (the first request with it on fills it,
reported apart as "after a change": a change to any fact makes the next request compute
again); the median of each. Figures go to docs/benchmarks.md as ratios: on / off in the same run."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from statistics import median
from typing import Any

COUNTY = "620421000000"  # 靖远县
CITY = "620400000000"  # 白银市


@dataclass
class Result:
    page: str
    off_ms: float  # median, cache off (as before)
    on_ms: float  # median, cache on, kept
    change_ms: float  # the first request after a change (computes and keeps)
    ratio: float  # on / off


def prepare(url: str, households: int, resources: int) -> dict[str, int]:
    """Fill the database if needed; the ids of a county's and a city's administrators."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from benchmarks.database import fill_to
    from marketplace import create_app
    from marketplace.accounts.models import Role, User
    from marketplace.extensions import db
    from marketplace.regions.services import by_code

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        fill_to(households, resources)
        ids = {}
        for who, code in (("county", COUNTY), ("city", CITY)):
            name = f"bench_reports_{who}"
            user = db.session.scalar(sa.select(User).where(User.username == name))
            if user is None:
                region = by_code(code)
                assert region is not None, code
                user = User(username=name, display_name=name, role=Role.ADMIN,
                            password_hash="-", regions=[region])  # fmt: skip
                db.session.add(user)
                db.session.flush()
            ids[who] = user.id
        db.session.commit()
    return ids


def signed_in(app: Any, user_id: int | None) -> Any:
    """A test client with the user's session (no password: the session as sign-in makes it)."""
    from marketplace.accounts.models import User
    from marketplace.extensions import db

    client = app.test_client()
    if user_id is not None:
        with app.app_context():
            user = db.session.get(User, user_id)
            assert user is not None
            key = user.get_id()
        with client.session_transaction() as session:
            session["_user_id"] = key
            session["_fresh"] = True
    return client


def timed(client: Any, path: str) -> float:
    start = time.perf_counter()
    answer = client.get(path)
    elapsed = (time.perf_counter() - start) * 1000
    assert answer.status_code == 200, (path, answer.status_code)
    return elapsed


def changed(app: Any) -> None:
    """What any change to a fact does to the kept answers: a new token."""
    from marketplace import facts
    from marketplace.extensions import db

    with app.app_context():
        facts.bump(db.session())
        db.session.commit()


def changed_in(app: Any, code: str) -> None:
    """A real change to a need of a village in the region (its county's token and ``facts``
    are replaced, marketplace.facts)."""
    import sqlalchemy as sa

    from marketplace.extensions import db
    from marketplace.needs.models import Need
    from marketplace.regions.models import Region

    with app.app_context():
        region = db.session.scalar(sa.select(Region).where(Region.code == code))
        assert region is not None, code
        need = db.session.scalar(
            sa.select(Need)
            .join(Region, Need.village_id == Region.id)
            .where(Region.path.startswith(region.path))
            .limit(1)
        )
        assert need is not None, code
        need.urgency = 1 if need.urgency != 1 else 2
        db.session.commit()


def other_regions(app: Any) -> tuple[str, str]:
    """A county of the city other than COUNTY, and a city other than CITY."""
    import sqlalchemy as sa

    from marketplace.extensions import db
    from marketplace.needs.models import Need
    from marketplace.regions.models import Region

    with app.app_context():
        city = db.session.scalar(sa.select(Region).where(Region.code == CITY))
        assert city is not None
        sibling = next(c.code for c in city.children if c.code != COUNTY)
        village = db.session.scalar(
            sa.select(Region.path)
            .join(Need, Need.village_id == Region.id)
            .where(~Region.path.startswith(city.path))
            .limit(1)
        )
        assert village is not None, "no need outside the city"
        other = village.strip("/").split("/")[1]
        return sibling, other


def counties(args: Any, ids: dict[str, int]) -> None:
    """Per-county tokens: the report's p50 warm, and the first request after a change
    anywhere (what every change did before: one token for everything), in a sibling county
    of the city, in another city."""
    from marketplace import create_app

    config = {"SQLALCHEMY_DATABASE_URI": args.database, "JOBS_IN_PROCESS": "off",
              "FACT_CACHE": True}  # fmt: skip
    app = create_app(config)
    sibling, other_city = other_regions(app)
    pages = [("`/reports/` county", f"/reports/?region={COUNTY}", ids["county"]),
             ("`/reports/` city", f"/reports/?region={CITY}", ids["city"])]  # fmt: skip
    print(
        "| page | warm p50 | after a change anywhere (= before: any change) | "
        "after a change in a sibling county | after a change in another city |"
    )
    print("|---|---:|---:|---:|---:|")
    for name, path, user in pages:
        client = signed_in(app, user)
        timed(client, path)
        warm = median(timed(client, path) for _ in range(args.rounds))
        times: dict[str, list[float]] = {"anywhere": [], "sibling": [], "city": []}
        for _ in range(args.change_rounds):
            changed(app)
            times["anywhere"].append(timed(client, path))
            changed_in(app, sibling)
            times["sibling"].append(timed(client, path))
            changed_in(app, other_city)
            times["city"].append(timed(client, path))
        m = {k: median(v) for k, v in times.items()}
        print(f"| {name} | {warm:.1f} ms | {m['anywhere']:.1f} ms | {m['sibling']:.1f} ms | "
              f"{m['city']:.1f} ms |", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--json", default="")
    parser.add_argument(
        "--counties",
        action="store_true",
        help="per-county tokens: warm and after a change here or elsewhere",
    )
    parser.add_argument("--change-rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ.update(MARKETPLACE_INSTANCE=tempfile.mkdtemp(prefix="fupin-bench-reports-"),
                      SECRET_KEY="bench", DATABASE_URL=args.database,
                      RATELIMIT_ENABLED="0")  # fmt: skip
    ids = prepare(args.database, args.households, args.resources)
    if args.counties:
        counties(args, ids)
        return

    from marketplace import create_app

    config = {"SQLALCHEMY_DATABASE_URI": args.database, "JOBS_IN_PROCESS": "off"}
    apps = {"off": create_app({**config, "FACT_CACHE": False}),
            "on": create_app({**config, "FACT_CACHE": True})}  # fmt: skip
    pages = [
        ("`/reports/` county", f"/reports/?region={COUNTY}", ids["county"]),
        ("`/reports/` city", f"/reports/?region={CITY}", ids["city"]),
        ("`/` home", "/", None),
        ("`/disclosure`", "/disclosure", None),
    ]
    results = []
    for name, path, user in pages:
        off = signed_in(apps["off"], user)
        on = signed_in(apps["on"], user)
        timed(off, path)  # warm: templates, the session's user
        changed(apps["on"])
        change_ms = timed(on, path)
        # Off and on in turn, so that the machine's other load falls on both alike.
        times: dict[str, list[float]] = {"off": [], "on": []}
        for _ in range(args.rounds):
            times["off"].append(timed(off, path))
            times["on"].append(timed(on, path))
        off_ms, on_ms = median(times["off"]), median(times["on"])
        results.append(Result(name, round(off_ms, 1), round(on_ms, 1), round(change_ms, 1),
                              round(on_ms / off_ms, 3)))  # fmt: skip
        print(f"{name}: off {off_ms:.1f} ms, on {on_ms:.1f} ms, after a change "
              f"{change_ms:.1f} ms", file=sys.stderr)  # fmt: skip
    print(f"\n{args.households:,} households, 1 client, median of {args.rounds} requests\n")
    print("| page | cache off (before) | cache on | on / off | first request after a change |")
    print("|---|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r.page} | {r.off_ms:.1f} ms | {r.on_ms:.1f} ms | {r.ratio:.3f} | "
              f"{r.change_ms:.1f} ms |")  # fmt: skip
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump([asdict(r) for r in results], out, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
