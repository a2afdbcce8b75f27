"""The pages against the framework's floor (issue 17): a bare Flask "hello" app and the product,
served side by side by gunicorn (2 workers x 4 threads each), loaded in turn with wrk. Run:
    python -m benchmarks.bench_pages --database postgresql+psycopg://postgres@127.0.0.1/pages_100k
        [--households 100000] [--resources 10000] [--rounds 3] [--seconds 8] [--json out.json]
The database is filled once with ``marketplace synth`` (and the search index rebuilt, in the
instance folder ``--instance``, kept between runs); two administrators (a county's and a city's)
are made to sign in as. Each round measures, for every page, hello under 8 connections, then
the page under 8 connections, then the page with 1 client: a page's share of hello is its
requests per second over those of the hello measured just before it. Reported: the median over
the rounds of the share and of the 1-client p50, and the p99 under 8 connections (the median
round's and the worst). wrk, gunicorn and PostgreSQL share this machine with the servers."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import median
from typing import Any

PASSWORD = "bench-pages-2026"
COUNTY = "620421000000"  # 靖远县
CITY = "620400000000"  # 白银市
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Page:
    name: str
    path: str
    who: str | None  # "county" / "city" (a session cookie), "token" (the API), None: public


@dataclass
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0  # none finished: the latencies say nothing (a page slower than the run)


def prepare(url: str, households: int, resources: int) -> dict[str, Any]:
    """Fill the database once; the accounts to sign in as, an API token and the ids to open."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from benchmarks.database import fill_to
    from marketplace import create_app
    from marketplace.accounts.models import Role, User
    from marketplace.accounts.services import create_token, hash_password
    from marketplace.extensions import db
    from marketplace.needs.models import Need, NeedStatus
    from marketplace.regions.models import Region
    from marketplace.regions.services import by_code
    from marketplace.resources.models import Resource, ResourceStatus
    from marketplace.search import services as search

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    marker = Path(app.config["INSTANCE_DIR"]) / "bench_pages_indexed"
    with app.app_context():
        upgrade()
        if fill_to(households, resources):
            marker.unlink(missing_ok=True)  # the index must be built again
        if not marker.exists():
            start = time.perf_counter()
            documents = search.rebuild()
            db.session.commit()
            marker.write_text(str(documents))
            print(f"indexed {documents:,} documents in {time.perf_counter() - start:.0f} s",
                  file=sys.stderr)  # fmt: skip
        accounts = {}
        for who, code in (("county", COUNTY), ("city", CITY)):
            name = f"bench_{who}"
            user = db.session.scalar(sa.select(User).where(User.username == name))
            if user is None:
                region = by_code(code)
                assert region is not None, code
                user = User(username=name, display_name=f"bench {who}", role=Role.ADMIN,
                            password_hash=hash_password(PASSWORD), regions=[region])  # fmt: skip
                db.session.add(user)
                db.session.flush()
            accounts[who] = name
        county = by_code(COUNTY)
        assert county is not None
        county_user = db.session.scalar(sa.select(User).where(User.username == "bench_county"))
        assert county_user is not None
        _token, token = create_token(county_user, "page benchmark")
        need_id = db.session.scalar(
            sa.select(Need.id)
            .join(Region, Need.village_id == Region.id)
            .where(Region.path.startswith(county.path), Need.household_id.is_not(None))
            .where(Need.status == NeedStatus.VERIFIED, Need.open_quantity > 0)
            .where(Need.subcategory == "necessities.washer")
            .order_by(Need.id)
            .limit(1)
        )
        resource_id = db.session.scalar(
            sa.select(Resource.id)
            .where(Resource.status == ResourceStatus.ACTIVE)
            .where(Resource.service_area.any(Region.id == county.id))
            .order_by(Resource.id)
            .limit(1)
        )
        db.session.commit()
        assert need_id is not None and resource_id is not None
        counts = {
            "households": households,
            "resources": db.session.scalar(sa.select(sa.func.count(Resource.id))),
        }
    return {"accounts": accounts, "token": token, "need": need_id, "resource": resource_id,
            "counts": counts, "instance": app.config["INSTANCE_DIR"]}  # fmt: skip


def pages(ids: dict[str, Any]) -> list[Page]:
    need, resource = ids["need"], ids["resource"]
    return [
        Page("`/` home", "/", None),
        Page("`/disclosure`", "/disclosure", None),
        Page("`/search?q=洗衣机`", "/search?q=" + urllib.parse.quote("洗衣机"), None),
        Page("`/needs/<id>` public", f"/needs/{need}", None),
        Page("`/needs/` county admin", "/needs/", "county"),
        Page("`/needs/<id>` county admin", f"/needs/{need}", "county"),
        Page("`/resources/<id>` county admin", f"/resources/{resource}", "county"),
        Page("`/reports/` county", "/reports/", "county"),
        Page("`/reports/` city", "/reports/", "city"),
        Page("suggestions API", f"/api/v1/needs/{need}/suggestions?limit=10", "token"),
    ]


