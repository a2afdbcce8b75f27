"""Times are stored in UTC and shown in Beijing time with the zone said; the rules that compare
a day someone typed with a stored moment compare Beijing days (issue 14)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import render_template_string
from flask_babel import force_locale

from marketplace import timefmt
from marketplace.audit import services as audit_services
from marketplace.errors import ServiceError
from marketplace.matches import services
from marketplace.matches.models import Match, MatchStatus
from tests.conftest import World
from tests.pages import find_form

# 17:30 UTC on 1 May is 01:30 on 2 May in Beijing: the UTC date and the Beijing date differ.
LATE_EVENING_UTC = datetime(2026, 5, 1, 17, 30, tzinfo=UTC)
MAY_1, MAY_2, MAY_3 = date(2026, 5, 1), date(2026, 5, 2), date(2026, 5, 3)


def test_conversion_near_midnight_utc() -> None:
    naive = LATE_EVENING_UTC.replace(tzinfo=None)  # a naive stored value is UTC
    for value in (LATE_EVENING_UTC, naive, "2026-05-01T17:30:00+00:00", "2026-05-01T17:30:00"):
        assert timefmt.beijing_text(value) == "2026-05-02 01:30"
        assert timefmt.beijing_day_of(value) == MAY_2
        assert timefmt.iso_utc(value) == "2026-05-01T17:30:00Z"
    assert timefmt.beijing_today(LATE_EVENING_UTC) == MAY_2
    assert timefmt.beijing_today(LATE_EVENING_UTC - timedelta(hours=2)) == MAY_1  # 23:30 Beijing
    # A Beijing day starts at 16:00 UTC the day before.
    assert timefmt.day_start_utc(MAY_2) == datetime(2026, 5, 1, 16, 0, tzinfo=UTC)
    assert timefmt.beijing_text(None) == "" and timefmt.beijing_date(None) == ""


def test_filters_say_the_zone_in_each_language(app: Any, client: Any) -> None:
    template = (
        "{{ t|beijing }}|{{ t|beijing_date }}|{{ t|beijing_time }}|"
        "{{ t|beijing_time(zone=False) }}|{{ none|beijing_time }}"
    )
    with app.test_request_context():
        shown = render_template_string(template, t=LATE_EVENING_UTC, none=None)
    plain, day, tagged, bare, empty = shown.split("|")
    assert plain == "2026-05-02 01:30（北京时间）"
    assert day == "2026-05-02"
    tag = '<time datetime="2026-05-01T17:30:00Z">2026-05-02 01:30</time>'
    assert tagged == tag + "（北京时间）"
    assert bare == tag and empty == ""
    with app.test_request_context(), force_locale("en"):
        assert render_template_string("{{ t|beijing }}", t=LATE_EVENING_UTC) == (
            "2026-05-02 01:30 (Beijing time)"
        )


def _visible(html: str) -> str:
    """The page's text, without its tags and their attributes (``<time datetime>`` is UTC)."""
    return re.sub(r"<[^>]*>", " ", html)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Sets what ``utcnow`` answers for the services and for Beijing's today."""

    def at(moment: datetime) -> None:
        for module in (timefmt, services, audit_services):
            monkeypatch.setattr(module, "utcnow", lambda: moment)

    return at


def _valid_in_may(db: Any, world: World) -> None:
    world.resource.valid_from = date(2026, 4, 1)  # and still valid on the real today
    world.resource.delivery_deadline = None
    db.session.commit()


def _delivered_at_night(db: Any, world: World, clock: Any) -> Match:
    """Approved and delivered at 17:30 UTC on 1 May: 01:30 on 2 May in Beijing."""
    _valid_in_may(db, world)
    clock(LATE_EVENING_UTC)
    match = services.pledge(world.donor, world.need, world.resource, 1)
    services.approve(world.admin, match)
    services.deliver(world.donor, match, "")
    db.session.commit()
    clock(LATE_EVENING_UTC + timedelta(minutes=15))  # confirmed a quarter of an hour later
    return match


def test_confirmation_compares_beijing_days(db: Any, world: World, clock: Any) -> None:
    """In Beijing it is already 2 May: that day is neither in the future nor before the
    approval; 1 May is before it (the UTC date of the approval said otherwise), 3 May is to come."""
    match = _delivered_at_night(db, world, clock)
    for day, message in ((MAY_1, "收到日期不能早于审批日期。"), (MAY_3, "收到日期不能晚于今天。")):
        with pytest.raises(ServiceError) as refused:
            services.confirm(world.staff, match, received_quantity=1, received_on=day,
                             satisfaction=5, feedback="")  # fmt: skip
        assert refused.value.field == "received_on" and str(refused.value.message) == message
        db.session.rollback()
    services.confirm(world.staff, match, received_quantity=1, received_on=MAY_2,
                     satisfaction=5, feedback="")  # fmt: skip
    db.session.commit()
    assert match.status == MatchStatus.CONFIRMED and match.received_on == MAY_2


def test_the_confirmation_form_takes_the_beijing_day(
    client: Any, db: Any, login: Any, world: World, clock: Any
) -> None:
    """Posted as the page posts it: 2 May is accepted at 01:45 Beijing time, 1 May comes back
    at its field in Chinese with the input kept."""
    match = _delivered_at_night(db, world, clock)
    login(world.staff)
    page = f"/matches/{match.id}"
    html = client.get(page).data.decode()
    text = _visible(html)
    assert "2026-05-02" in text and "2026-05-01" not in text  # delivered on 2 May, Beijing
    form = find_form(html, action="/confirm", page=page)
    typed = {"received_quantity": "1", "satisfaction": "5", "feedback": "收到了"}
    refused = client.post(form.target(page), data=form.data(received_on="2026-05-01", **typed))
    assert refused.status_code == 400
    shown = refused.data.decode()
    assert "收到日期不能早于审批日期。" in shown
    assert 'value="2026-05-01"' in shown
    accepted = client.post(form.target(page), data=form.data(received_on="2026-05-02", **typed))
    assert accepted.status_code == 302
    db.session.refresh(match)
    assert match.status == MatchStatus.CONFIRMED


def test_pages_show_beijing_time(
    client: Any, db: Any, login: Any, world: World, clock: Any
) -> None:
    """The match page, the disclosure page and the report page."""
    _valid_in_may(db, world)
    clock(LATE_EVENING_UTC)
    match = services.pledge(world.donor, world.need, world.resource, 1)
    match.created_at = LATE_EVENING_UTC  # the column's default reads the real clock
    db.session.commit()
    login(world.admin)
    html = client.get(f"/matches/{match.id}").data.decode()
    assert "2026-05-02" in _visible(html) and "2026-05-01" not in _visible(html)
    assert '<time datetime="2026-05-01T17:30:00Z">2026-05-02 01:30</time>' in html  # history
    services.approve(world.admin, match)  # disclosed until 9 May in Beijing (8 May 17:30 UTC)
    db.session.commit()
    disclosure = _visible(client.get("/disclosure").data.decode())
    assert "2026-05-09" in disclosure and "2026-05-08" not in disclosure
    report = client.get("/reports/?month=2026-05").data.decode()
    assert "(UTC)" not in report and "（UTC）" not in report
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d（北京时间）", report)
