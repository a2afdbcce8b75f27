"""When a periodic task runs: a crontab line read in Beijing time.

Huey's ``crontab`` decides whether a minute matches (the consumer asks once a minute); this
module gives it the minute in Beijing time, whatever the machine's zone, and finds the next
minute that matches for the task list. Day of month and weekday must both match (Huey's rule,
stricter than cron's "either").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from huey import crontab

from marketplace.timefmt import BEIJING

OFF = "off"
FIELDS = ("minute", "hour", "day", "month", "day_of_week")


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    """``"*/10 * * * *"`` (minute hour day month weekday, Beijing time) or ``"off"``."""

    text: str
    _parts: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def parse(cls, text: str) -> Schedule:
        text = " ".join(str(text).split())
        if text.lower() == OFF:
            return cls(OFF)
        pieces = text.split(" ")
        if len(pieces) != len(FIELDS):
            raise ScheduleError(text)
        parts = dict(zip(FIELDS, pieces, strict=True))
        try:
            crontab(**parts, strict=True)
        except ValueError as exc:
            raise ScheduleError(text) from exc
        return cls(text, parts)

    @property
    def off(self) -> bool:
        return self.text == OFF

    def _test(self, **wide: str) -> Any:
        return crontab(**{**self._parts, **wide}, strict=True)

    def matches(self, moment: datetime) -> bool:
        """Whether the minute of ``moment`` is one to run in. A naive moment is UTC (Huey's
        clock with ``utc=True``)."""
        if self.off:
            return False
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        local = aware.astimezone(BEIJING).replace(tzinfo=None)
        return bool(self._test()(local))

    def next_after(self, moment: datetime) -> datetime | None:
        """The first minute strictly after ``moment`` that matches (aware, UTC); None when off
        or nothing matches within a year and a day. Day by day, then hour, then minute."""
        if self.off:
            return None
        local = moment.astimezone(BEIJING).replace(second=0, microsecond=0, tzinfo=None)
        start = local + timedelta(minutes=1)
        by_day = self._test(minute="*", hour="*")
        by_hour = self._test(minute="*")
        by_minute = self._test()
        day = start.replace(hour=0, minute=0)
        for _ in range(367):
            if by_day(day):
                for hour in range(24):
                    at_hour = day.replace(hour=hour)
                    if at_hour + timedelta(hours=1) <= start or not by_hour(at_hour):
                        continue
                    for minute in range(60):
                        candidate = at_hour.replace(minute=minute)
                        if candidate >= start and by_minute(candidate):
                            return candidate.replace(tzinfo=BEIJING).astimezone(UTC)
            day += timedelta(days=1)
        return None
