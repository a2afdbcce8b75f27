"""The first migration builds exactly the schema the models describe, on both databases."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from marketplace import create_app
from marketplace.extensions import db
from tests.conftest import base_config


def _diff_after_upgrade(url: str, engine_options: dict[str, Any] | None = None) -> list[Any]:
    config = base_config(url)
    if engine_options:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options
    app = create_app(config)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            # The PostgreSQL search table lives outside the ORM on purpose.
            opts = {
                "compare_type": True,
                "include_object": lambda obj, name, type_, *_: name != "search_document",
            }
            context = MigrationContext.configure(conn, opts=opts)
            diff = compare_metadata(context, db.metadata)
            tables = set(sa.inspect(conn).get_table_names())
        db.engine.dispose()
    assert {"region", "user", "household", "need", "resource", "match", "audit_event"} <= tables
    if url.startswith("postgresql"):
        assert "search_document" in tables
    return diff


def test_sqlite_upgrade_matches_models(tmp_path: Any) -> None:
    assert _diff_after_upgrade(f"sqlite:///{tmp_path / 'migrated.db'}") == []


@pytest.mark.postgres
def test_postgres_upgrade_matches_models(pg_url: str) -> None:
    schema = f"migration_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        options = {"connect_args": {"options": f"-csearch_path={schema}"}}
        assert _diff_after_upgrade(pg_url, options) == []
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_check_constraints_refuse_unknown_enum_values(db: Any) -> None:
    """States are enforced by the database itself, not only by Python."""
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO region (code, name, level, path) "
                "VALUES ('999999999999', 'x', 'planet', '/999999999999/')"
            )
        )
