"""The one exception services raise for a rule a user broke; views turn it into a message."""

from __future__ import annotations

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
