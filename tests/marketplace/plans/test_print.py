"""The plan page prints on A4 for the village notice board (masked, whoever prints it) and for
the household's file (in full, to those with a right, and that view audited)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.plans.models import Guarantee
from tests.conftest import World
from tests.marketplace.plans.conftest import add_measure, check_all

ROOT = Path(__file__).resolve().parents[3]


def _viewed(db: Any) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "personal_data_viewed")
    )


def _plan(db: Any, world: World) -> None:
    check_all(db, world.household, world.staff, unmet=(Guarantee.WATER,))
    add_measure(db, world.household, world.staff, responsible_id=None,
                responsible_name="王帮扶", responsible_phone="13700001111")  # fmt: skip


def test_the_plan_page_links_its_a4_print_stylesheet(
    client: Any, db: Any, login: Any, plan_world: World
) -> None:
    login(plan_world.staff)
    page = client.get(f"/plans/{plan_world.household.id}").data.decode()
    # the address carries the file's hash (marketplace/static_files.py)
    assert re.search(
        r'<link rel="stylesheet" href="/static/css/print\.[0-9a-f]{10}\.css" media="print">', page
    )
    assert 'class="plan-sheet"' in page and "帮扶责任人（签字）" in page
    sheet = (ROOT / "static/css/print.css").read_text()
    assert "size: A4" in sheet
    for hidden in (".site-nav", "footer", ".no-print", ".btn"):
        assert hidden in sheet.split("display: none")[0], hidden
    assert (
        re.search(r'src="/static/js/print\.[0-9a-f]{10}\.js"', page)
        and (ROOT / "static/js/print.js").is_file()
    )


def test_the_notice_board_copy_masks_whoever_prints_it(
    client: Any, db: Any, login: Any, plan_world: World
) -> None:
    _plan(db, plan_world)
    household = plan_world.household
    login(plan_world.staff)
    before = _viewed(db)
    board = client.get(f"/plans/{household.id}?copy=board").data.decode()
    assert "张**" in board and household.head_name not in board
    assert household.head_id_number not in board and household.phone not in board
    assert "137****1111" in board and "13700001111" not in board
    assert "王帮扶" in board  # the cadre is named: villagers know whom to ask
    assert "入户核查" not in board  # what was seen in the home stays in the file
    assert "村公示栏版本" in board
    assert _viewed(db) == before  # nothing unmasked was shown


def test_the_file_copy_is_whole_for_staff_and_audited(
    client: Any, db: Any, login: Any, plan_world: World
) -> None:
    _plan(db, plan_world)
    household = plan_world.household
    login(plan_world.staff)
    before = _viewed(db)
    page = client.get(f"/plans/{household.id}").data.decode()
    assert household.head_name in page and "13700001111" in page
    assert "入户核查" in page and "农户档案版本" in page
    assert _viewed(db) == before + 1


def test_readers_without_a_right_see_the_plan_masked(
    client: Any, db: Any, login: Any, plan_world: World
) -> None:
    _plan(db, plan_world)
    login(plan_world.auditor)
    page = client.get(f"/plans/{plan_world.household.id}").data.decode()
    assert plan_world.household.head_name not in page and "张**" in page
    assert "13700001111" not in page and "137****1111" in page
    assert "添加帮扶措施" not in page and "登记保障核查" not in page  # no buttons to keep it
