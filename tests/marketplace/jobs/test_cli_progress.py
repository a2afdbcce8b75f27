"""The commands that take long show how far they got: ``synth``, ``search rebuild`` and
``import`` (a register template filled outside the site, written as a staff member)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from marketplace.households.models import Household
from marketplace.search.services import rebuild, total_documents
from marketplace.synth import synth_rows, synthesize
from tests.conftest import World
from tests.marketplace.households.test_import import fill, household_row, need_row


def test_synth_tells_every_row_it_writes(app: Any, db: Any) -> None:
    told: list[int] = []
    synthesize(30, 7, progress=told.append)
    assert sum(told) == synth_rows(30, 7) == 67
    result = app.test_cli_runner().invoke(args=["synth", "--households", "5", "--resources", "2"])
    assert result.exit_code == 0 and "rows" in result.output and "households: 5" in result.output


def test_rebuild_tells_the_documents_written(app: Any, db: Any, world: World) -> None:
    told: list[int] = []
    written = rebuild(progress=told.append)
    assert told and told[-1] == written and told == sorted(told)
    assert written <= total_documents()
    result = app.test_cli_runner().invoke(args=["search", "rebuild"])
    assert result.exit_code == 0 and f"{written} documents indexed." in result.output


def test_the_import_command_checks_then_writes_all_or_nothing(
    app: Any, client: Any, login: Any, db: Any, world: World, tmp_path: Any
) -> None:
    login(world.staff)
    template = client.get("/households/import/template.xlsx").data
    good = tmp_path / "good.xlsx"
    rows = [household_row(world.village, n) for n in range(1, 5)]
    good.write_bytes(fill(template, rows, [need_row(world.village, 1)]))
    bad_rows = [dict(r) for r in rows]
    bad_rows[2]["手机号"] = "1234"
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(fill(template, bad_rows, []))

    def households() -> int:
        db.session.expire_all()
        return int(db.session.scalar(sa.select(sa.func.count(Household.id))) or 0)

    before = households()
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["import", str(bad), "--as", world.staff.username])
    assert refused.exit_code != 0 and "贫困户 4 IMP00003" in refused.output
    assert households() == before
    unknown = runner.invoke(args=["import", str(good), "--as", "nobody"])
    assert unknown.exit_code != 0 and households() == before
    outsider = runner.invoke(args=["import", str(good), "--as", world.other_staff.username])
    assert outsider.exit_code != 0 and households() == before
    done = runner.invoke(args=["import", str(good), "--as", world.staff.username])
    assert done.exit_code == 0, done.output
    assert "Imported 4 households, 0 members, 1 needs." in done.output and "rows" in done.output
    assert households() == before + 4
