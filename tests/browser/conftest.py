"""A real browser (Debian's Chromium, driven by Playwright) against the demo served on a free
local port: each test module has its own copy of the demo database (loaded once a session).

Every test here is skipped, with the reason shown, where Chromium or Playwright is missing
(.ci/run installs Chromium; Playwright is a dev dependency). Nothing is downloaded: Playwright
drives the Chromium Debian installs.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.db import utcnow
from marketplace.demo import DEMO_PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HERE = Path(__file__).parent
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1366, "height": 768}


def _missing() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed"
    if not Path(CHROMIUM).exists():
        return "Debian's chromium is not installed"
    return None


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    reason = _missing()
    if reason is None:
        return
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.skip(reason=reason))


@dataclass
class Site:
    url: str
    app: Any


def _app(folder: Path) -> Any:
    from marketplace import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'walk.db'}",
            "INSTANCE_DIR": str(folder),
            "LOGIN_RATE_LIMIT": "1000 per minute",
        }
    )


def build_demo(folder: Path) -> Path:
    """The demo loaded into a fresh SQLite database (and instance folder) in ``folder``."""
    from flask_migrate import upgrade

    from marketplace.demo import load_demo
    from marketplace.extensions import db

    app = _app(folder)
    with app.app_context():
        upgrade()
        load_demo()
        db.session.commit()
        db.engine.dispose()
    return folder


@contextmanager
def demo_site(built: Path | None = None) -> Iterator[Site]:
    """The demo served on a free local port while in the block: a copy of ``built`` (made by
    build_demo, so that several sites load the demo once), or a demo of its own."""
    from werkzeug.serving import make_server

    from marketplace.extensions import db

    folder = Path(tempfile.mkdtemp(prefix="fupin-browser-"))
    if built is None:
        build_demo(folder)
    else:
        shutil.copytree(built, folder, dirs_exist_ok=True)
    app = _app(folder)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{httpd.server_port}", app)
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])  # fmt: skip
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def built_demo() -> Iterator[Path]:
    """The demo database, loaded once for the session; each module serves a copy of it."""
    folder = build_demo(Path(tempfile.mkdtemp(prefix="fupin-demo-")))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def site(built_demo: Path) -> Iterator[Site]:
    with demo_site(built_demo) as served:
        yield served


@pytest.fixture(scope="module")
def server(site: Site) -> str:
    return site.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def as_user(browser: Any, base: str, username: str | None, viewport: dict[str, int] = PHONE) -> Any:
    """A new page (its own cookies) signed in as ``username``, or anonymous for None."""
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
    if username is None:
        return page
    page.goto(f"{base}/login")
    page.fill("[name=username]", username)
    page.fill("[name=password]", DEMO_PASSWORD)
    page.click("main [type=submit]")
    page.wait_for_url(re.compile(r".*/dashboard$"))
    return page


def ids_in_demo(site: Site) -> dict[str, int]:
    from marketplace.accounts.models import User
    from marketplace.extensions import db
    from marketplace.households.models import Household
    from marketplace.jobs.models import JobOutcome, JobRun
    from marketplace.matches.models import Match, MatchStatus
    from marketplace.needs.models import Need, NeedStatus
    from marketplace.regions.models import Region
    from marketplace.resources.models import Resource

    def first(query: Any) -> int:
        found = db.session.scalar(query.limit(1))
        assert found is not None, str(query)
        return int(found)

    with site.app.app_context():
        appliance = sa.select(User.organization_id).where(User.username == "appliance")
        staff = db.session.scalar(sa.select(User).where(User.username == "jingyuan_staff"))
        assert staff is not None
        in_villages = sa.or_(
            *(Household.village.has(Region.path.startswith(r.path)) for r in staff.regions)
        )
        return {
            "need": first(sa.select(Need.id).where(Need.status == NeedStatus.VERIFIED)),
            "resource": first(sa.select(Resource.id).order_by(Resource.id)),
            "own_resource": first(
                sa.select(Resource.id).where(Resource.organization_id.in_(appliance))
            ),
            "allocatable": first(sa.select(Match.resource_id).order_by(Match.id)),
            "approved": first(sa.select(Match.id).where(Match.status == MatchStatus.APPROVED)),
            "donor_match": first(
                sa.select(Match.id)
                .join(Resource)
                .where(Resource.organization_id.in_(appliance))
                .order_by(Match.id)
            ),
            "household": first(sa.select(Household.id).where(in_villages)),
            "staff_need": first(
                sa.select(Need.id)
                .join(Household)
                .where(in_villages, Need.status.in_([NeedStatus.SUBMITTED, NeedStatus.RETURNED]))
            ),
            "staff_match": first(
                sa.select(Match.id).join(Need).join(Household).where(in_villages).order_by(Match.id)
            ),
            "staff_user": staff.id,
            "import_run": _finished_import(db, JobOutcome, JobRun, staff),
        }


def _finished_import(db: Any, outcome: Any, job_run: Any, staff: Any) -> int:
    """A background import the staff member asked for, done: its page (/work/<id>)."""
    run = db.session.scalar(sa.select(job_run).where(job_run.subject == "browser-demo"))
    if run is None:
        now = utcnow()
        run = job_run(name="import", outcome=outcome.OK, requested_by_id=staff.id,
                      subject="browser-demo", stage="done", done=1500, total=1500,
                      created_at=now, started_at=now, finished_at=now,
                      counts={"households": 1200, "members": 0, "needs": 300})  # fmt: skip
        db.session.add(run)
        db.session.commit()
    return int(run.id)
