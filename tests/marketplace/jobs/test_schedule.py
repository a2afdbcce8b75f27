"""Schedules are crontab lines read in Beijing time; "off" turns a task off; a bad one stops
the start naming its setting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from marketplace import create_app
from marketplace.config import ConfigError
from marketplace.jobs.engine import runs_in_process, store_kind
from marketplace.jobs.schedule import Schedule, ScheduleError
from marketplace.timefmt import BEIJING
from tests.conftest import base_config, database_url


def test_the_first_of_the_month_is_beijings() -> None:
    monthly = Schedule.parse("0 1 1 * *")
    # 01:00 on 1 December in Beijing is 17:00 UTC on 30 November.
    assert monthly.matches(datetime(2026, 11, 30, 17, 0))  # naive: Huey's UTC clock
    assert monthly.matches(datetime(2026, 11, 30, 17, 0, 30, tzinfo=UTC))
    assert not monthly.matches(datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    assert monthly.next_after(datetime(2026, 11, 15, tzinfo=UTC)) == datetime(
        2026, 11, 30, 17, 0, tzinfo=UTC
    )
    # Strictly after: the minute itself gives the next month's.
    assert monthly.next_after(datetime(2026, 11, 30, 17, 0, 5, tzinfo=UTC)) == datetime(
        2026, 12, 31, 17, 0, tzinfo=UTC
    )


def test_every_ten_minutes_and_off() -> None:
    every = Schedule.parse(" */10  *  * * * ")
    assert every.text == "*/10 * * * *"
    assert every.next_after(datetime(2026, 11, 30, 23, 55, tzinfo=UTC)) == datetime(
        2026, 12, 1, 0, 0, tzinfo=UTC
    )
    off = Schedule.parse("OFF")
    assert off.off and off.next_after(datetime.now(UTC)) is None
    assert not off.matches(datetime.now(UTC))


@pytest.mark.parametrize("text", ["", "* * * *", "61 * * * *", "x * * * *", "* * 32 * *"])
def test_bad_schedules_are_refused(text: str) -> None:
    with pytest.raises(ScheduleError):
        Schedule.parse(text)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("JOBS_SCHEDULE_EXPIRE", "every ten minutes", "crontab"),
        ("JOBS_URL", "amqp://queue", "redis://"),
        ("JOBS_NAME", "a b", "letters"),
        ("JOBS_IN_PROCESS", "sometimes", "auto, on or off"),
    ],
)
def test_a_bad_setting_stops_the_start_naming_it(name: str, value: str, says: str) -> None:
    config = base_config(database_url())
    config[name] = value
    with pytest.raises(ConfigError) as refused:
        create_app(config)
    assert refused.value.name == name and says in str(refused.value)


def test_the_store_decides_where_the_worker_runs(app: Any) -> None:
    assert store_kind({"JOBS_URL": "sqlite:////tmp/jobs.db"}) == "sqlite"
    assert store_kind({"JOBS_URL": "redis://127.0.0.1:6379/0"}) == "redis"
    assert store_kind({"JOBS_URL": "redis://x", "JOBS_IMMEDIATE": True}) == "immediate"
    assert runs_in_process(app)  # the default: embedded store, worker threads in serve
    for word, url, expected in [("auto", "redis://127.0.0.1:6379/0", False),
                                ("off", "sqlite:////tmp/j.db", False),
                                ("on", "redis://127.0.0.1:6379/0", True)]:  # fmt: skip
        saved = dict(app.config)
        app.config.update(JOBS_IN_PROCESS=word, JOBS_URL=url)
        try:
            assert runs_in_process(app) is expected
        finally:
            app.config.update(saved)


LINES = ["*/10 * * * *", "0 1 1 * *", "5,35 8-18 * * 1-5", "0 22-2/2 * * *",
         "30 3 * 2-11/3 0,7", "0 0 29-3 * 5-1", "59 23 31 12 4", "*/7 */5 */9 */4 *",
         "1-59/15 0 1,15 * *", "0 9 * * 7"]  # fmt: skip
REFUSED = ["*/0 * * * *", "1-2/0 * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *",
           "* * * 13 *", "* * * * 8", "* * * * */2", "a * * * *", "1- * * * *", "-1 * * * *",
           "1,,2 * * * *", "* * * * 1-8", "*/x * * * *"]  # fmt: skip


@pytest.mark.parametrize("line", LINES)
def test_lines_match_the_minutes_hueys_crontab_matches(line: str) -> None:
    """The schedule reads lines itself (so that a start does not import Huey): every minute of
    a year, sampled, answers as Huey's strict crontab does."""
    from huey import crontab

    huey_test = crontab(**dict(zip(("minute", "hour", "day", "month", "day_of_week"),
                                   line.split(), strict=True)), strict=True)  # fmt: skip
    schedule = Schedule.parse(line)
    minute = datetime(2026, 1, 1)
    while minute.year == 2026:
        expected = huey_test(minute)
        utc = minute.replace(tzinfo=BEIJING).astimezone(UTC)
        assert schedule.matches(utc) is expected, (line, minute)
        minute += timedelta(minutes=13)  # coprime with 60: every minute of the hour comes up
    # The rare minutes the sampling may step over: the next ones found are Huey's matches too.
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    for round_ in range(5):
        found = schedule.next_after(moment)
        if found is None and round_ > 0:  # none within a year and a day (59 23 31 12 4)
            break
        assert found is not None and found > moment
        assert huey_test(found.astimezone(BEIJING).replace(tzinfo=None)), (line, found)
        moment = found


@pytest.mark.parametrize("line", REFUSED)
def test_lines_huey_refuses_are_refused(line: str) -> None:
    from huey import crontab

    with pytest.raises(ValueError):
        crontab(**dict(zip(("minute", "hour", "day", "month", "day_of_week"),
                           line.split(), strict=True)), strict=True)  # fmt: skip
    with pytest.raises(ScheduleError):
        Schedule.parse(line)
