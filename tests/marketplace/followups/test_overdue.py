"""Overdue follow-ups are listed for staff and administrators over their own regions, a page at a
time, and reminded once each."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from marketplace.db import utcnow
from marketplace.followups import services
from marketplace.followups.models import FollowUp
from marketplace.notifications.models import Notification
from marketplace.roles import Role
from tests.conftest import World
from tests.marketplace.followups.conftest import months_ago


def _listed(html: str) -> set[int]:
    import re

    return {int(i) for i in re.findall(r'data-follow-up="(\d+)"', html)}


def _overdue(match: Any) -> set[int]:
    return {f.id for f in services.follow_ups_of(match) if f.due_on < services.beijing_today()}


def test_the_list_is_region_scoped(
    client_of: Any, db: Any, world: World, confirmed: Any, make_user: Any
) -> None:
    here = confirmed("goods", days_ago=months_ago(3) + 10)
    there = confirmed("goods", days_ago=months_ago(3) + 10, village=world.huining_village)
    upcoming = confirmed("jobs")  # nothing due yet
    here_ids, there_ids = _overdue(here), _overdue(there)
    assert len(here_ids) == len(there_ids) == 1
    expected = {
        "staff": here_ids, "admin": here_ids, "otherstaff": there_ids,
        "huiningadmin": there_ids, "auditor": here_ids | there_ids,
    }  # fmt: skip
    for username, ids in expected.items():
        page = client_of(username).get("/follow-ups/")
        assert page.status_code == 200, username
        html = page.get_data(as_text=True)
        assert _listed(html) == ids, username
        late = (services.beijing_today() - services.follow_ups_of(here)[0].due_on).days
        assert f"逾期 {late} 天" in html
    # staff see the name (their right, audited), the auditor only masked
    assert world.household.head_name[:1] + "**" in client_of("auditor").get("/follow-ups/").text
    staff_page = client_of("staff").get("/follow-ups/?show=upcoming").get_data(as_text=True)
    assert _listed(staff_page) == {f.id for f in services.follow_ups_of(upcoming)}
    assert client_of("donor").get("/follow-ups/").status_code == 403
    make_user(Role.SUPERUSER, username="root")
    assert _listed(client_of("root").get("/follow-ups/").get_data(as_text=True)) == (
        here_ids | there_ids
    )


def test_the_list_is_paginated_and_done_ones_are_listed_apart(
    app: Any, client_of: Any, db: Any, world: World, confirmed: Any, monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    matches = [confirmed("goods", days_ago=months_ago(3) + n) for n in range(1, 4)]
    staff = client_of("staff")
    first = staff.get("/follow-ups/").get_data(as_text=True)
    second = staff.get("/follow-ups/?page=2").get_data(as_text=True)
    oldest = services.follow_ups_of(matches[2])[0].id  # the most overdue first
    assert len(_listed(first)) == 2 and oldest in _listed(first)
    assert len(_listed(second)) == 1 and not _listed(first) & _listed(second)
    assert "show=overdue" in first and "page=2" in first
    follow_up = services.follow_ups_of(matches[0])[0]
    services.record(world.staff, follow_up, services.Outcome(
        visited_on=services.beijing_today(), effective=True))  # fmt: skip
    db.session.commit()
    assert _listed(staff.get("/follow-ups/?show=done").get_data(as_text=True)) == {follow_up.id}
    assert follow_up.id not in _listed(staff.get("/follow-ups/").get_data(as_text=True))


def _reminders(db: Any) -> list[tuple[int | None, int]]:
    rows = db.session.scalars(
        sa.select(Notification)
        .where(Notification.kind == "follow_ups_overdue")
        .order_by(Notification.id)
    )
    return [(n.user_id, n.params["count"]) for n in rows]


def test_overdue_follow_ups_are_reminded_once(
    db: Any, world: World, confirmed: Any, make_user: Any, villages: Any
) -> None:
    first = confirmed("goods", days_ago=months_ago(3) + 2)
    second = confirmed("jobs", days_ago=months_ago(1) + 2)
    not_due = confirmed("goods", days_ago=1)
    assert services.remind_overdue() == {"reminded": 2, "notified": 1}
    db.session.commit()
    assert _reminders(db) == [(world.staff.id, 2)]
    # a second run (or the next day's) sends nothing again
    assert services.remind_overdue() == {"reminded": 0, "notified": 0}
    db.session.commit()
    assert _reminders(db) == [(world.staff.id, 2)]
    # one that falls overdue later is reminded then, alone
    later = services.follow_ups_of(not_due)[0]
    db.session.execute(
        sa.update(FollowUp)
        .where(FollowUp.id == later.id)
        .values(due_on=services.beijing_today() - timedelta(days=1))
    )
    assert services.remind_overdue() == {"reminded": 1, "notified": 1}
    db.session.commit()
    assert _reminders(db)[-1] == (world.staff.id, 1)
    assert {f.reminded_at is not None for f in services.follow_ups_of(first)} == {True}
    assert len([f for f in services.follow_ups_of(second) if f.reminded_at]) == 1


def test_a_recorded_one_is_not_reminded_and_a_village_without_staff_tells_its_administrators(
    db: Any, world: World, confirmed: Any, make_user: Any
) -> None:
    done = confirmed("goods", days_ago=months_ago(3) + 1)
    services.record(world.staff, services.follow_ups_of(done)[0], services.Outcome(
        visited_on=services.beijing_today(), effective=True))  # fmt: skip
    root = make_user(Role.SUPERUSER, username="root")
    unstaffed = confirmed("goods", days_ago=months_ago(3) + 1, village=world.other_village,
                          staff=root)  # fmt: skip
    assert unstaffed.need.village == world.other_village
    assert services.remind_overdue() == {"reminded": 1, "notified": 1}
    db.session.commit()
    assert _reminders(db) == [(world.admin.id, 1)]


def test_two_runs_at_once_remind_each_follow_up_once(
    db: Any, world: World, confirmed: Any, monkeypatch: Any
) -> None:
    """Each follow-up is claimed by a compare-and-set on reminded_at: one that another run
    claimed after this run read it (here: while this run asks who the village's staff are) is
    skipped, not reminded twice."""
    first = services.follow_ups_of(confirmed("goods", days_ago=months_ago(3) + 2))[0]
    second = services.follow_ups_of(confirmed("goods", days_ago=months_ago(3) + 1))[0]
    asked = services.staff_of

    def meanwhile(village: Any) -> Any:
        db.session.execute(
            sa.update(FollowUp).where(FollowUp.id == second.id).values(reminded_at=utcnow())
        )
        return asked(village)

    monkeypatch.setattr(services, "staff_of", meanwhile)
    assert services.remind_overdue() == {"reminded": 1, "notified": 1}
    db.session.refresh(first)
    assert first.reminded_at is not None
    assert _reminders(db) == [(world.staff.id, 1)]


def test_the_household_page_says_where_each_aid_rows_follow_ups_stand(
    client_of: Any, db: Any, world: World, confirmed: Any
) -> None:
    late = confirmed("goods", days_ago=months_ago(3) + 10)  # its first check is overdue
    soon = confirmed("jobs")  # nothing due yet
    staff = client_of("staff")
    for match, overdue in ((late, True), (soon, False)):
        html = staff.get(f"/households/{match.need.household_id}").get_data(as_text=True)
        aid = html[html.find('id="aid"') :]
        aid = aid[: aid.find("</section>")]
        assert f"/matches/{match.id}/follow-ups" in aid
        ups = services.follow_ups_of(match)
        due = min(f.due_on for f in ups)
        row = aid[: aid.find(f"/matches/{match.id}/follow-ups")]
        row = row[row.rfind("已回访") :]
        assert row.startswith(f"已回访 0 / {len(ups)} 次 · 下次应回访 {due}"), row
        assert ("逾期" in row) is overdue, row
