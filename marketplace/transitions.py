"""The one way a record changes status: a table of legal moves and a compare-and-set on the status.

Every kind of record with a workflow (needs, matches, resources, organizations, objections,
spot checks) declares its moves once as a ``Workflow``; services move records with
``workflow.move``, policies ask ``workflow.allows``, and nothing assigns a status directly. A
move that is not in the table, or that someone else made first (the status is no longer the
one read), is refused with 409 and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from marketplace.db import utcnow
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.signals import status_moved

S = TypeVar("S", bound=Enum)


def conflict(message: str | LazyString | None = None) -> ServiceError:
    return ServiceError(
        message or _l("This action conflicts with the current state of the record."), 409
    )


class Workflow(Generic[S]):
    def __init__(
        self,
        model: Any,
        moves: Mapping[S, set[S]],
        *,
        raced: str | LazyString | None = None,
        column: str = "status",
    ) -> None:
        self.model = model
        self.moves = moves
        self.column = column
        # The refusal when someone else moved the record between reading and moving it.
        self.raced = raced or _l("Someone else has just acted on this record. Reload the page.")

    def allows(self, obj: Any, to: S) -> bool:
        """Whether ``obj`` may move to ``to`` from the status it has now."""
        return to in self.moves[getattr(obj, self.column)]

    def move(self, obj: Any, to: S, *, only_if: Any = None, **values: Any) -> S:
        """Move ``obj`` to ``to`` (setting ``values`` with it) and return the status it left.
        ``only_if``, a condition on the row, is checked in the same statement (refused as a
        race when it no longer holds). The caller records the audit event: it knows what the
        move means."""
        source: S = getattr(obj, self.column)
        if to not in self.moves[source]:
            raise conflict()
        status = getattr(self.model, self.column)
        if hasattr(self.model, "updated_at"):
            values.setdefault("updated_at", utcnow())
        result = db.session.execute(
            sa.update(self.model)
            .where(self.model.id == obj.id, status == source)
            .where(sa.true() if only_if is None else only_if)
            .values({self.column: to, **values})
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise conflict(self.raced)
        db.session.refresh(obj)
        status_moved.send(record=obj)
        return source
