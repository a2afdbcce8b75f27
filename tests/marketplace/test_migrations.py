"""The migrations build exactly the schema the models describe, on both databases.

Alembic's comparison of the migrated schema with the models ignores CHECK constraints, and the
project's enums are CHECK constraints (``marketplace.db.enum_column``): a member added to an enum
without a migration would pass it while the database refuses the value. So the enum checks below
ask the migrated database itself which values it takes.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy.dialects import sqlite

from marketplace import create_app
from marketplace.extensions import db
from tests.conftest import base_config


@contextmanager
def _migrated(url: str, engine_options: dict[str, Any] | None = None) -> Iterator[sa.Engine]:
    """A fresh database brought to ``upgrade head``, inside the app's context."""
    config = base_config(url)
    if engine_options:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options
    app = create_app(config)
    with app.app_context():
        upgrade()
        try:
            yield db.engine
        finally:
            db.engine.dispose()


@contextmanager
def _postgres_schema(pg_url: str) -> Iterator[dict[str, Any]]:
    """A schema of its own on the PostgreSQL server; the engine options that put us in it."""
    schema = f"migration_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield {"connect_args": {"options": f"-csearch_path={schema}"}}
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _diff(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        # The PostgreSQL search table lives outside the ORM on purpose.
        opts = {
            "compare_type": True,
            "include_object": lambda obj, name, type_, *_: name != "search_document",
        }
        context = MigrationContext.configure(conn, opts=opts)
        diff = compare_metadata(context, db.metadata)
        tables = set(sa.inspect(conn).get_table_names())
    assert {"region", "user", "household", "need", "resource", "match", "audit_event"} <= tables
    if engine.dialect.name == "postgresql":
        assert "search_document" in tables
    return diff


def test_sqlite_upgrade_matches_models(tmp_path: Any) -> None:
    with _migrated(f"sqlite:///{tmp_path / 'migrated.db'}") as engine:
        assert _diff(engine) == []


@pytest.mark.postgres
def test_postgres_upgrade_matches_models(pg_url: str) -> None:
    with _postgres_schema(pg_url) as options, _migrated(pg_url, options) as engine:
        assert _diff(engine) == []


# --- enums: what the migrated database accepts --------------------------------------------
#
# When these tests fail, a Python enum and the database disagree: most often a member was added
# to (or removed from, or renamed in) an enum of a model and no migration changes the column's
# CHECK constraint. Do not loosen the test: write a migration. `.venv/bin/marketplace db
# migrate -m "..."` makes the file, but autogenerate does not see CHECK constraints, so write its
# body by hand: inside `op.batch_alter_table("<table>")` (SQLite rebuilds the table) drop the
# old constraint and create the new one with every value of the enum, e.g. for household.status:
#
#     with op.batch_alter_table("household") as batch_op:
#         batch_op.drop_constraint(op.f("ck_household_status"), type_="check")
#         batch_op.create_check_constraint(
#             "status", "status IN ('poor', 'exited', 'monitored', 'new_value')"
#         )
#
# and the reverse in `downgrade()` (no row may hold the new value by then). The constraints are
# named `ck_<table>_<name given to enum_column>` (NAMING_CONVENTION in marketplace/db.py; `op.f`
# keeps a full name from being prefixed again). migrations/versions/0008_accounts_lifecycle.py
# drops and creates CHECK constraints this way (`ck_user_failed_logins_non_negative`, and
# `ck_api_token_scope`, the `scope` enum's, in its downgrade). A value longer than the column's
# VARCHAR also needs `batch_op.alter_column("<column>", type_=sa.String(n),
# existing_type=sa.String(old))` (the schema comparison above then fails too). Run this file on
# SQLite and on PostgreSQL (TEST_POSTGRES_URL=postgresql+psycopg://...) before committing.


def _enum_columns() -> list[tuple[sa.Table, sa.Column[Any], type[enum.Enum]]]:
    """Every enum-typed column of every mapped table, with its Python enum."""
    found = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, sa.Enum):
                assert column.type.enum_class is not None, f"{table.name}.{column.name}"
                found.append((table, column, column.type.enum_class))
    return found


