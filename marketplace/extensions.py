"""Extensions, created unbound and attached to the app in ``create_app``."""

from typing import Any

import click
from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from marketplace.db import Base


class Migrations:
    """Flask-Migrate, attached as itself only when a migration first needs it: importing it
    (and Alembic) cost every start, web processes included, a fifth of a second (issue 17).
    ``init_app`` leaves a stand-in in ``app.extensions["migrate"]`` and a ``db`` command group
    that, when first read, attach the real extension with the same options."""

    def init_app(self, app: Any, db: Any, **options: Any) -> None:
        app.extensions["migrate"] = _Attaching(app, db, options)
        app.cli.add_command(_AttachingGroup(app, db, options))


def _attach(app: Any, db: Any, options: dict[str, Any]) -> Any:
    from flask_migrate import Migrate

    if isinstance(app.extensions.get("migrate"), _Attaching):
        Migrate().init_app(app, db, **options)  # replaces both stand-ins
    return app.extensions["migrate"]


class _Attaching:
    def __init__(self, app: Any, db: Any, options: dict[str, Any]) -> None:
        self._args = (app, db, options)

    def __getattr__(self, name: str) -> Any:
        return getattr(_attach(*self._args), name)


class _AttachingGroup(click.Group):
    """``db``: Flask-Migrate's group's options, which its commands read from ``g``."""

    def __init__(self, app: Any, db: Any, options: dict[str, Any]) -> None:
        super().__init__(
            name="db", help="Perform database migrations.", callback=self._options,
            params=[click.Option(["-d", "--directory"], default=None,
                                 help='Migration script directory (default is "migrations")'),
                    click.Option(["-x", "--x-arg"], multiple=True,
                                 help="Additional arguments consumed by custom env.py scripts")],
        )  # fmt: skip
        self._args = (app, db, options)

    @staticmethod
    def _options(directory: str | None, x_arg: tuple[str, ...]) -> None:
        from flask import g

        g.directory = directory
        g.x_arg = x_arg

    def _real(self) -> click.Group:
        from flask_migrate.cli import db as group

        _attach(*self._args)
        return group

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._real().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._real().get_command(ctx, name)


db = SQLAlchemy(model_class=Base)
migrate = Migrations()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
bootstrap = Bootstrap5()
limiter = Limiter(key_func=get_remote_address)
