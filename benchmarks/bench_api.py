"""The suggestions endpoint under load: requests/s and latency of
``GET /api/v1/needs/<id>/suggestions`` against a served copy of the app. Run:
    python -m benchmarks.bench_api --database postgresql+psycopg://postgres@127.0.0.1/fupin_bench
        [--households 1000000] [--resources 10000] [--clients 8] [--seconds 30]
The database is filled with ``marketplace synth`` up to the number of households asked for (one
need each). The server (waitress, 8 threads) and the load generator share this machine."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from statistics import quantiles


def prepare(url: str, households: int, resources: int) -> tuple[str, list[int]]:
    """Fill the database if needed; an API token of a superuser and a sample of need ids."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.accounts.models import Role, User
    from marketplace.accounts.services import create_token
    from marketplace.extensions import db
    from marketplace.needs.models import Need
    from marketplace.synth import synthesize

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        have = db.session.scalar(sa.select(sa.func.count(Need.id))) or 0
        if have < households:
            start = time.perf_counter()
            synthesize(households - have, resources if have == 0 else 0)
            db.session.commit()
            print(f"synthesised {households - have:,} households in "
                  f"{time.perf_counter() - start:.0f} s", file=sys.stderr)  # fmt: skip
        user = db.session.scalar(sa.select(User).where(User.username == "bench_api"))
        if user is None:
            user = User(username="bench_api", display_name="bench", role=Role.SUPERUSER,
                        password_hash="-")  # fmt: skip
            db.session.add(user)
            db.session.flush()
        _token, plain = create_token(user, "load test")
        db.session.commit()
        sample = list(db.session.scalars(
            sa.select(Need.id).order_by(sa.func.random()).limit(5000)))  # fmt: skip
    return plain, sample


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--port", type=int, default=5077)
    args = parser.parse_args()
    instance = tempfile.mkdtemp(prefix="fupin-bench-")
    os.environ.update(MARKETPLACE_INSTANCE=instance, SECRET_KEY="bench", DATABASE_URL=args.database,
                      RATELIMIT_ENABLED="0")  # fmt: skip
    token, sample = prepare(args.database, args.households, args.resources)

    server = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "marketplace"), "serve",
         "--port", str(args.port)],
        env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        headers = {"Authorization": f"Bearer {token}"}

        def get(conn: http.client.HTTPConnection, need_id: int) -> int:
            conn.request("GET", f"/api/v1/needs/{need_id}/suggestions?limit=10", headers=headers)
            response = conn.getresponse()
            body = response.read()
            if response.status == 200:
                json.loads(body)
            return response.status

        for _ in range(100):  # wait for the server, then warm its index
            try:
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
                start = time.perf_counter()
                status = get(conn, sample[0])
                first_ms = (time.perf_counter() - start) * 1000
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise SystemExit("the server did not start")
        assert status == 200, status

        latencies: list[float] = []
        errors: list[int] = []
        stop = time.perf_counter() + args.seconds

        def client(seed: int) -> None:
            rng = random.Random(seed)
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
            while time.perf_counter() < stop:
                begin = time.perf_counter()
                status = get(conn, rng.choice(sample))
                latencies.append((time.perf_counter() - begin) * 1000)
                if status != 200:
                    errors.append(status)

        began = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began
    finally:
        server.terminate()
        server.wait()
    cuts = quantiles(latencies, n=100)
    print("| measurement | value |")
    print("|---|---:|")
    print(f"| needs in the database | {args.households:,} |")
    print(f"| first request (builds the warm resource index) | {first_ms:,.0f} ms |")
    print(f"| {args.clients} clients for {elapsed:.0f} s: requests | {len(latencies):,} "
          f"({len(errors)} errors) |")  # fmt: skip
    print(f"| requests per second | {len(latencies) / elapsed:,.1f} |")
    print(f"| latency p50 / p99 | {cuts[49]:.0f} ms / {cuts[98]:.0f} ms |")


if __name__ == "__main__":
    main()
