"""Match pages: queues, actions by role, disclosure with masked names, objections, API-free."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from marketplace.matches import services
from marketplace.matches.models import Match, MatchStatus, Objection
from marketplace.timefmt import beijing_today
from tests.conftest import World


def test_approval_queue_and_decision(client: Any, db: Any, login: Any, world: World) -> None:
    match = services.pledge(world.donor, world.need, world.resource, 1)
    db.session.commit()
    login(world.admin)
    page = client.get("/matches/approvals").data.decode()
    assert world.need.title in page and world.household.head_name in page
    response = client.post(f"/matches/{match.id}/approve", data={"next": "queue"})
    assert response.status_code == 302
    db.session.refresh(match)
    assert match.status == MatchStatus.APPROVED
    assert client.post(f"/matches/{match.id}/approve", data={}).status_code == 409


def test_donor_and_other_regions_cannot_approve(
    app: Any, client: Any, db: Any, login: Any, world: World
) -> None:
    match = services.pledge(world.donor, world.need, world.resource, 1)
    db.session.commit()
    login(world.donor)
    assert client.post(f"/matches/{match.id}/approve").status_code == 403
    other = app.test_client()
    other.post("/login", data={"username": "huiningadmin", "password": "testpass123"})
    assert other.post(f"/matches/{match.id}/approve").status_code == 404
    assert other.get(f"/matches/{match.id}").status_code == 404


def test_disclosure_shows_masked_names_only(
    client: Any, db: Any, world: World, approved: Match
) -> None:
    page = client.get("/disclosure").data.decode()
    assert "张**" in page
    assert "张三丰" not in page
    assert world.household.head_id_number not in page and world.household.phone not in page
    assert world.org.name in page


def test_anyone_may_object_and_delivery_waits(
    app: Any, client: Any, db: Any, login: Any, world: World, approved: Match
) -> None:
    response = client.post(
        f"/disclosure/{approved.id}/objection", data={"reason": "该户已经有洗衣机", "contact": ""}
    )
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(Objection.id))) == 1
    short = client.post(f"/disclosure/{approved.id}/objection", data={"reason": "不"})
    assert short.status_code == 400
    donor = app.test_client()
    donor.post("/login", data={"username": "donor", "password": "testpass123"})
    assert donor.post(f"/matches/{approved.id}/deliver", data={"note": "x"}).status_code == 409
    db.session.refresh(approved)
    assert approved.status == MatchStatus.APPROVED


def test_delivery_confirmation_through_pages(
    app: Any, client: Any, db: Any, login: Any, world: World, approved: Match
) -> None:
    login(world.donor)
    assert (
        client.post(f"/matches/{approved.id}/deliver", data={"note": "已送达"}).status_code == 302
    )
    staff = app.test_client()
    staff.post("/login", data={"username": "staff", "password": "testpass123"})
    bad = {
        "received_quantity": "0",
        "received_on": beijing_today().isoformat(),
        "satisfaction": "5",
    }
    assert staff.post(f"/matches/{approved.id}/confirm", data=bad).status_code == 400
    good = {**bad, "received_quantity": "1", "feedback": "很好"}
    assert staff.post(f"/matches/{approved.id}/confirm", data=good).status_code == 302
    db.session.refresh(approved)
    assert approved.status == MatchStatus.CONFIRMED and approved.satisfaction == 5
    # The donor sees the outcome and feedback on the resource page.
    assert "很好" in client.get(f"/matches/{approved.id}").data.decode()


def test_pages_never_leak_personal_data_to_donors(
    client: Any, db: Any, login: Any, world: World, approved: Match
) -> None:
    login(world.donor)
    for path in (f"/matches/{approved.id}", "/matches/", f"/resources/{world.resource.id}",
                 f"/needs/{world.need.id}", "/needs/browse"):  # fmt: skip
        page = client.get(path).data.decode()
        assert "张三丰" not in page, path
        assert world.household.head_id_number not in page, path
        assert world.household.phone not in page, path


def test_notifications_page(
    client: Any, db: Any, login: Any, world: World, approved: Match
) -> None:
    login(world.donor)
    page = client.get("/notifications/").data.decode()
    assert "您的认领已审批通过" in page
    client.post("/notifications/read")
    from marketplace.notifications.services import unread_count

    assert unread_count(world.donor) == 0
