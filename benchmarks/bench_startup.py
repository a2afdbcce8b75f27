"""Start-up time of the app: ``from marketplace import create_app; create_app()`` in fresh
interpreters, beside a baseline measured in the same run, alternately: ``import flask;
flask.Flask(__name__)`` (the floor of any Flask app). Issue 17's goal: ``create_app()`` ≤ 1.5 s.

    python -m benchmarks.bench_startup [--runs 7] [--tree /tmp/tree]

``--tree`` measures a commit exported with ``git archive`` (others' uncommitted work left out);
each run gets an empty instance folder and a SQLite database of its own. Also printed: which of
the heavy libraries the started app had imported (none, once they load where first used).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median

HEAVY = (
    "sklearn",
    "scipy",
    "numpy",
    "ortools",
    "pypinyin",
    "jieba",
    "openpyxl",
    "huey",
    "redis",
    "matching.index",
    "marketplace.matches.scoring",
)

APP = """
import sys, time, json
t = time.perf_counter()
from marketplace import create_app
create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///%(db)s"})
took = time.perf_counter() - t
print(json.dumps({"seconds": took, "loaded": [m for m in %(heavy)r if m in sys.modules]}))
"""

FLOOR = """
import time, json
t = time.perf_counter()
import flask
flask.Flask(__name__)
print(json.dumps({"seconds": time.perf_counter() - t, "loaded": []}))
"""


def _run(script: str, cwd: Path, instance: str) -> dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "MARKETPLACE_INSTANCE": instance}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True,
        env=env, cwd=cwd,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    app_times: list[float] = []
    floor_times: list[float] = []
    loaded: list[str] = []
    for i in range(args.runs + 1):  # the first pair warms the OS's file cache, not counted
        with tempfile.TemporaryDirectory() as instance:
            script = APP % {"db": Path(instance) / "start.db", "heavy": HEAVY}
            app = _run(script, args.tree, instance)
            floor = _run(FLOOR, args.tree, instance)
        if i:
            app_times.append(app["seconds"])
            floor_times.append(floor["seconds"])
            loaded = app["loaded"]
    app_s, floor_s = median(app_times), median(floor_times)
    commit = args.tree / "COMMIT"
    print(f"tree: {args.tree} ({commit.read_text().strip() if commit.exists() else 'work tree'})")
    print(f"load average: {os.getloadavg()[0]:.1f}; {args.runs} runs each, medians")
    for label, value, times in (
        ("create_app()", app_s, app_times),
        ("flask.Flask()", floor_s, floor_times),
    ):
        print(f"{label}: {value:.2f} s (min {min(times):.2f}, max {max(times):.2f})")
    print(f"ratio: {app_s / floor_s:.1f} x the floor")
    print(f"heavy modules loaded by create_app(): {' '.join(loaded) or 'none'}")


if __name__ == "__main__":
    main()