def _stored(column: sa.Column[Any], member: enum.Enum) -> str:
    """The string the application writes for ``member`` (``enum_column`` stores the values)."""
    processor = column.type.literal_processor(sqlite.dialect())
    assert processor is not None
    literal = processor(member)
    assert literal.startswith("'") and literal.endswith("'"), literal
    return literal[1:-1].replace("''", "'")


@contextmanager
def _probe(conn: sa.Connection, table: str, column: str) -> Iterator[tuple[sa.Table, list[str]]]:
    """A temporary table with the migrated table's columns (typed as the database reports
    them, lengths included), all nullable, under the database's own CHECK constraints that
    mention ``column``; with the text of those constraints. Inserting a value there tells
    whether the migrated table takes it: foreign keys, NOT NULL and the checks of other columns
    are left out, so that a row holding ``column`` alone is judged on ``column`` alone."""
    inspector = sa.inspect(conn)
    mentions = re.compile(rf"(?<!\w){re.escape(column)}(?!\w)")
    checks = [
        check
        for check in inspector.get_check_constraints(table)
        if mentions.search(check["sqltext"])
    ]
    texts = [check["sqltext"] for check in checks]
    probe = sa.Table(
        f"enum_probe_{table}_{column}",
        sa.MetaData(),
        *(sa.Column(c["name"], c["type"], nullable=True) for c in inspector.get_columns(table)),
        # Under their own names, which the database then quotes when it refuses a value.
        *(sa.CheckConstraint(c["sqltext"], name=c["name"]) for c in checks),
        prefixes=["TEMPORARY"],
    )
    probe.create(conn)
    conn.commit()
    try:
        yield probe, texts
    finally:
        conn.rollback()
        probe.drop(conn)
        conn.commit()


def _refusal(conn: sa.Connection, probe: sa.Table, column: str, value: Any) -> str | None:
    """Why the database refuses ``value`` in ``column``, or None when it takes it; the insert
    is rolled back either way."""
    try:
        conn.execute(probe.insert().values({column: value}))
    except sa.exc.DBAPIError as error:  # a CHECK, or a VARCHAR too short (PostgreSQL)
        return str(error.orig).strip().splitlines()[0]
    finally:
        conn.rollback()
    return None


def _outside_values(members: dict[str, enum.Enum], check_texts: list[str]) -> set[str]:
    """Values no member stores: made-up ones, the members' names and near spellings, and
    every literal the database's CHECK constraints name (a member removed from the enum but
    still allowed by the database is one of those)."""
    values = set(members)
    outside = {"", "x", "not_a_member"}
    outside |= {member.name for member in members.values()}
    outside |= {v.upper() for v in values} | {v[:-1] for v in values} | {v + "_" for v in values}
    for text in check_texts:
        outside |= {lit.replace("''", "'") for lit in re.findall(r"'((?:[^']|'')*)'", text)}
    return outside - values


def _enum_problems(engine: sa.Engine) -> list[str]:
    problems = []
    columns = _enum_columns()
    # Guard against a test that checks nothing: the models have a score of enum columns.
    assert len(columns) >= 15, [f"{t.name}.{c.name}" for t, c, _ in columns]
    with engine.connect() as conn:
        migrated_tables = set(sa.inspect(conn).get_table_names())
        for table, column, enum_class in columns:
            where = f"{table.name}.{column.name} ({enum_class.__name__})"
            if table.name not in migrated_tables:
                problems.append(f"{where}: no migration creates the table {table.name}")
                continue
            members = {_stored(column, member): member for member in enum_class}
            with _probe(conn, table.name, column.name) as (probe, texts):
                if not texts:
                    problems.append(f"{where}: the migrated table has no CHECK constraint on it")
                for value, member in members.items():
                    # Bound through the model's type, exactly as the application writes it.
                    bound = sa.bindparam(column.name, member, type_=column.type)
                    refused = _refusal(conn, probe, column.name, bound)
                    if refused is not None:
                        problems.append(
                            f"{where}: the migrated database refuses {value!r} "
                            f"({enum_class.__name__}.{member.name}): {refused}"
                        )
                as_stored = probe.c[column.name].type
                for value in sorted(_outside_values(members, texts)):
                    bound = sa.bindparam(column.name, value, type_=as_stored)
                    if _refusal(conn, probe, column.name, bound) is None:
                        problems.append(
                            f"{where}: the migrated database accepts {value!r}, which is not a "
                            f"value of {enum_class.__name__}"
                        )
    return problems


