"""A whole app on PostgreSQL, in a schema of its own (tables, the PostgreSQL search table and the
gazetteer), for tests that need the app itself on PostgreSQL rather than the suite's database.

``app_on_postgres(pg_url, session_app, url=None, **config)``: ``url`` lets the app reach the
server another way (a proxy) while the schema is made directly. The limiter is one object for
every app: it is given back to the session's app afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from marketplace import create_app
from marketplace.extensions import db, limiter
from marketplace.regions.services import load_baiyin_extract, load_gazetteer
from tests.conftest import FreshContextClient, base_config


@contextmanager
def app_on_postgres(
    pg_url: str, session_app: Any, url: str | None = None, **config: Any
) -> Iterator[Any]:
    schema = f"app_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    settings = base_config(url or pg_url)
    options: dict[str, Any] = config.pop("SQLALCHEMY_ENGINE_OPTIONS", {})
    connect_args = {"options": f"-csearch_path={schema}", **options.pop("connect_args", {})}
    settings["SQLALCHEMY_ENGINE_OPTIONS"] = {
        "pool_pre_ping": True, "connect_args": connect_args, **options
    }  # fmt: skip
    settings.update(config)
    app = create_app(settings)
    app.test_client_class = FreshContextClient
    try:
        with app.app_context():
            from marketplace.search.postgres_backend import PostgresBackend

            db.create_all()
            PostgresBackend(db.engine).create_table()
            load_gazetteer()
            load_baiyin_extract()
            db.session.commit()
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        limiter.init_app(session_app)  # back to the session app's store
        limiter.reset()
