"""Long work handed to the background: a large import's confirmation, an allocation over a
large region, a report export, a search rebuild. The request answers at once with the run's
page (a progress bar that refreshes itself without a script), the work runs in a consumer as
the user who asked, and the page shows the result; only that user sees the run."""

from __future__ import annotations

import io
import os
import time
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from openpyxl import load_workbook

from marketplace.audit.models import AuditEvent
from marketplace.households.models import Household
from marketplace.jobs import jobs_of
from marketplace.jobs.engine import consumer_for
from marketplace.jobs.models import JobOutcome, JobRun
from marketplace.jobs.work import output_folder
from marketplace.matches.models import Match, MatchStatus
from marketplace.needs.models import Need
from marketplace.roles import Role
from tests.conftest import JINGYUAN, PASSWORD, World
from tests.marketplace.households.test_import import fill, household_row, need_row
from tests.marketplace.jobs.conftest import wait_for
from tests.pages import find_form, submit_on


def _sign_in(client: Any, user: Any) -> None:
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302


def _counts(db: Any) -> tuple[int, int]:
    db.session.expire_all()
    return (db.session.scalar(sa.select(sa.func.count(Household.id))),
            db.session.scalar(sa.select(sa.func.count(Need.id))))  # fmt: skip


def _run(db: Any, run_id: int) -> JobRun:
    db.session.expire_all()
    run = db.session.get(JobRun, run_id)
    assert run is not None
    return run


def _checked_upload(client: Any, world: World, households: int, needs: int) -> str:
    """The preview page of a clean file of that many rows, as the page answers it."""
    template = client.get("/households/import/template.xlsx").data
    rows = [household_row(world.village, n) for n in range(1, households + 1)]
    wants = [need_row(world.village, n) for n in range(1, needs + 1)]
    preview = client.post(
        "/households/import",
        data={"file": (io.BytesIO(fill(template, rows, wants)), "register.xlsx")},
        content_type="multipart/form-data",
    )
    assert preview.status_code == 200, preview.data.decode()[:1000]
    return str(preview.data.decode())


def test_a_large_import_is_written_by_a_worker_and_its_page_follows_it(
    make_jobs_app: Any, db: Any, world: World, make_user: Any
) -> None:
    other = make_jobs_app("sqlite", BACKGROUND_IMPORT_ROWS=10)
    client = other.test_client()
    _sign_in(client, world.staff)
    page = _checked_upload(client, world, households=12, needs=3)
    before = _counts(db)
    answer = submit_on(client, page, action="/households/import/confirm", page="/households/import")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/work/")
    url = answer.headers["Location"]
    run_id = int(url.rsplit("/", 1)[1])
    waiting = client.get(url)
    html = waiting.data.decode()
    # Nothing written yet; the page says it waits and reloads itself, no script needed.
    assert waiting.status_code == 200 and waiting.headers["Refresh"] == "2"
    assert '<h1 class="h4">导入贫困户名册</h1>' in html and "等待执行" in html
    assert "<script>" not in html and _counts(db) == before
    assert waiting.headers["Cache-Control"] == "no-store"
    # Another user, even of the same village, does not see it.
    outsider = other.test_client()
    _sign_in(outsider, world.other_staff)
    assert outsider.get(url).status_code == 404

    consumer = consumer_for(jobs_of(other).huey, workers=1, embedded=True, periodic=False)
    consumer.start()
    try:
        assert wait_for(lambda: _run(db, run_id).outcome == JobOutcome.OK), _run(db, run_id).message
    finally:
        consumer.stop(graceful=True)
    assert _counts(db) == (before[0] + 12, before[1] + 3)
    run = _run(db, run_id)
    assert run.counts == {"households": 12, "members": 0, "needs": 3}
    assert run.requested_by_id == world.staff.id and run.done == 15 and run.total == 15
    done = client.get(url)
    html = done.data.decode()
    assert "Refresh" not in done.headers and "100%" in html
    assert "户 12" in html and "需求 3" in html and 'href="/households/"' in html
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "register_imported"))
    assert event.actor_id == world.staff.id and event.after["households"] == 12
    # The upload was used up: confirming it again is refused at the page, nothing written.
    again = submit_on(client, page, action="/households/import/confirm", page="/households/import")
    assert again.status_code == 400 and _counts(db) == (before[0] + 12, before[1] + 3)