_ADVICE = (
    "\n\nAn enum of the models and the migrated database disagree: write a migration that "
    "changes the column's CHECK constraint (see the comment above _enum_columns in "
    "tests/marketplace/test_migrations.py)."
)


def test_sqlite_migrated_enum_columns_take_exactly_the_enum_values(tmp_path: Any) -> None:
    with _migrated(f"sqlite:///{tmp_path / 'migrated.db'}") as engine:
        problems = _enum_problems(engine)
    assert not problems, "\n".join(problems) + _ADVICE


@pytest.mark.postgres
def test_postgres_migrated_enum_columns_take_exactly_the_enum_values(pg_url: str) -> None:
    with _postgres_schema(pg_url) as options, _migrated(pg_url, options) as engine:
        problems = _enum_problems(engine)
    assert not problems, "\n".join(problems) + _ADVICE


def test_check_constraints_refuse_unknown_enum_values(db: Any) -> None:
    """States are enforced by the database itself, not only by Python."""
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO region (code, name, level, path) "
                "VALUES ('999999999999', 'x', 'planet', '/999999999999/')"
            )
        )


# --- 0010: the live-pledge index cannot be built over duplicates ----------------------------


def _filler(column: dict[str, Any]) -> Any:
    """A value a NOT NULL column of the 0009 schema takes (the CHECKs want real statuses)."""
    kind = str(column["type"]).upper()
    if column["name"] == "status":
        return "proposed"
    if "INT" in kind or "NUMERIC" in kind or "BOOL" in kind or "FLOAT" in kind:
        return 1
    if "DATE" in kind or "TIME" in kind:
        return "2026-01-01 00:00:00"
    if "JSON" in kind:
        return "{}"
    return "x"


def test_0010_stops_on_two_live_pledges_of_one_resource_to_one_need(tmp_path: Any) -> None:
    """Which duplicate to end is an administrator's decision: the upgrade names them and
    stops, changing nothing, and goes through once one of them has ended."""
    app = create_app(base_config(f"sqlite:///{tmp_path / 'duplicates.db'}"))
    with app.app_context():
        upgrade(revision="0009")
        with db.engine.begin() as conn:
            conn.execute(sa.text("PRAGMA foreign_keys=OFF"))  # match rows alone suffice here
            columns = [
                c for c in sa.inspect(conn).get_columns("match")
                if not c["nullable"] and c["default"] is None and c["name"] != "id"
            ]  # fmt: skip
            values = {c["name"]: _filler(c) for c in columns} | {"need_id": 7, "resource_id": 3}
            insert = sa.text(
                f"INSERT INTO match ({', '.join(values)}) VALUES "
                f"({', '.join(':' + name for name in values)})"
            )
            conn.execute(insert, [values, values])
        # alembic itself, not flask-migrate's command (which logs and exits)
        alembic_config = app.extensions["migrate"].migrate.get_config()
        with pytest.raises(RuntimeError, match=r"need 7 / resource 3 \(2 live\)"):
            command.upgrade(alembic_config, "head")
        with db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT version_num FROM alembic_version")) == "0009"
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE match SET status = 'cancelled' WHERE id = 1"))
        upgrade()
        with db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT version_num FROM alembic_version")) != "0009"
        db.engine.dispose()
