"""The one exception services raise for a rule a user broke; views turn it into a message."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import LazyString


class ServiceError(Exception):
    """A refused action. ``message`` is a translatable msgid; ``status`` the HTTP answer;
    ``field`` the form field the rule is about (the view shows the message beside it)."""

    def __init__(
        self, message: str | LazyString, status: int = 400, field: str | None = None
    ) -> None:
        super().__init__(str(message))
        self.message = message
        self.status = status
        self.field = field


@dataclass(frozen=True)
class Problem:
    """One rule broken by a set of values: the field it is about and a translatable message.
    Check functions return every problem; a service raises the first, an import lists all."""

    field: str
    message: str | LazyString


def refuse_first(problems: list[Problem]) -> None:
    """Raise the first problem as a ServiceError about its field; nothing when there is none."""
    if problems:
        raise ServiceError(problems[0].message, field=problems[0].field)
