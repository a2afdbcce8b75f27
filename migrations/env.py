"""Alembic environment, driven by Flask-Migrate (``marketplace db upgrade``)."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from marketplace.db import UTCDateTime

config = context.config
if config.config_file_name:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

db = current_app.extensions["migrate"].db
target_metadata = db.metadata


def render_item(type_, obj, autogen_context):
    """Render our UTC datetime type as the plain column type it stores."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


# Tables managed outside the ORM (the PostgreSQL search backend's), ignored by autogenerate.
UNMANAGED_TABLES = {"search_document"}


def include_object(obj, name, type_, reflected, compare_to):
    return not (type_ == "table" and name in UNMANAGED_TABLES)


def process_revision_directives(context_, revision, directives):
    if getattr(config.cmd_opts, "autogenerate", False):
        script = directives[0]
        if script.upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")


def run_migrations_offline():
    context.configure(
        url=str(db.engine.url),
        target_metadata=target_metadata,
        literal_binds=True,
        render_item=render_item,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _foreign_key_problems(connection):
    """SQLite's rows that refer to a missing row: (table, rowid, parent table) each."""
    rows = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    return {(row[0], row[1], row[2]) for row in rows}


def _sqlite_foreign_keys(connection, on):
    """Switch SQLite's foreign keys for this connection. SQLite ignores the pragma inside a
    transaction, so whatever the connection began is committed first (a read, nothing else
    has run on it yet) and the switch itself committed after."""
    connection.commit()
    connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    connection.commit()


def run_migrations_online():
    with db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        callbacks = []
        if sqlite:
            # A batch operation rebuilds a table on SQLite: it copies it, drops the old one and
            # renames the copy. With foreign keys on, the drop is refused (or cascades) while
            # other tables' rows refer to it; so they are off while migrating, and each
            # migration is checked instead: one that leaves a row referring to a missing row
            # (one that was not so before) is stopped, its transaction rolled back.
            _sqlite_foreign_keys(connection, on=False)
            before = _foreign_key_problems(connection)
            connection.commit()

            def check_foreign_keys(ctx, step, heads, run_args):
                broken = sorted(_foreign_key_problems(ctx.connection) - before)
                if broken:
                    shown = ", ".join(f"{t} row {r} (→ {p})" for t, r, p in broken[:5])
                    way = "upgrade" if step.is_upgrade else "downgrade"
                    raise RuntimeError(
                        f"the {way} of {step.up_revision_id} leaves {len(broken)} rows "
                        f"referring to missing rows: {shown}"
                    )

            callbacks.append(check_foreign_keys)
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_item=render_item,
                render_as_batch=True,
                compare_type=True,
                include_object=include_object,
                process_revision_directives=process_revision_directives,
                on_version_apply=callbacks,
            )
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if sqlite:  # the connection goes back to the pool: as every other one is
                connection.rollback()
                _sqlite_foreign_keys(connection, on=True)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
