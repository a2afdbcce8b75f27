"""Beijing time for people, UTC for storage.

Every timestamp is stored in UTC (``db.utcnow``; a naive value read back is UTC). People read
and type Beijing time (Asia/Shanghai, UTC+8 all year: China has kept no summer time since 1991),
and so do the rules that compare a day someone typed with a stored moment: "not in the future",
"not before the approval". This module is the one place that converts; templates use its filters
(``beijing``, ``beijing_date``, ``beijing_time``), services ``beijing_today`` and ``to_beijing``.

Outside the layers: imports no domain.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

from flask_babel import gettext as _
from markupsafe import Markup, escape

from marketplace.db import utcnow

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
MINUTES = "%Y-%m-%d %H:%M"


def _moment(value: datetime | str) -> datetime:
    """An aware datetime from a stored value: naive means UTC; ISO text is read too."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def to_beijing(value: datetime | str) -> datetime:
    return _moment(value).astimezone(BEIJING)


def beijing_today(now: datetime | None = None) -> date:
    """Today's date in Beijing (at 01:30 Beijing time UTC still shows the day before)."""
    return to_beijing(now or utcnow()).date()


def beijing_day_of(value: datetime | str) -> date:
    """The Beijing calendar day a stored moment falls on."""
    return to_beijing(value).date()


def day_start_utc(day: date) -> datetime:
    """The first instant of a Beijing calendar day, in UTC (00:00 Beijing is 16:00 UTC the
    day before): ``created_at >= day_start_utc(first)`` and ``< day_start_utc(last + 1 day)``
    select the days typed."""
    return datetime.combine(day, time(0), BEIJING).astimezone(UTC)


def iso_utc(value: datetime | str) -> str:
    """The moment as ISO 8601 in UTC ("2024-05-01T17:30:00Z"), for ``<time datetime>`` and
    exports that machines read."""
    return _moment(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def beijing_text(value: datetime | str | None, fmt: str = MINUTES) -> str:
    """The moment in Beijing time without the zone ("2024-05-02 01:30"); "" for None."""
    return "" if value is None or value == "" else to_beijing(value).strftime(fmt)


# --- template filters ------------------------------------------------------------------------


def beijing(value: datetime | str | None) -> str:
    """``{{ t|beijing }}``: "2024-05-02 01:30（北京时间）", the zone marked; "" for None. Plain
    text, for use inside a sentence."""
    if value is None or value == "":
        return ""
    return _("%(time)s (Beijing time)", time=beijing_text(value))


def beijing_date(value: datetime | str | None) -> str:
    """``{{ t|beijing_date }}``: the Beijing calendar day "2024-05-02"; "" for None."""
    return beijing_text(value, "%Y-%m-%d")


def beijing_time(value: datetime | str | None, zone: bool = True, fmt: str = MINUTES) -> Markup:
    """``{{ t|beijing_time }}``: ``<time datetime="…Z">2024-05-02 01:30</time>（北京时间）``,
    the machine-readable UTC moment beside the Beijing one; ``zone=False`` where the page
    says once that its times are Beijing time."""
    if value is None or value == "":
        return Markup("")
    shown = escape(beijing_text(value, fmt))
    tag = Markup('<time datetime="{}">{}</time>').format(iso_utc(value), shown)
    if not zone:
        return tag
    return Markup(escape(_("%(time)s (Beijing time)"))) % {"time": tag}


FILTERS = {"beijing": beijing, "beijing_date": beijing_date, "beijing_time": beijing_time}
