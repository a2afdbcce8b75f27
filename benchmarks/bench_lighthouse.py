"""Lighthouse on the pages a village phone opens first (issues 14 and 17): the home page, a need's
page, the disclosure page and a signed-in report page, mobile preset (a mid-range phone on a
slow 4G link, simulated), headless Debian Chromium. A benchmark, not a test. Run against a served
demo (``marketplace demo`` then ``marketplace serve``):

    npm install --prefix /tmp/lh lighthouse
    python -m benchmarks.bench_lighthouse --base http://127.0.0.1:5000 \\
        [--lighthouse /tmp/lh/node_modules/.bin/lighthouse] [--runs 3] [--json out.json]

The report page is opened signed in as the demo's city administrator: the script signs in as a
browser would (the login form's CSRF token, then the form posted) and hands the session cookie to
Lighthouse in ``--extra-headers``. Each page is measured ``--runs`` times; reported are the median
scores (performance, accessibility, best practices), the bytes sent over the wire (compressed),
the number of requests, and the largest contentful paint; a Markdown table on standard output.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median
from typing import Any

DEMO_PASSWORD = "fupin2026demo"
CATEGORIES = ("performance", "accessibility", "best-practices")


def session_cookie(base: str, username: str) -> str:
    """The Cookie header of a session signed in as ``username`` through the login form."""
    import requests

    with requests.Session() as http:
        form = http.get(f"{base}/login", timeout=30).text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
        if token is None:
            raise SystemExit("no CSRF token on the login page")
        answer = http.post(
            f"{base}/login",
            data={"csrf_token": token.group(1), "username": username, "password": DEMO_PASSWORD},
            timeout=30,
            allow_redirects=False,
        )
        if answer.status_code != 302:
            raise SystemExit(f"signing in as {username} failed: {answer.status_code}")
        return "; ".join(f"{c.name}={c.value}" for c in http.cookies)


def a_need(base: str) -> str:
    """The first need the public home page links to."""
    import requests

    found = re.search(r'href="(/needs/\d+)"', requests.get(f"{base}/", timeout=30).text)
    if found is None:
        raise SystemExit("the home page links to no need")
    return found.group(1)


def lighthouse(binary: str, url: str, headers: dict[str, str] | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="lh-") as folder:
        out = Path(folder) / "report.json"
        command = [
            binary, url, "--quiet", "--output=json", f"--output-path={out}",
            "--only-categories=" + ",".join(CATEGORIES),
            "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
        ]  # fmt: skip
        if headers:
            command.append("--extra-headers=" + json.dumps(headers))
        env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
        subprocess.run(command, check=True, env=env, capture_output=True)
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return result


def figures(result: dict[str, Any]) -> dict[str, Any]:
    audits = result["audits"]
    requests_made = audits["network-requests"]["details"]["items"]
    return {
        **{c: round(100 * (result["categories"][c]["score"] or 0)) for c in CATEGORIES},
        "bytes": int(audits["total-byte-weight"]["numericValue"]),
        "requests": len(requests_made),
        "lcp_ms": int(audits["largest-contentful-paint"]["numericValue"]),
        "flagged": sorted(
            name
            for name, audit in audits.items()
            if audit.get("score") is not None
            and audit["score"] < 0.9
            and audit.get("scoreDisplayMode") in ("binary", "numeric", "metricSavings")
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:5000")
    parser.add_argument("--lighthouse", default="/tmp/lh/node_modules/.bin/lighthouse")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    base = args.base.rstrip("/")
    signed_in = {"Cookie": session_cookie(base, "city_admin")}
    pages = [
        ("home", "/", None),
        ("need", a_need(base), None),
        ("disclosure", "/disclosure", None),
        ("report (city administrator)", "/reports/", signed_in),
    ]
    rows = []
    for name, path, headers in pages:
        runs = [
            figures(lighthouse(args.lighthouse, base + path, headers)) for _ in range(args.runs)
        ]
        row: dict[str, Any] = {"page": name, "path": path}
        for key in (*CATEGORIES, "bytes", "requests", "lcp_ms"):
            row[key] = median(r[key] for r in runs)
        row["flagged"] = sorted({f for r in runs for f in r["flagged"]})
        rows.append(row)
        print(f"{name}: {row}", file=sys.stderr)
    print("| page | performance | accessibility | best practices | KiB transferred | requests "
          "| LCP (ms) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['page']} | {row['performance']:.0f} | {row['accessibility']:.0f} "
            f"| {row['best-practices']:.0f} | {row['bytes'] / 1024:.1f} | {row['requests']:.0f} "
            f"| {row['lcp_ms']:.0f} |"
        )
    for row in rows:
        if row["flagged"]:
            print(f"\n{row['page']}: flagged {', '.join(row['flagged'])}")
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
