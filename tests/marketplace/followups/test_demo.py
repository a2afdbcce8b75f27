"""The demo's follow-ups: help given months ago, some follow-ups recorded, some overdue, one
due later; the donors' impact pages show real figures; loading twice adds nothing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from marketplace.demo import DEMO_PASSWORD, load_demo
from marketplace.followups.models import FollowUp, FollowUpStatus
from marketplace.households.models import Household
from marketplace.timefmt import beijing_today


def test_the_demo_follows_help_up_and_the_impact_pages_show_it(app: Any, db: Any) -> None:
    counts = load_demo()
    db.session.commit()
    assert counts["follow-ups recorded"] == 10
    today = beijing_today()
    rows = db.session.scalars(sa.select(FollowUp)).all()
    done = [f for f in rows if f.status == FollowUpStatus.DONE]
    overdue = [f for f in rows if f.status == FollowUpStatus.SCHEDULED and f.due_on < today]
    upcoming = [f for f in rows if f.status == FollowUpStatus.SCHEDULED and f.due_on >= today]
    assert len(done) == 10 and overdue and upcoming
    assert any(f.effective is False for f in done) and any(f.months == 12 for f in done)
    assert load_demo()["follow-ups recorded"] == 0  # idempotent
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(FollowUp.id))) == len(rows)

    browser = app.test_client()
    browser.post("/login", data={"username": "party_history", "password": DEMO_PASSWORD})
    page = browser.get("/impact/").get_data(as_text=True)
    figures = page.split('id="impact-figures"', 1)[1].split('id="impact-follow-ups"', 1)[0]
    assert ">4<" in figures  # four households given jobs
    follow_ups = page.split('id="impact-follow-ups"', 1)[1].split("</div>\n<p", 1)[0]
    assert ">7<" in follow_ups  # seven checks recorded
    assert "就业" in page and "元" in page
    for household in db.session.scalars(sa.select(Household).limit(400)):
        assert household.head_name not in page
    staff = app.test_client()
    staff.post("/login", data={"username": "city_admin", "password": DEMO_PASSWORD})
    listed = staff.get("/follow-ups/").get_data(as_text=True)
    assert listed.count("data-follow-up=") == len(overdue)