def test_a_background_import_whose_register_changed_writes_nothing_and_says_why(
    make_jobs_app: Any, db: Any, world: World, make_household: Any
) -> None:
    other = make_jobs_app(JOBS_IMMEDIATE=True, BACKGROUND_IMPORT_ROWS=2)
    client = other.test_client()
    _sign_in(client, world.staff)
    page = _checked_upload(client, world, households=4, needs=0)
    make_household(world.village, register_number="IMP00003")  # registered by hand meanwhile
    before = _counts(db)
    answer = submit_on(client, page, action="/households/import/confirm", page="/households/import")
    assert answer.status_code == 302
    run = _run(db, int(answer.headers["Location"].rsplit("/", 1)[1]))
    assert run.outcome == JobOutcome.FAILED and _counts(db) == before
    html = client.get(answer.headers["Location"]).data.decode()
    assert "没有做任何更改" in html and "IMP00003" in html, html[html.find("<main") :][:3000]
    assert 'href="/households/import"' in html  # start again


def test_an_allocation_over_a_large_region_runs_in_the_background(
    make_jobs_app: Any, db: Any, world: World, make_need: Any, make_household: Any,
    villages: Any,
) -> None:  # fmt: skip
    world.resource.capacity = world.resource.remaining = 2
    db.session.commit()
    county = villages(JINGYUAN)
    for village in county[1:3]:
        make_need(village, make_household(village), title="邻村需要洗衣机")
    # The county is "large" here, as a city is by default.
    other = make_jobs_app(JOBS_IMMEDIATE=True, BACKGROUND_REGION_LEVEL="county")
    client = other.test_client()
    _sign_in(client, world.admin)
    url = f"/resources/{world.resource.id}/allocate"
    page = client.get(url).data.decode()
    assert "在后台计算" in page and "总分（最高）" not in page  # no preview computed in the request
    answer = submit_on(client, page, page=url)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/work/")
    run = _run(db, int(answer.headers["Location"].rsplit("/", 1)[1]))
    assert run.outcome == JobOutcome.OK and run.counts == {"matches": 2}, run.message
    proposed = list(db.session.scalars(sa.select(Match)))
    assert len(proposed) == 2 and all(m.status == MatchStatus.PROPOSED for m in proposed)
    assert all(m.proposed_by_id == world.admin.id for m in proposed)
    html = client.get(answer.headers["Location"]).data.decode()
    assert "已提出的对接 2" in html and 'href="/matches/approvals"' in html


def test_an_allocation_refused_is_refused_on_the_page_not_in_a_run(
    make_jobs_app: Any, db: Any, world: World
) -> None:
    """A resource without a limited capacity cannot be allocated: said at once, no run."""
    world.resource.capacity = None
    db.session.commit()
    other = make_jobs_app(JOBS_IMMEDIATE=True, BACKGROUND_REGION_LEVEL="county")
    client = other.test_client()
    _sign_in(client, world.admin)
    answer = client.post(f"/resources/{world.resource.id}/allocate",
                         data={"region": world.admin.regions[0].id, "mode": "fair",
                               "level": "village", "cap": ""})  # fmt: skip
    assert answer.status_code == 400 and "数量有限" in answer.data.decode()
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id))) == 0


def test_a_large_report_export_is_a_file_for_its_requester(
    make_jobs_app: Any, db: Any, world: World
) -> None:
    other = make_jobs_app(JOBS_IMMEDIATE=True, BACKGROUND_REGION_LEVEL="county")
    with other.app_context():
        stale = output_folder() / "run-999999.bin"  # another run's file, two days old
    stale.write_bytes(b"old")
    os.utime(stale, (time.time() - 2 * 86400,) * 2)
    client = other.test_client()
    _sign_in(client, world.admin)
    report = client.get(f"/reports/?region={JINGYUAN}").data.decode()
    # A link (prefetched, reloaded) starts nothing: the page's button posts.
    assert 'href="/reports/export.xlsx' not in report
    runs = db.session.scalar(sa.select(sa.func.count(JobRun.id)))
    link = client.get(f"/reports/export.xlsx?region={JINGYUAN}")
    assert link.status_code == 302 and link.headers["Location"].startswith("/reports/?")
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id))) == runs
    assert "在后台导出" in client.get(link.headers["Location"]).data.decode()
    form = find_form(report, "/reports/export.xlsx")
    answer = client.post(form.target("/reports/"), data=form.filled())
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/work/")
    url = answer.headers["Location"]
    page = client.get(url).data.decode()
    assert "完成" in page and f'href="{url}/file"' in page
    download = client.get(f"{url}/file")
    assert download.status_code == 200 and download.headers["Cache-Control"] == "no-store"
    assert download.headers["Content-Disposition"].endswith(f"-{JINGYUAN}.xlsx")
    assert not stale.exists()  # files are kept a day
    book = load_workbook(io.BytesIO(download.data))
    assert book.worksheets[0]["A2"].value == JINGYUAN
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "report_exported"))
    assert event.actor_id == world.admin.id and event.after["region"] == JINGYUAN
    outsider = other.test_client()
    _sign_in(outsider, world.auditor)
    assert outsider.get(f"{url}/file").status_code == 404


