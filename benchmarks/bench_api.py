"""The suggestions endpoint under load: requests/s and latency of
``GET /api/v1/needs/<id>/suggestions`` against a served copy of the app. Run:
    python -m benchmarks.bench_api --database postgresql+psycopg://postgres@127.0.0.1/fupin_bench
        [--households 1000000] [--resources 10000] [--clients 8] [--seconds 30]
        [--processes 1,2,4]
The database is filled with ``marketplace synth`` up to the number of households asked for (one
need each). The server (waitress, 8 threads; or with --processes, gunicorn with that many
processes of 4 threads each, one after the other in the same run, the first count being the
baseline) and the load generator share this machine."""

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
from typing import Any


def prepare(url: str, households: int, resources: int) -> tuple[str, list[int]]:
    """Fill the database if needed; an API token of a superuser and a sample of need ids."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from benchmarks.database import fill_to
    from marketplace import create_app
    from marketplace.accounts.models import Role, User
    from marketplace.accounts.services import create_token
    from marketplace.extensions import db
    from marketplace.needs.models import Need

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        fill_to(households, resources)
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


def measure(args: Any, sample: list[int], token: str, processes: int | None) -> dict[str, Any]:
    """Serve, warm every process's index, load for ``args.seconds``; the figures."""
    binary = os.path.dirname(sys.executable)
    if processes is None:
        command = [os.path.join(binary, "marketplace"), "serve", "--port", str(args.port),
                   "--no-jobs"]  # fmt: skip
    else:
        command = [os.path.join(binary, "gunicorn"), "--workers", str(processes), "--threads",
                   "4", "--bind", f"127.0.0.1:{args.port}", "marketplace:create_app()"]  # fmt: skip
    server = subprocess.Popen(command, env=os.environ.copy(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        headers = {"Authorization": f"Bearer {token}"}

        def get(conn: http.client.HTTPConnection, need_id: int) -> int:
            conn.request("GET", f"/api/v1/needs/{need_id}/suggestions?limit=10", headers=headers)
            response = conn.getresponse()
            body = response.read()
            if response.status == 200:
                json.loads(body)
            return response.status

        for _ in range(240):  # wait for the server, then warm its index
            try:
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=120)
                start = time.perf_counter()
                status = get(conn, sample[0])
                first_ms = (time.perf_counter() - start) * 1000
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise SystemExit("the server did not start")
        assert status == 200, status
        # Each process builds its own index on its first request: warm them all.
        warm = [threading.Thread(target=lambda: get(
            http.client.HTTPConnection("127.0.0.1", args.port, timeout=300), sample[1]))
            for _ in range(4 * (processes or 1))]  # fmt: skip
        for t in warm:
            t.start()
        for t in warm:
            t.join()

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
    return {"first_ms": first_ms, "requests": len(latencies), "errors": len(errors),
            "elapsed": elapsed, "rps": len(latencies) / elapsed, "p50": cuts[49],
            "p99": cuts[98]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--port", type=int, default=5077)
    parser.add_argument("--processes", default="", help="e.g. 1,2,4: gunicorn processes")
    args = parser.parse_args()
    instance = tempfile.mkdtemp(prefix="fupin-bench-")
    os.environ.update(MARKETPLACE_INSTANCE=instance, SECRET_KEY="bench", DATABASE_URL=args.database,
                      RATELIMIT_ENABLED="0")  # fmt: skip
    token, sample = prepare(args.database, args.households, args.resources)

    if args.processes:
        counts = [int(n) for n in args.processes.split(",")]
        results = [(n, measure(args, sample, token, n)) for n in counts]
        base = results[0][1]["rps"]
        print(f"needs in the database: {args.households:,}; {args.clients} clients, "
              f"{args.seconds:.0f} s each; gunicorn, 4 threads a process")  # fmt: skip
        print("| processes | requests/s | vs first | p50 | p99 | errors | first request |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for n, r in results:
            print(f"| {n} | {r['rps']:,.1f} | {r['rps'] / base:.2f}x | {r['p50']:.0f} ms | "
                  f"{r['p99']:.0f} ms | {r['errors']} | {r['first_ms']:,.0f} ms |")  # fmt: skip
        return
    r = measure(args, sample, token, None)
    print("| measurement | value |")
    print("|---|---:|")
    print(f"| needs in the database | {args.households:,} |")
    print(f"| first request (builds the warm resource index) | {r['first_ms']:,.0f} ms |")
    print(f"| {args.clients} clients for {r['elapsed']:.0f} s: requests | {r['requests']:,} "
          f"({r['errors']} errors) |")  # fmt: skip
    print(f"| requests per second | {r['rps']:,.1f} |")
    print(f"| latency p50 / p99 | {r['p50']:.0f} ms / {r['p99']:.0f} ms |")


if __name__ == "__main__":
    main()
