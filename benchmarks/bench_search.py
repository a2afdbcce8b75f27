"""Search speed with ``marketplace synth`` data: rebuild time, p95 of 1-2 word queries with a
category filter, and how soon a change is visible. Run:
    python -m benchmarks.bench_search --households 100000 --resources 10000 [--database URL]
        [--backend whoosh|postgres]
Uses a throw-away instance directory (and SQLite) unless --database is given."""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from statistics import quantiles


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--database", default=None)
    parser.add_argument("--backend", default="whoosh", choices=["whoosh", "postgres"])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument(
        "--existing",
        action="store_true",
        help="query the data and index already in --database (no synth, no rebuild)",
    )
    args = parser.parse_args()
    instance = tempfile.mkdtemp(prefix="fupin-bench-")
    os.environ["MARKETPLACE_INSTANCE"] = instance
    os.environ.setdefault("SECRET_KEY", "bench")

    import sqlalchemy as sa
    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.needs.models import Need
    from marketplace.search import services
    from marketplace.search.backend import SearchQuery
    from marketplace.synth import synthesize

    url = args.database or f"sqlite:///{instance}/bench.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SEARCH_BACKEND": args.backend})
    with app.app_context():
        upgrade()
        synth_s = rebuild_s = 0.0
        documents = 0
        if not args.existing:
            start = time.perf_counter()
            synthesize(args.households, args.resources)
            db.session.commit()
            synth_s = time.perf_counter() - start
            start = time.perf_counter()
            documents = services.rebuild()
            rebuild_s = time.perf_counter() - start

        rng = random.Random(3)
        words = ["洗衣机", "助学金", "危房改造", "种羊", "冰箱", "务工", "培训", "水窖",
                 "xiyiji", "zhuxuejin", "小杂粮", "贷款"]  # fmt: skip
        categories = ["necessities", "education", "housing", "industry", "jobs", None]
        samples = []
        for _ in range(args.queries):
            text = " ".join(rng.sample(words, rng.choice([1, 2])))
            query = SearchQuery(text=text, type="need", category=rng.choice(categories))
            begin = time.perf_counter()
            services.search(query)
            samples.append((time.perf_counter() - begin) * 1000)
        p95 = quantiles(samples, n=20)[18]
        # Cold: every query as if its words had never been searched since the last change
        # (the few filter values stay cached, as they do in use).
        forget = getattr(services.backend(), "forget_cache", None)
        cold = []
        for _ in range(args.queries if forget else 0):
            text = " ".join(rng.sample(words, rng.choice([1, 2])))
            query = SearchQuery(text=text, type="need", category=rng.choice(categories))
            forget()
            begin = time.perf_counter()
            services.search(query)
            cold.append((time.perf_counter() - begin) * 1000)

        need = db.session.scalar(sa.select(Need).order_by(Need.id.desc()))
        need.title = "独一无二的测试词语浏览器"
        begin = time.perf_counter()
        db.session.commit()
        services.sync()
        found = services.search(SearchQuery(text="独一无二的测试词语浏览器")).total
        visible_ms = (time.perf_counter() - begin) * 1000
    print("| measurement | value |")
    print("|---|---:|")
    print(f"| backend | {args.backend} |")
    if not args.existing:
        print(f"| synthetic data ({args.households:,} households, {args.resources:,} resources) "
              f"| {synth_s:.0f} s |")  # fmt: skip
        print(f"| rebuild, {documents:,} documents | {rebuild_s:.0f} s |")
    print(f"| p95, 1-2 words, category filter ({args.queries} queries) | {p95:.1f} ms |")
    print(f"| one change: commit to visible (found: {found}) | {visible_ms:.0f} ms |")
    if cold:
        print(f"| p95, words never searched before ({args.queries} queries) "
              f"| {quantiles(cold, n=20)[18]:.1f} ms |")  # fmt: skip


if __name__ == "__main__":
    main()