def test_the_superuser_rebuilds_the_search_index_from_the_jobs_page(
    make_jobs_app: Any, db: Any, world: World, make_user: Any
) -> None:
    root = make_user(Role.SUPERUSER, [], username="root")
    other = make_jobs_app(JOBS_IMMEDIATE=True)
    client = other.test_client()
    _sign_in(client, root)
    page = client.get("/admin/jobs/").data.decode()
    form = find_form(page, "/admin/jobs/search-rebuild")
    answer = client.post(form.target("/admin/jobs/"), data=form.filled())
    assert answer.status_code == 302
    run = _run(db, int(answer.headers["Location"].rsplit("/", 1)[1]))
    assert run.outcome == JobOutcome.OK and run.counts["indexed"] >= 2
    # An administrator sees the jobs page but not the button, and is refused the post.
    admin = other.test_client()
    _sign_in(admin, world.admin)
    assert "/admin/jobs/search-rebuild" not in admin.get("/admin/jobs/").data.decode()
    assert admin.post("/admin/jobs/search-rebuild").status_code == 403


def test_a_run_no_worker_takes_says_so_and_its_requester_cancels_it(
    make_jobs_app: Any, db: Any, world: World, make_user: Any
) -> None:
    root = make_user(Role.SUPERUSER, [], username="root")
    other = make_jobs_app("sqlite")  # a store, and no consumer: a site served with --no-jobs
    client = other.test_client()
    _sign_in(client, root)
    form = find_form(client.get("/admin/jobs/").data.decode(), "/admin/jobs/search-rebuild")
    url = client.post(form.target("/admin/jobs/"), data=form.filled()).headers["Location"]
    run_id = int(url.rsplit("/", 1)[1])
    fresh = client.get(url)
    assert fresh.headers["Refresh"] == "2" and "仍没有后台进程执行" not in fresh.data.decode()
    # Ten minutes later nobody has taken it: the page says why, and refreshes slowly.
    db.session.execute(
        sa.update(JobRun).where(JobRun.id == run_id)
        .values(created_at=_run(db, run_id).created_at - timedelta(minutes=10))
    )  # fmt: skip
    db.session.commit()
    waited = client.get(url)
    html = waited.data.decode()
    assert waited.headers["Refresh"] == "30"
    assert "已等待 5 分钟仍没有后台进程执行" in html and "marketplace worker" in html
    # Another user may not cancel it (as if it did not exist).
    admin = other.test_client()
    _sign_in(admin, world.admin)
    cancel = find_form(html, f"/work/{run_id}/cancel")
    assert admin.post(cancel.target(url), data=cancel.filled()).status_code == 404
    assert _run(db, run_id).outcome == JobOutcome.QUEUED
    answer = client.post(cancel.target(url), data=cancel.filled())
    assert answer.status_code == 302 and answer.headers["Location"] == url
    run = _run(db, run_id)
    assert run.outcome == JobOutcome.FAILED and run.message == "已取消。"
    page = client.get(url)
    assert "Refresh" not in page.headers and "没有做任何更改。 已取消。" in page.data.decode()
    # Cancelling twice is refused in words; a worker arriving late leaves it cancelled.
    again = client.post(cancel.target(url), data=cancel.filled())
    assert again.status_code == 409 and "不能再取消" in again.data.decode()
    jobs_of(other).run_work(run_id, "search_rebuild", {})
    assert _run(db, run_id).outcome == JobOutcome.FAILED