def serve(
    app: str, port: int, env: dict[str, str], log: Path, tree: Path
) -> subprocess.Popen[bytes]:
    """gunicorn, 2 workers x 4 threads, serving ``app`` from the source tree ``tree``."""
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    return subprocess.Popen(
        [gunicorn, "--workers", "2", "--threads", "4", "--bind", f"127.0.0.1:{port}",
         "--timeout", "120", "--chdir", str(tree), "--error-logfile", str(log), app],
        env={**env, "PYTHONPATH": str(tree)}, cwd=tree, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def get(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_for(port: int) -> None:
    for _ in range(240):
        try:
            get(port, "/", {})
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"nothing answers on port {port}")


def _cookies(response: http.client.HTTPResponse, jar: dict[str, str]) -> None:
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]


def sign_in(port: int, username: str) -> str:
    """Sign in through the login form once; the Cookie header to send with every request."""
    jar: dict[str, str] = {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/login")
    response = conn.getresponse()
    page = response.read().decode()
    _cookies(response, jar)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token is not None, "no CSRF token on the login page"
    form = urllib.parse.urlencode(
        {"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    conn.request("POST", "/login", body=form, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})  # fmt: skip
    response = conn.getresponse()
    response.read()
    _cookies(response, jar)
    conn.close()
    assert response.status == 302, f"sign-in refused for {username}: {response.status}"
    return "; ".join(f"{k}={v}" for k, v in jar.items())


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", text).groups()  # type: ignore[union-attr]
    return float(number) * UNITS[unit]


def wrk(port: int, path: str, headers: dict[str, str], connections: int, seconds: float) -> Sample:
    command = ["wrk", f"-t{min(connections, 2)}", f"-c{connections}", f"-d{seconds:g}s",
               "--timeout", "30s", "--latency"]  # fmt: skip
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    cuts = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    if len(cuts) < 2:
        raise RuntimeError(f"wrk gave no latency distribution for {path}:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    failed = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if failed:
        errors += sum(int(n) for n in failed.groups())
    done = re.search(r"(\d+) requests in", out)
    return Sample(rps, _ms(cuts["50"]), _ms(cuts["99"]), errors, int(done.group(1)) if done else 0)


def commit_of_tree(tree: Path) -> str:
    """The commit served: a tree exported with ``git archive`` names it in COMMIT; the
    repository itself says its HEAD and the files changed since."""
    if (tree / "COMMIT").exists():
        return (tree / "COMMIT").read_text().strip()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True,
                          text=True).stdout.strip()  # fmt: skip
    dirty = subprocess.run(
        ["git", "status", "--short", "--untracked-files=no", "marketplace", "matching",
         "templates", "static"],
        cwd=tree, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    changed = [p for p in dirty if "/" in p]
    return head + (f" + uncommitted changes to {', '.join(changed)}" if changed else "")


def figures(rounds: list[dict[str, Any]]) -> dict[str, float]:
    """A page's figures over the rounds: medians of the share of hello, the req/s, the 1-client
    p50 (of the rounds where a request finished) and the p99; the worst p99; the errors."""
    timed = [
        r["single"]["p50_ms"]
        for r in rounds
        if r["single"].get("requests", 1 if r["single"]["p50_ms"] > 0 else 0)
    ]
    return {
        "share": median(r["share"] for r in rounds),
        "rps": median(r["loaded"]["rps"] for r in rounds),
        "p50": median(timed) if timed else float("nan"),
        "p99": median(r["loaded"]["p99_ms"] for r in rounds),
        "worst": max(r["loaded"]["p99_ms"] for r in rounds),
        "errors": sum(r["loaded"]["errors"] + r["single"]["errors"] for r in rounds),
    }


def table(results: dict[str, list[dict[str, Any]]]) -> str:
    lines = ["| page | req/s, share of hello | 1-client p50 | p99, 8 connections (worst round) "
             "| errors |", "|---|---:|---:|---:|---:|"]  # fmt: skip
    for name, rounds in results.items():
        f = figures(rounds)
        p99 = f"{f['p99']:,.0f} ms ({f['worst']:,.0f} ms)"
        lines.append(f"| {name} | {f['rps']:,.0f} ({f['share']:.1%}) | {f['p50']:.1f} ms "
                     f"| {p99} | {f['errors']:.0f} |")  # fmt: skip
    return "\n".join(lines)


def compare(before_file: str, after_file: str) -> str:
    """Two runs saved with --json, page by page."""
    before, after = (json.loads(Path(f).read_text()) for f in (before_file, after_file))
    lines = [f"Before: {before['tree']}. After: {after['tree']}.\n",
             "| page | share of hello, before → after | 1-client p50, before → after "
             "| p99 under 8 connections, before → after |", "|---|---:|---:|---:|"]  # fmt: skip
    for name, rounds in after["results"].items():
        if name not in before["results"]:
            continue
        b, a = figures(before["results"][name]), figures(rounds)
        lines.append(f"| {name} | {b['share']:.1%} → {a['share']:.1%} | {b['p50']:.1f} → "
                     f"{a['p50']:.1f} ms | {b['p99']:,.0f} → {a['p99']:,.0f} ms |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--instance", default="/tmp/fupin-bench-pages")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--single-seconds", type=float, default=4.0)
    parser.add_argument("--port", type=int, default=5091, help="the product; hello on port + 1")
    parser.add_argument("--only", default="", help="the pages whose name contains this")
    parser.add_argument("--json", default="", help="also write the figures here")
    parser.add_argument(
        "--tree", default=str(ROOT),
        help="the source tree to serve, e.g. a commit exported with git archive (a file COMMIT"
        " in it naming the commit); default: this repository as it is",
    )  # fmt: skip
    parser.add_argument("--report", default="", help="print the table of a run saved with --json")
    parser.add_argument("--compare", nargs=2, default=None, metavar=("BEFORE", "AFTER"),
                        help="compare two runs saved with --json")  # fmt: skip
    args = parser.parse_args()
    if args.report:
        print(table(json.loads(Path(args.report).read_text())["results"]))
        return
    if args.compare:
        print(compare(*args.compare))
        return
    os.environ.update(MARKETPLACE_INSTANCE=args.instance, SECRET_KEY="bench-pages",
                      DATABASE_URL=args.database, RATELIMIT_ENABLED="0",
                      JOBS_IN_PROCESS="off")  # fmt: skip
    ids = prepare(args.database, args.households, args.resources)
    source = Path(args.tree).resolve()
    tree = commit_of_tree(source)
    logs = Path(args.instance)
    env = os.environ.copy()
    product = serve("marketplace:create_app()", args.port, env, logs / "gunicorn.log", source)
    hello = serve("benchmarks.hello_app:app", args.port + 1, env, logs / "hello.log", ROOT)
    try:
        wait_for(args.port)
        wait_for(args.port + 1)
        sessions = {who: sign_in(args.port, name) for who, name in ids["accounts"].items()}
        headers_of: dict[str | None, dict[str, str]] = {
            None: {}, "token": {"Authorization": f"Bearer {ids['token']}"},
            **{who: {"Cookie": cookie} for who, cookie in sessions.items()},
        }  # fmt: skip
        chosen = [p for p in pages(ids) if args.only in p.name]
        for page in chosen:  # each answers, then warm both workers (indexes, caches)
            status, body = get(args.port, page.path, headers_of[page.who])
            assert status == 200, f"{page.name}: {status} {body[:300]!r}"
            wrk(args.port, page.path, headers_of[page.who], 8, 3)
        wrk(args.port + 1, "/", {}, 8, 3)
        results: dict[str, list[dict[str, Any]]] = {p.name: [] for p in chosen}
        results["hello"] = []
        for round_ in range(args.rounds):
            for page in chosen:
                floor = wrk(args.port + 1, "/", {}, 8, args.seconds)
                loaded = wrk(args.port, page.path, headers_of[page.who], 8, args.seconds)
                single = wrk(args.port, page.path, headers_of[page.who], 1, args.single_seconds)
                results[page.name].append({
                    "share": loaded.rps / floor.rps, "hello_rps": floor.rps,
                    "loaded": asdict(loaded), "single": asdict(single),
                })  # fmt: skip
                print(f"round {round_ + 1} {page.name}: {loaded.rps / floor.rps:.1%} of hello "
                      f"({loaded.rps:.0f} / {floor.rps:.0f} req/s), p50 {single.p50_ms:.1f} ms, "
                      f"p99 {loaded.p99_ms:.0f} ms, errors {loaded.errors + single.errors}",
                      file=sys.stderr, flush=True)  # fmt: skip
            single_floor = wrk(args.port + 1, "/", {}, 1, args.single_seconds)
            results["hello"].append({"share": 1.0, "hello_rps": floor.rps, "loaded": asdict(floor),
                                     "single": asdict(single_floor)})  # fmt: skip
    finally:
        for server in (product, hello):
            server.terminate()
            server.wait()
    print(f"Tree: {tree}; {ids['counts']['households']:,} households, "
          f"{ids['counts']['resources']:,} resources; {args.rounds} rounds of {args.seconds:g} s "
          f"(1 client: {args.single_seconds:g} s).\n")  # fmt: skip
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps({"tree": tree, "ids": {k: v for k, v in ids.items()
                                   if k != "token"}, "results": results}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
