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

from marketplace import create_app, page_cache
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
            page_cache.dispose(app)
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


# A migration of the test's own, after the head on disk: rebuilds the household table (a batch
# operation with recreate="always": copy, drop, rename), the way dropping or retyping a column
# does on SQLite; with break_ it also deletes a household its need still refers to.
REBUILD = """
from alembic import op
import sqlalchemy as sa

revision = "9999"
down_revision = {head!r}


def upgrade():
    with op.batch_alter_table("household", recreate="always") as batch_op:
        batch_op.alter_column("phone", existing_type=sa.String(20), nullable=False)
    if {break_!r}:
        op.execute("DELETE FROM household WHERE id = 1")


def downgrade():
    with op.batch_alter_table("household", recreate="always") as batch_op:
        batch_op.alter_column("phone", existing_type=sa.String(20), nullable=False)
"""


def _with_rebuild(tmp_path: Any, break_: bool) -> tuple[Any, Any, str]:
    """An app on a migrated SQLite database holding a household that a need and a member
    refer to, and the alembic configuration that also reads the test's migration."""
    from alembic.script import ScriptDirectory

    app = create_app(base_config(f"sqlite:///{tmp_path / 'rebuild.db'}"))
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        upgrade()
        head = ScriptDirectory.from_config(config).get_current_head()
        extra = tmp_path / "versions"
        extra.mkdir()
        (extra / "9999_rebuild.py").write_text(REBUILD.format(head=head, break_=break_))
        config.set_main_option("path_separator", "os")
        config.set_main_option(
            "version_locations", f"{config.get_main_option('script_location')}/versions:{extra}"
        )
        _register_one_household()
    return app, config, head


def _register_one_household() -> None:
    """A village, a household, its head in the roster and a need of it, through the models."""
    from datetime import date

    from marketplace.demo import id_number
    from marketplace.households.models import Household, HouseholdMember, MemberRelation
    from marketplace.needs.models import Need, NeedStatus
    from marketplace.regions.models import Region, RegionLevel
    from marketplace.vocab import PovertyCause

    village = Region(id=1, code="620421100001", name="某村", level=RegionLevel.VILLAGE,
                     path="/620421100001/")  # fmt: skip
    number = id_number("620421", date(1960, 1, 1), 1)
    household = Household(id=1, register_number="R1", village=village, head_name="张三",
                          head_id_number=number, phone="", member_count=2,
                          primary_cause=PovertyCause.ILLNESS)  # fmt: skip
    head = HouseholdMember(household=household, relation=MemberRelation.HEAD, name="张三",
                           id_number=number)  # fmt: skip
    need = Need(village=village, household=household, category="medical",
                subcategory="medical.treatment", title="治病", quantity=1, open_quantity=1,
                unit="次", status=NeedStatus.SUBMITTED)  # fmt: skip
    db.session.add_all([village, household, head, need])
    db.session.commit()
    db.session.remove()


def test_sqlite_migrations_rebuild_a_referenced_table_with_rows(tmp_path: Any) -> None:
    """Foreign keys are off while migrating (outside the migration's transaction, where
    SQLite would ignore the switch): the household table is rebuilt while a need and a member
    refer to its row, which survives with them; every connection has foreign keys on after."""
    app, config, _head = _with_rebuild(tmp_path, break_=False)
    with app.app_context():
        command.upgrade(config, "9999")
        with db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT version_num FROM alembic_version")) == "9999"
            assert conn.scalar(sa.text("SELECT count(*) FROM household")) == 1
            assert conn.scalar(sa.text("SELECT household_id FROM need")) == 1
            assert conn.scalar(sa.text("SELECT household_id FROM household_member")) == 1
            assert conn.execute(sa.text("PRAGMA foreign_key_check")).all() == []
            assert conn.scalar(sa.text("PRAGMA foreign_keys")) == 1  # the pooled connection
        command.downgrade(config, "-1")
        with db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM household")) == 1
            assert conn.scalar(sa.text("PRAGMA foreign_keys")) == 1
            with pytest.raises(sa.exc.IntegrityError):  # enforced again
                conn.execute(sa.text("DELETE FROM household WHERE id = 1"))
        db.engine.dispose()


def test_a_migration_that_leaves_a_dangling_reference_is_stopped(tmp_path: Any) -> None:
    """With the foreign keys off, each migration is checked instead: one leaving a need whose
    household is gone is stopped with the rows named, its transaction rolled back."""
    app, config, head = _with_rebuild(tmp_path, break_=True)
    with app.app_context():
        with pytest.raises(RuntimeError, match=r"upgrade of 9999 leaves \d+ rows .*need row 1"):
            command.upgrade(config, "9999")
        with db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT version_num FROM alembic_version")) == head
            assert conn.scalar(sa.text("SELECT count(*) FROM household")) == 1
            assert conn.scalar(sa.text("PRAGMA foreign_keys")) == 1
        db.engine.dispose()


def test_a_migrated_database_keeps_reports_from_the_start(tmp_path: Any) -> None:
    """Both tokens are seeded: a region's report is kept before any change was made (without
    'all', every report would be recomputed per request until some change could not be
    followed to a county)."""
    from marketplace import facts

    with _migrated(f"sqlite:///{tmp_path / 'migrated.db'}") as engine:
        with engine.connect() as conn:
            names = set(conn.scalars(sa.text("SELECT name FROM fact_version")))
        assert names == {"facts", "all"}
        assert facts.region_tokens(db.session(), ["620421"]) is not None


@pytest.mark.postgres
def test_postgres_reads_a_subtree_through_the_path_index(pg_url: str) -> None:
    """A scoped query's ``path LIKE '<prefix>%'`` is an index range on PostgreSQL (migration
    0021): unless the database's collation is C, only the pattern operator class allows it."""
    with (
        _postgres_schema(pg_url) as options,
        _migrated(pg_url, options) as engine,
        engine.begin() as connection,
    ):
        connection.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(connection.scalars(sa.text(
            "EXPLAIN SELECT id FROM region WHERE path LIKE '/620000000000/%'")))  # fmt: skip
    assert "ix_region_path" in plan, plan
