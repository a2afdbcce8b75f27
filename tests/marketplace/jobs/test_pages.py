"""`marketplace jobs` and the administrators' page list every periodic task with its schedule,
its last run and outcome, and the next run; others are refused in Chinese."""

from __future__ import annotations

import re
from typing import Any

import pytest

from marketplace.jobs.tasks import PERIODIC
from marketplace.roles import Role
from tests.conftest import World


def test_the_jobs_command_lists_every_periodic_task(app: Any, db: Any, world: World) -> None:
    runner = app.test_cli_runner()
    before = runner.invoke(args=["jobs"])
    assert before.exit_code == 0, before.output
    lines = before.output.splitlines()
    assert lines[0].split() == ["task", "schedule", "last", "run", "outcome", "result", "next",
                                "run"]  # fmt: skip
    for job in PERIODIC:
        (line,) = [ln for ln in lines if ln.startswith(job.name + " ")]
        assert app.config[job.setting] in line and "never" in line
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d$", line), line  # the next run
    ran = runner.invoke(args=["jobs", "run", "expire"])
    assert ran.exit_code == 0 and "expire · ok · pledges 0" in ran.output, ran.output
    after = runner.invoke(args=["jobs"]).output.splitlines()
    (line,) = [ln for ln in after if ln.startswith("expire ")]
    assert " ok " in line and "pledges 0" in line and "never" not in line
    unknown = runner.invoke(args=["jobs", "run", "nightly"])
    assert unknown.exit_code != 0 and "expire" in unknown.output


def test_the_admin_page_shows_the_same(
    app: Any, client: Any, login: Any, db: Any, world: World
) -> None:
    app.test_cli_runner().invoke(args=["jobs", "run", "search"])
    login(world.admin)
    home = client.get("/").data.decode()
    assert 'href="/admin/jobs/"' in home  # in the menu, from the route's own rule
    page = client.get("/admin/jobs/").data.decode()
    assert '<h1 class="h4">后台任务</h1>' in page and "北京时间" in page
    for job in PERIODIC:
        row = page.split(f'data-task="{job.name}"', 1)[1].split("</tr>", 1)[0]
        assert f"<code>{app.config[job.setting]}</code>" in row and job.setting in row
    search_row = page.split('data-task="search"', 1)[1].split("</tr>", 1)[0]
    assert "成功" in search_row and "文档已更新 " in search_row
    expire_row = page.split('data-task="expire"', 1)[1].split("</tr>", 1)[0]
    assert "从未运行" in expire_row
    assert "同步搜索索引" in page.split('id="recent"', 1)[1]


@pytest.mark.parametrize("who", ["donor", "staff", "auditor"])
def test_others_are_refused_in_chinese(client: Any, login: Any, world: World, who: str) -> None:
    login(getattr(world, who))
    assert 'href="/admin/jobs/"' not in client.get("/").data.decode()
    refused = client.get("/admin/jobs/")
    assert refused.status_code == 403
    assert "您没有执行此操作的权限。" in refused.data.decode()


def test_a_superuser_sees_it_too(client: Any, login: Any, make_user: Any, db: Any) -> None:
    login(make_user(Role.SUPERUSER, username="root"))
    assert client.get("/admin/jobs/").status_code == 200


def test_anonymous_visitors_are_sent_to_sign_in(client: Any) -> None:
    response = client.get("/admin/jobs/")
    assert response.status_code == 302 and "/login" in response.location
