"""An objection's outcome reaches the objector (e-mail contact, or in the app when signed in)
and is shown, masked, on the public disclosure page."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from marketplace.matches import services
from marketplace.matches.models import Match, MatchStatus, Objection
from marketplace.notifications import services as notifications
from marketplace.notifications.models import Notification
from tests.conftest import World
from tests.pages import submit


class FakeSMTP:
    sent: list[Any] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __enter__(self) -> FakeSMTP:
        return self

    def __exit__(self, *args: Any) -> None:
        pass

    def starttls(self) -> None:
        pass

    def login(self, *args: Any) -> None:
        pass

    def send_message(self, message: Any) -> None:
        FakeSMTP.sent.append(message)


def test_anonymous_objector_with_an_email_is_told_and_the_public_sees_it_masked(
    client_of: Any, app: Any, client: Any, db: Any, world: World, approved: Match, monkeypatch: Any
) -> None:
    page = f"/disclosure/{approved.id}/objection"
    filed = submit(
        client,
        page,
        {"reason": "该户去年已领过洗衣机", "contact": "zhang@example.com"},
        action="/objection",
        button="提出异议",
    )
    assert filed.status_code == 302
    objection = db.session.scalars(sa.select(Objection)).one()
    assert f"#{objection.id}" in client.get("/disclosure").get_data(as_text=True)  # the flash
    admin = client_of("admin")
    reason = f"经核实{world.household.head_name}家未领过，电话 13912345678 可查"
    dismissed = submit(
        admin, f"/matches/{approved.id}", {"reason": reason}, action="/dismiss", button="异议不成立"
    )
    assert dismissed.status_code == 302
    note = db.session.scalars(sa.select(Notification).where(Notification.user_id.is_(None))).one()
    assert note.email == "zhang@example.com" and note.kind == "objection_dismissed"
    assert "13912345678" not in note.params["reason"]
    assert world.household.head_name not in note.params["reason"]
    # The e-mail goes out with the cron job, with an absolute link to the public page.
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.com")
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://fupin.example.cn")
    monkeypatch.setattr(notifications.smtplib, "SMTP", FakeSMTP)
    FakeSMTP.sent = []
    assert notifications.send_pending_emails() >= 1
    db.session.commit()
    to_objector = [m for m in FakeSMTP.sent if m["To"] == "zhang@example.com"]
    assert len(to_objector) == 1
    body = to_objector[0].get_content()
    assert f"#{objection.id}" in body and "https://fupin.example.cn/disclosure" in body
    assert notifications.send_pending_emails() == 0  # sent once
    # The public page shows the outcome and the reason, masked, and nothing of the objector.
    public = app.test_client().get("/disclosure").get_data(as_text=True)
    row = public[public.index(f'id="objection-{objection.id}"') :]
    row = row[: row.index("</tr>")]
    assert "异议不成立" in row and "未领过" in row
    assert "13912345678" not in public and world.household.head_name not in public
    assert "zhang@example.com" not in public and "该户去年已领过洗衣机" not in public
    assert "张**" in row


def test_signed_in_objector_gets_an_in_app_notification(
    client_of: Any, app: Any, db: Any, world: World, approved: Match
) -> None:
    objector = client_of("otherstaff")
    page = f"/disclosure/{approved.id}/objection"
    assert (
        submit(
            objector, page, {"reason": "该户不是建档立卡户"}, action="/objection", button="提出异议"
        ).status_code
        == 302
    )
    admin = client_of("admin")
    upheld = submit(
        admin,
        f"/matches/{approved.id}",
        {"reason": "核实后确非建档立卡户"},
        action="/uphold",
        button="异议成立并取消对接",
    )
    assert upheld.status_code == 302
    db.session.refresh(approved)
    assert approved.status == MatchStatus.CANCELLED
    inbox = objector.get("/notifications/").get_data(as_text=True)
    assert "核实后确非建档立卡户" in inbox and "异议" in inbox
    public = app.test_client().get("/disclosure").get_data(as_text=True)
    assert "核实后确非建档立卡户" in public and "对接已取消" in public


def test_a_telephone_contact_is_left_to_the_administrators(
    app: Any, db: Any, world: World, approved: Match
) -> None:
    objection = services.file_objection(approved, "该户已经有洗衣机了", "13800001111", None)
    services.resolve_objection(world.admin, objection, False, "已核实")
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id.is_(None))) == 0  # fmt: skip
    assert notifications.is_email("a.b@example.com") and not notifications.is_email("138 0000")


def test_a_refused_objection_keeps_the_text(
    client: Any, db: Any, world: World, approved: Match
) -> None:
    page = f"/disclosure/{approved.id}/objection"
    refused = submit(
        client,
        page,
        {"reason": "不", "contact": "zhang@example.com"},
        action="/objection",
        button="提出异议",
    )
    assert refused.status_code == 400
    assert "zhang@example.com" in refused.get_data(as_text=True)
