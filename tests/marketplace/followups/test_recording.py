"""Staff record a follow-up on the form the page shows: its questions per kind of help, refusals
at the field with the input kept, once only, an optional photo; the donor sees the outcome on
the match page, never staff's note."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from marketplace.attachments.models import Attachment
from marketplace.followups import services
from marketplace.followups.models import FollowUp, FollowUpStatus
from marketplace.notifications.models import Notification
from marketplace.timefmt import beijing_today
from tests.conftest import World
from tests.marketplace.followups.conftest import months_ago
from tests.pages import find_form, forms_of, submit

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _page(match: Any) -> str:
    return f"/matches/{match.id}/follow-ups"


def _record_form(html: str) -> Any:
    found = [f for f in forms_of(html) if f.method == "post" and "visited_on" in f.names]
    assert found, "no record form on the page"
    return found[0]


def test_staff_record_a_jobs_follow_up_and_the_wage_counts_for_the_months_covered(
    client: Any, db: Any, login: Any, world: World, confirmed: Any
) -> None:
    match = confirmed("jobs", days_ago=months_ago(3) + 5)
    login(world.staff)
    page = client.get(_page(match)).get_data(as_text=True)
    form = _record_form(page)
    assert {"visited_on", "effective", "amount", "note", "photo"} <= form.names
    assert "producing" not in form.names  # jobs do not ask it
    assert "是否仍在岗就业？" in page and "月工资（元）" in page
    assert form.field("effective").options == ["", "yes", "no"]
    done = submit(client, _page(match), {"effective": "yes", "amount": "2,800"})
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    first, second, third = services.follow_ups_of(match)
    assert first.status == FollowUpStatus.DONE and first.months == 1
    assert first.effective is True and first.answers["amount"] == "2800.00"
    assert first.income == Decimal("2800.00")  # one month covered
    assert first.visited_on == beijing_today() and first.recorded_by_id == world.staff.id
    # the next one (3 months) is open too: it counts the two months since the first check
    done = submit(client, _page(match), {"effective": "yes", "amount": "3000", "note": "转正了"})
    assert done.status_code == 302
    db.session.refresh(second)
    assert second.status == FollowUpStatus.DONE and second.income == Decimal("6000.00")
    assert second.note == "转正了"
    db.session.refresh(third)
    assert third.status == FollowUpStatus.SCHEDULED  # due in 3 months: not open yet
    assert "visited_on" not in " ".join(
        " ".join(f.names) for f in forms_of(client.get(_page(match)).get_data(as_text=True))
    )
    donor_told = db.session.scalars(
        sa.select(Notification).where(
            Notification.user_id == world.donor.id, Notification.kind == "follow_up_recorded"
        )
    ).all()
    assert len(donor_told) == 2


def test_refusals_are_at_the_field_with_the_input_kept(
    client: Any, db: Any, login: Any, world: World, confirmed: Any
) -> None:
    match = confirmed("jobs", days_ago=months_ago(1) + 3)
    login(world.staff)
    # employed but no wage
    refused = submit(client, _page(match), {"effective": "yes", "amount": "", "note": "在厂里"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    amount = html.split('name="amount"', 1)[1].split("</div>", 2)
    assert "请填写金额（元），例如 2800。" in "".join(amount[:2])
    assert "在厂里" in html  # the note kept
    # not a number: at the amount, what was typed kept
    refused = submit(client, _page(match), {"effective": "yes", "amount": "两千八"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and 'value="两千八"' in html
    assert "请填写金额（元），例如 2800。" in html
    # a visit in the future
    tomorrow = beijing_today().toordinal() + 1
    from datetime import date

    refused = submit(
        client, _page(match),
        {"effective": "no", "visited_on": date.fromordinal(tomorrow).isoformat()},
    )  # fmt: skip
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "回访日期不能晚于今天。" in html
    assert date.fromordinal(tomorrow).isoformat() in html
    # a visit long before the check (the month after the help arrived is not the check at 1)
    early = match.received_on.isoformat()
    refused = submit(client, _page(match), {"effective": "yes", "amount": "1", "visited_on": early})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "1 个月回访的入户日期应在" in html
    # the question not answered
    refused = submit(client, _page(match), {"effective": ""})
    assert refused.status_code == 400 and "请回答此问题。" in refused.get_data(as_text=True)
    assert all(f.status == FollowUpStatus.SCHEDULED for f in services.follow_ups_of(match))


def test_livestock_asks_whether_producing_and_the_income(
    client: Any, db: Any, login: Any, world: World, confirmed: Any
) -> None:
    match = confirmed("livestock", days_ago=months_ago(6) + 1)
    login(world.staff)
    form = _record_form(client.get(_page(match)).get_data(as_text=True))
    assert {"effective", "producing", "amount"} <= form.names
    refused = submit(client, _page(match), {"effective": "yes", "producing": ""})
    assert refused.status_code == 400
    done = submit(client, _page(match), {"effective": "yes", "producing": "yes", "amount": "1500"})
    assert done.status_code == 302
    six = services.follow_ups_of(match)[0]
    assert six.answers == {"effective": True, "producing": True, "amount": "1500.00"}
    assert six.income == Decimal("1500.00")


def test_a_follow_up_is_recorded_once_and_not_before_it_opens(
    app: Any, client: Any, db: Any, login: Any, world: World, confirmed: Any
) -> None:
    fresh = confirmed("goods")  # due in 3 months
    login(world.staff)
    page = client.get(_page(fresh)).get_data(as_text=True)
    assert not [f for f in forms_of(page) if "visited_on" in f.names]
    assert client.post(_page(fresh), data={"effective": "yes"}).status_code == 409
    due = confirmed("goods", days_ago=months_ago(3))
    html = client.get(_page(due)).get_data(as_text=True)
    form = _record_form(html)
    data = form.data(effective="yes")
    assert client.post(_page(due), data=data).status_code == 302
    # the same form posted again (a second tab): refused, nothing changed
    again = client.post(_page(due), data=data)
    assert again.status_code == 409
    recorded = services.follow_ups_of(due)[0]
    assert recorded.status == FollowUpStatus.DONE


def test_a_stale_or_tampered_follow_up_is_refused(
    client: Any, db: Any, login: Any, world: World, confirmed: Any
) -> None:
    match = confirmed("jobs", days_ago=months_ago(3) + 1)
    login(world.staff)
    form = _record_form(client.get(_page(match)).get_data(as_text=True))
    first = services.follow_ups_of(match)[0]
    stale = form.data(effective="yes", amount="2500", follow_up=str(first.id + 1))
    refused = client.post(_page(match), data=stale)
    assert refused.status_code == 409
    assert "这不是当前应记录的回访，请刷新页面。" in refused.get_data(as_text=True)
    assert 'value="2500"' in refused.get_data(as_text=True)
    db.session.refresh(first)
    assert first.status == FollowUpStatus.SCHEDULED


def test_only_the_villages_staff_record(
    client_of: Any, db: Any, world: World, confirmed: Any
) -> None:
    match = confirmed("goods", days_ago=months_ago(3))
    for username, status in (("donor", 403), ("admin", 403), ("otherstaff", 404)):
        browser = client_of(username)
        page = browser.get(_page(match))
        assert page.status_code == (404 if status == 404 else 200), username
        if page.status_code == 200:
            assert not [f for f in forms_of(page.get_data(as_text=True)) if "visited_on" in f.names]
        answer = browser.post(_page(match), data={"effective": "yes", "visited_on": "2026-01-01"})
        assert answer.status_code == status, username
    assert services.follow_ups_of(match)[0].status == FollowUpStatus.SCHEDULED


def test_the_photo_is_kept_with_the_match_and_the_donor_sees_the_outcome_not_the_note(
    client: Any, client_of: Any, db: Any, login: Any, world: World, confirmed: Any
) -> None:
    from io import BytesIO

    match = confirmed("goods", days_ago=months_ago(3) + 2)
    login(world.staff)
    html = client.get(_page(match)).get_data(as_text=True)
    form = _record_form(html)
    assert form.enctype == "multipart/form-data"
    data = form.data(effective="yes", note="户主患慢性病，洗衣机由女儿使用")
    data["photo"] = (BytesIO(PNG), "washer.png")
    done = client.post(_page(match), data=data, content_type="multipart/form-data")
    assert done.status_code == 302
    recorded = services.follow_ups_of(match)[0]
    photo = db.session.get(Attachment, recorded.photo_id)
    assert photo is not None and photo.owner_type == "match" and photo.purpose == "follow_up"
    staff_page = client.get(f"/matches/{match.id}").get_data(as_text=True)
    assert "户主患慢性病" in staff_page and "跟踪问效" in staff_page
    donor = client_of("donor")
    donor_page = donor.get(f"/matches/{match.id}").get_data(as_text=True)
    assert 'id="follow-ups"' in donor_page and "是否仍在使用？" in donor_page
    assert "户主患慢性病" not in donor_page  # staff's note: personal data
    with donor.get(f"/attachments/{photo.id}") as shown:
        assert shown.status_code == 200 and shown.data == PNG
    assert client_of("otherstaff").get(f"/attachments/{photo.id}").status_code == 404
    form_page = find_form(html, None)
    assert form_page.method == "post"


def test_a_refused_photo_is_at_the_photo_field(
    client: Any, db: Any, login: Any, world: World, confirmed: Any
) -> None:
    from io import BytesIO

    match = confirmed("goods", days_ago=months_ago(3))
    login(world.staff)
    form = _record_form(client.get(_page(match)).get_data(as_text=True))
    data = form.data(effective="yes", note="拍照")
    data["photo"] = (BytesIO(b"not an image at all"), "x.png")
    refused = client.post(_page(match), data=data, content_type="multipart/form-data")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "拍照" in html
    assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0
    assert (
        db.session.scalar(
            sa.select(sa.func.count(FollowUp.id)).where(FollowUp.status == FollowUpStatus.DONE)
        )
        == 0
    )
