"""Migration 0013 on a register written before it: households carried over as confirmed (their
causes and needs untouched), members' relation and health text become codes, sex and birth
date are read from a valid ID card number only; the downgrade gives the text back; rows that
would break the new unique indexes stop it, changing nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import current_app
from flask_migrate import downgrade, upgrade

from marketplace import create_app
from marketplace.demo import id_number
from marketplace.extensions import db
from tests.conftest import base_config
from tests.marketplace.test_migrations import _postgres_schema

MIGRATION = Path(__file__).resolve().parents[3] / "migrations/versions/0013_household_members.py"
_spec = importlib.util.spec_from_file_location("m0013", MIGRATION)
assert _spec is not None and _spec.loader is not None
m0013 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(m0013)
BEFORE = m0013.down_revision  # the revision 0013 follows

VALID = id_number("620421000000", date(1988, 7, 9), 123)  # 123: odd, a man
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@contextmanager
def _before_0013(url: str, options: dict[str, Any] | None = None) -> Iterator[sa.Engine]:
    config = base_config(url)
    if options:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    app = create_app(config)
    with app.app_context():
        upgrade(revision=BEFORE)
        try:
            yield db.engine
        finally:
            db.engine.dispose()


def _table(table: str, /, **columns: Any) -> sa.TableClause:
    return sa.table(table, *(sa.column(n, t) for n, t in columns.items()))


def _register(conn: sa.Connection, members: list[tuple[str, str, str]]) -> None:
    """A village, a household with a need, and its members (relation, ID number, health) as
    the schema before 0013 held them."""
    text, number, stamp = sa.String, sa.Integer, sa.DateTime(timezone=True)
    region = _table("region", id=number, code=text, name=text, level=text, path=text)
    conn.execute(region.insert().values(id=1, code="620421100001", name="某村", level="village",
                                        path="/620421100001/"))  # fmt: skip
    household = _table(
        "household", id=number, register_number=text, village_id=number, head_name=text,
        head_id_number=text, phone=text, member_count=number, primary_cause=text,
        other_causes=sa.JSON, status=text, labour_capacity=text, created_at=stamp,
        updated_at=stamp,
    )  # fmt: skip
    conn.execute(household.insert().values(
        id=1, register_number="R001", village_id=1, head_name="张三",
        head_id_number=id_number("620421000000", date(1960, 1, 1), 1), phone="", member_count=5,
        primary_cause="illness", other_causes=["skills"], status="poor", labour_capacity="weak",
        created_at=NOW, updated_at=NOW,
    ))  # fmt: skip
    need = _table(
        "need", id=number, household_id=number, village_id=number, category=text,
        subcategory=text, title=text, description=text, quantity=number, open_quantity=number,
        unit=text, estimated_value=sa.Numeric(14, 2), urgency=number, status=text,
        return_reason=text, created_at=stamp, updated_at=stamp,
    )  # fmt: skip
    conn.execute(need.insert().values(
        id=1, household_id=1, village_id=1, category="medical", subcategory="medical.treatment",
        title="治病", description="", quantity=1, open_quantity=1, unit="次", estimated_value=0,
        urgency=2, status="verified", return_reason="", created_at=NOW, updated_at=NOW,
    ))  # fmt: skip
    member = _table("household_member", id=number, household_id=number, name=text,
                    relation=text, id_number=text, birth_year=number, health=text)  # fmt: skip
    for n, (relation, card, health) in enumerate(members, start=1):
        conn.execute(member.insert().values(
            id=n, household_id=1, name=f"成员{n}", relation=relation, id_number=card,
            birth_year=1970, health=health))  # fmt: skip


def _carried_over(url: str, options: dict[str, Any] | None = None) -> None:
    members = [("配偶", VALID, "慢性病"), ("子", "", "健康"), ("孙子", "62042119990101123X", ""),
               ("表弟", "", "残疾"), ("父亲", "", "大病")]  # fmt: skip
    with _before_0013(url, options) as engine:
        with engine.begin() as conn:
            _register(conn, members)
        upgrade(revision="0013")
        with engine.connect() as conn:
            household = conn.execute(sa.text(
                "SELECT identification, primary_cause, other_causes, status, village_assessment "
                "FROM household")).one()  # fmt: skip
            assert household.identification == "confirmed"
            assert household.primary_cause == "illness" and "skills" in str(household.other_causes)
            assert household.status == "poor" and household.village_assessment == ""
            assert conn.execute(sa.text("SELECT status FROM need")).scalar() == "verified"
            rows = conn.execute(sa.text(
                "SELECT relation, id_number, sex, birth_date, health, labour, schooling, "
                "in_school, working_away, skills FROM household_member ORDER BY id"
            )).all()  # fmt: skip
            columns = {c["name"] for c in sa.inspect(conn).get_columns("household_member")}
        assert "birth_year" not in columns
        assert [r.relation for r in rows] == ["spouse", "son", "grandson", "other", "father"]
        assert [r.health for r in rows] == ["chronic", "healthy", "healthy", "disabled",
                                            "serious"]  # fmt: skip
        spouse = rows[0]
        assert spouse.sex == "male" and str(spouse.birth_date) == "1988-07-09"
        # No number, or one that fails its checksum: no sex, no birth date (the year goes).
        assert all(r.sex is None and r.birth_date is None for r in rows[1:])
        assert rows[2].id_number == "62042119990101123X"  # kept for the staff to correct
        assert all(r.labour is None and r.schooling is None for r in rows)
        assert not any(r.in_school or r.working_away or r.skills for r in rows)

        downgrade(revision=BEFORE)
        with engine.connect() as conn:
            back = conn.execute(sa.text(
                "SELECT relation, health, birth_year FROM household_member ORDER BY id"
            )).all()  # fmt: skip
            columns = {c["name"] for c in sa.inspect(conn).get_columns("household")}
        assert [r.relation for r in back] == ["配偶", "子", "孙子", "其他", "父亲"]
        assert [r.health for r in back] == ["慢性病", "健康", "健康", "残疾", "大病"]
        assert back[0].birth_year == 1988 and back[1].birth_year is None
        assert "identification" not in columns


def test_0013_carries_the_register_over_on_sqlite(tmp_path: Any) -> None:
    _carried_over(f"sqlite:///{tmp_path / 'before.db'}")


@pytest.mark.postgres
def test_0013_carries_the_register_over_on_postgres(pg_url: str) -> None:
    with _postgres_schema(pg_url) as options:
        _carried_over(pg_url, options)


def test_0013_stops_on_one_person_in_two_rows(tmp_path: Any) -> None:
    from alembic import command

    url = f"sqlite:///{tmp_path / 'twice.db'}"
    with _before_0013(url) as engine:
        with engine.begin() as conn:
            _register(conn, [("户主", VALID, ""), ("户主", "", ""), ("子", VALID, "")])
        config = current_app.extensions["migrate"].migrate.get_config()
        with pytest.raises(RuntimeError, match=r"members \[1, 3\] share an ID card number"):
            command.upgrade(config, "0013")
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT version_num FROM alembic_version")) == BEFORE
            assert (
                conn.scalar(sa.text("SELECT relation FROM household_member WHERE id = 1")) == "户主"
            )
