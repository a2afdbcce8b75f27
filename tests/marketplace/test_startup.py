"""Starting the app does not import the heavy libraries that only some requests use (issue 17:
``create_app()`` pays for scikit-learn, pypinyin, OR-Tools and SciPy's optimiser only when a
request first needs them; the scorer with NumPy's and SciPy's sparse matrices, jieba's segmenter,
likewise). Checked in a fresh interpreter, since the test process has long
imported them all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = (
    "sklearn",
    "pypinyin",
    "ortools",
    "scipy",
    "jieba",
    "numpy",
    "openpyxl",
    "huey",  # the schedules are read without it; the runner builds Huey on first use
    "redis",
    "flask_migrate",  # attached when a migration first runs (marketplace/extensions.py)
    "alembic",
    "matching.index",
    "marketplace.matches.scoring",
    "marketplace.matches.warm",
)


def test_create_app_leaves_the_heavy_libraries_unimported(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from marketplace import create_app\n"
        f"create_app({{'SQLALCHEMY_DATABASE_URI': 'sqlite:///{tmp_path / 'start.db'}'}})\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True, text=True, timeout=120, check=True,
        env={"MARKETPLACE_INSTANCE": str(tmp_path), "PATH": "/usr/bin:/bin"},
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert done.stdout.strip() == ""
