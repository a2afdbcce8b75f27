"""When a periodic task runs: a crontab line read in Beijing time.

Huey's consumer asks once a minute whether a task's minute has come (``Schedule.matches``, the
minute given in Beijing time whatever the machine's zone); ``next_after`` finds the next minute
that matches for the task list. The line is read here, not by Huey's ``crontab``: importing Huey
(its Redis client with it) only to check the schedules cost every start a fifth of a second,
and the web processes never run a task. The syntax is Huey's strict one: ``*``, ``n``, ``a-b``,
``a-b/s`` (a range may wrap, e.g. ``22-2``), ``*/s``, lists of these with commas; weekday 0-6
from Sunday, 7 also Sunday. Day of month and weekday must both match (Huey's rule, stricter
than cron's "either"). ``tests/marketplace/jobs/test_schedule.py`` checks it against Huey's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from marketplace.timefmt import BEIJING

OFF = "off"
FIELDS = ("minute", "hour", "day", "month", "day_of_week")
# Each field's values; the weekday also takes 7 (Sunday again).
RANGES = {"minute": range(60), "hour": range(24), "day": range(1, 32), "month": range(1, 13),
          "day_of_week": range(8)}  # fmt: skip
SPAN = re.compile(r"(\d+)-(\d+)(?:/(\d+))?")
EVERY = re.compile(r"\*/(\d+)")


class ScheduleError(ValueError):
    pass


def _values(name: str, text: str) -> frozenset[int]:
    """The values one field of a line allows; ScheduleError when a piece is not one."""
    allowed = RANGES[name]
    weekday = name == "day_of_week"
    values: set[int] = set()
    for piece in text.split(","):
        if piece == "*":
            values.update(allowed)
        elif piece.isdigit():
            if int(piece) not in allowed:
                raise ScheduleError(text)
            values.add(int(piece))
        elif span := SPAN.fullmatch(piece):
            low, high, step = int(span[1]), int(span[2]), int(span[3] or 1)
            if low not in allowed or high not in allowed or step == 0:
                raise ScheduleError(text)
            top = 6 if weekday else allowed[-1]
            run = list(range(low, high + 1)) if low <= high else [
                *range(low, top + 1), *range(allowed[0], high + 1)]  # fmt: skip
            values.update(run[::step])
        elif (every := EVERY.fullmatch(piece)) and not weekday and int(every[1]) > 0:
            values.update(allowed[:: int(every[1])])
        else:
            raise ScheduleError(text)
    if weekday:
        values = {v % 7 for v in values}
    return frozenset(values)


@dataclass(frozen=True)
class Schedule:
    """``"*/10 * * * *"`` (minute hour day month weekday, Beijing time) or ``"off"``."""

    text: str
    _allowed: dict[str, frozenset[int]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def parse(cls, text: str) -> Schedule:
        text = " ".join(str(text).split())
        if text.lower() == OFF:
            return cls(OFF)
        pieces = text.split(" ")
        if len(pieces) != len(FIELDS):
            raise ScheduleError(text)
        allowed = {name: _values(name, piece) for name, piece in zip(FIELDS, pieces, strict=True)}
        return cls(text, allowed)

    @property
    def off(self) -> bool:
        return self.text == OFF

    def _test(self, *wide: str) -> Callable[[datetime], bool]:
        """Whether a Beijing minute matches, the fields named in ``wide`` taken as ``*``."""
        checks = [(name, values) for name, values in self._allowed.items() if name not in wide]

        def test(local: datetime) -> bool:
            of = {"minute": local.minute, "hour": local.hour, "day": local.day,
                  "month": local.month, "day_of_week": local.isoweekday() % 7}  # fmt: skip
            return all(of[name] in values for name, values in checks)

        return test

    def matches(self, moment: datetime) -> bool:
        """Whether the minute of ``moment`` is one to run in. A naive moment is UTC (Huey's
        clock with ``utc=True``)."""
        if self.off:
            return False
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        local = aware.astimezone(BEIJING).replace(tzinfo=None)
        return self._test()(local)

    def next_after(self, moment: datetime) -> datetime | None:
        """The first minute strictly after ``moment`` that matches (aware, UTC); None when off
        or nothing matches within a year and a day. Day by day, then hour, then minute."""
        if self.off:
            return None
        local = moment.astimezone(BEIJING).replace(second=0, microsecond=0, tzinfo=None)
        start = local + timedelta(minutes=1)
        by_day = self._test("minute", "hour")
        by_hour = self._test("minute")
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
