"""Random spot checks: reproducible draws over a recorded population, the four checks, the
report and the administrators' answer."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from marketplace.attachments.services import attachments_of
from marketplace.audit.models import AuditEvent
from marketplace.errors import ServiceError
from marketplace.matches.models import Match, MatchStatus
from marketplace.oversight import spot_checks
from marketplace.oversight.models import CHECKS, Finding, SpotCheck, SpotCheckStatus
from tests.conftest import JINGYUAN, World
from tests.pages import find_form, submit, submit_on

TODAY = date.today()


@given(st.lists(st.integers(1, 10_000), unique=True, min_size=1, max_size=60),
       st.integers(1, 20), st.integers(0, 2**40))  # fmt: skip
def test_draw_is_reproducible_and_within_the_population(pop: list[int], size: int,
                                                        seed: int) -> None:  # fmt: skip
    sample = spot_checks.draw(pop, size, seed)
    assert sample == spot_checks.draw(list(reversed(pop)), size, seed)
    assert set(sample) <= set(pop) and len(sample) == min(size, len(pop))
    assert sample == sorted(sample)


@pytest.fixture
def matches(db: Any, world: World, villages: Any, make_need: Any) -> list[int]:
    ids = []
    for n, village in enumerate(villages(JINGYUAN)[:12]):
        need = make_need(village, None, title=f"抽查需求{n}", subcategory="infrastructure.water")
        match = Match(need=need, resource=world.resource, quantity=1,
                      status=MatchStatus.APPROVED if n % 2 else MatchStatus.CONFIRMED)  # fmt: skip
        db.session.add(match)
        db.session.flush()
        ids.append(match.id)
    db.session.commit()
    return ids


def test_auditor_draws_and_redraws_the_same_sample(
    client: Any, db: Any, login: Any, world: World, matches: list[int], region: Any
) -> None:
    login(world.auditor)
    form = {"region": str(world.auditor.regions[0].id), "period_start": str(TODAY - timedelta(1)),
            "period_end": str(TODAY), "category": "", "match_status": "", "sample_size": "4",
            "seed": "20261122"}  # fmt: skip
    assert client.post("/oversight/spot-checks/new", data=form).status_code == 302
    assert client.post("/oversight/spot-checks/new", data=form).status_code == 302
    first, second = db.session.scalars(sa.select(SpotCheck).order_by(SpotCheck.id)).all()
    assert first.sample == second.sample and len(first.sample) == 4
    assert set(first.population) == set(matches)
    page = client.get(f"/oversight/spot-checks/{first.id}").data.decode()
    assert "20261122" in page and "抽样可复现" in page
    only_confirmed = spot_checks.create(world.auditor, region(JINGYUAN), TODAY, TODAY, "",
                                        "confirmed", 50, 1)  # fmt: skip
    assert len(only_confirmed.population) == 6
    assert all(db.session.get(Match, m).status == MatchStatus.CONFIRMED
               for m in only_confirmed.sample)  # fmt: skip


def test_findings_report_and_answer(
    app: Any, client: Any, db: Any, login: Any, world: World, matches: list[int], region: Any
) -> None:
    check = spot_checks.create(world.auditor, region(JINGYUAN), TODAY, TODAY, "", "", 2, 7)
    db.session.commit()
    login(world.auditor)
    page = f"/oversight/spot-checks/{check.id}"
    for item in check.items:
        chosen = {"people": "found", "project": "found", "funds": "not_found",
                  "measures": "found", "note": "资金去向不明"}  # fmt: skip
        saved = submit(client, page, chosen, action=f"/items/{item.id}", button="保存核查结果")
        assert saved.status_code == 302
    db.session.refresh(check.items[0])
    assert check.items[0].funds == Finding.NOT_FOUND and check.items[0].note == "资金去向不明"
    # Everything is checked: the page's close button asks the browser to confirm, then closes.
    html = client.get(page).get_data(as_text=True)
    assert find_form(html, "/report").button("结束抽查").attrs.get("data-confirm")
    closed = submit_on(
        client, html, {"text": "发现一户资金未落实"}, action="/report", button="结束抽查"
    )
    assert closed.status_code == 302
    db.session.refresh(check)
    assert check.status == SpotCheckStatus.CLOSED and check.report == "发现一户资金未落实"
    item = check.items[0]
    findings = {"people": "found", "project": "found", "funds": "found", "measures": "found"}
    assert client.post(f"{page}/items/{item.id}", data=findings).status_code == 409  # closed
    admin = app.test_client()
    admin.post("/login", data={"username": "admin", "password": "testpass123"})
    assert "发现一户资金未落实" in admin.get(page).data.decode()
    empty = submit(admin, page, {"text": " "}, action="/answer", button="提交答复")
    assert empty.status_code == 400 and "请填写回复" in empty.get_data(as_text=True)
    assert (
        submit(admin, page, {"text": "已责令整改"}, action="/answer", button="提交答复").status_code
        == 302
    )
    db.session.refresh(check)
    assert check.reply == "已责令整改"
    other = app.test_client()
    other.post("/login", data={"username": "huiningadmin", "password": "testpass123"})
    assert other.get(page).status_code == 404


def test_saving_the_report_keeps_the_check_open(
    client: Any, db: Any, login: Any, world: World, matches: list[int], region: Any
) -> None:
    """The report's "保存" once closed the check for good with items unchecked."""
    check = spot_checks.create(world.auditor, region(JINGYUAN), TODAY, TODAY, "", "", 3, 7)
    db.session.commit()
    login(world.auditor)
    page = f"/oversight/spot-checks/{check.id}"
    saved = submit(
        client, page, {"text": "初步：第一户已走访"}, action="/report", button="保存草稿"
    )
    assert saved.status_code == 302
    db.session.refresh(check)
    assert check.status == SpotCheckStatus.OPEN and check.report == "初步：第一户已走访"
    html = client.get(page).get_data(as_text=True)
    assert "初步：第一户已走访" in html  # the draft comes back in the box
    # Findings can still be recorded after saving the draft.
    first = check.items[0]
    chosen = {"people": "found", "project": "found", "funds": "found", "measures": "found"}
    assert (
        submit(client, page, chosen, action=f"/items/{first.id}", button="保存核查结果").status_code
        == 302
    )


def test_closing_with_unchecked_items_asks_and_lists_them(
    client: Any, db: Any, login: Any, world: World, matches: list[int], region: Any
) -> None:
    check = spot_checks.create(world.auditor, region(JINGYUAN), TODAY, TODAY, "", "", 3, 7)
    db.session.commit()
    login(world.auditor)
    page = f"/oversight/spot-checks/{check.id}"
    first = check.items[0]
    partly = {"people": "found", "project": "found", "funds": "unchecked"}
    submit(
        client,
        page,
        {**partly, "measures": "found"},
        action=f"/items/{first.id}",
        button="保存核查结果",
    )
    html = client.get(page).get_data(as_text=True)
    assert "还有 3 个抽中的对接未完成核查" in html
    # With checks not done the button leads to the server's confirmation step, not a dialog.
    assert "data-confirm" not in str(find_form(html, "/report").button("结束抽查").attrs)
    step = submit_on(
        client, html, {"text": "时间所限，只查了一部分"}, action="/report", button="结束抽查"
    )
    assert step.status_code == 200
    step_html = step.get_data(as_text=True)
    assert "仍有核查未完成" in step_html or "未完成核查" in step_html
    for item in check.items:
        assert f"item-{item.id}" in step_html  # each unchecked match is listed, with a link
    assert "资金" in step_html  # and which check is missing on the first
    db.session.refresh(check)
    assert check.status == SpotCheckStatus.OPEN  # nothing closed yet
    assert check.report == "时间所限，只查了一部分"  # the text is kept as a draft
    # Going back and saving the draft from the step page keeps the check open.
    assert submit_on(client, step_html, action="/report", button="保存草稿").status_code == 302
    db.session.refresh(check)
    assert check.status == SpotCheckStatus.OPEN
    # Confirming closes it, and the audit event names what was left unchecked.
    closed = submit_on(client, step_html, action="/report", button="仍然结束")
    assert closed.status_code == 302
    db.session.refresh(check)
    assert check.status == SpotCheckStatus.CLOSED
    event = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "spot_check_closed")).one()  # fmt: skip
    assert sorted(event.after["unchecked"]) == sorted(i.match_id for i in check.items)
    with pytest.raises(ServiceError):
        spot_checks.save_draft(world.auditor, check, "改写")


def test_closing_needs_a_report_and_keeps_the_input(
    client: Any, db: Any, login: Any, world: World, matches: list[int], region: Any
) -> None:
    check = spot_checks.create(world.auditor, region(JINGYUAN), TODAY, TODAY, "", "", 1, 7)
    for name in CHECKS:
        setattr(check.items[0], name, Finding.FOUND)
    db.session.commit()
    login(world.auditor)
    page = f"/oversight/spot-checks/{check.id}"
    refused = submit(client, page, {"text": "   "}, action="/report", button="结束抽查")
    assert refused.status_code == 400 and "请填写核查报告" in refused.get_data(as_text=True)
    db.session.refresh(check)
    assert check.status == SpotCheckStatus.OPEN
    with pytest.raises(ServiceError) as unconfirmed:
        check.items[0].funds = Finding.UNCHECKED
        spot_checks.close(world.auditor, check, "报告")
    assert unconfirmed.value.status == 409


def test_bad_draws_are_refused(db: Any, world: World, matches: list[int], region: Any,
                               make_user: Any) -> None:  # fmt: skip
    for args in [(TODAY, TODAY - timedelta(1), "", "", 3, None), (TODAY, TODAY, "", "", 0, None),
                 (TODAY, TODAY, "nope", "", 3, None), (TODAY, TODAY, "", "flying", 3, None),
                 (TODAY - timedelta(30), TODAY - timedelta(20), "", "", 3, None)]:  # fmt: skip
        with pytest.raises(ServiceError):
            spot_checks.create(world.auditor, region(JINGYUAN), *args)
        db.session.rollback()
    with pytest.raises(ServiceError) as refused:
        spot_checks.create(world.admin, region(JINGYUAN), TODAY, TODAY, "", "", 3, None)
    assert refused.value.status == 403
    assert db.session.scalar(sa.select(sa.func.count(SpotCheck.id))) == 0


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def test_a_finding_may_carry_a_photo(client: Any, db: Any, login: Any, world: World,
                                     matches: list[int], region: Any) -> None:  # fmt: skip
    check = spot_checks.create(world.auditor, region(JINGYUAN), TODAY, TODAY, "", "", 2, 7)
    db.session.commit()
    login(world.auditor)
    item = check.items[0]
    page = f"/oversight/spot-checks/{check.id}"
    data = {"people": "found", "project": "found", "funds": "found", "measures": "not_found"}
    refused = submit(
        client,
        page,
        {**data, "photo": (io.BytesIO(b"MZ not an image"), "x.jpg")},
        action=f"/items/{item.id}",
        button="保存核查结果",
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400
    again = refused.get_data(as_text=True)
    assert again.count('value="not_found" selected') == 1  # the choices are kept, with a message
    assert 'class="invalid-feedback' in again or "alert-danger" in again
    db.session.refresh(item)
    assert item.measures == Finding.UNCHECKED  # nothing kept from the refused post
    saved = submit(
        client,
        page,
        {**data, "photo": (io.BytesIO(PNG), "site.png")},
        action=f"/items/{item.id}",
        button="保存核查结果",
        content_type="multipart/form-data",
    )
    assert saved.status_code == 302
    photos = attachments_of("match", item.match_id, spot_checks.photo_purpose(item))
    assert len(photos) == 1
    page = client.get(f"/oversight/spot-checks/{check.id}").get_data(as_text=True)
    assert f"/attachments/{photos[0].id}" in page
    served = client.get(f"/attachments/{photos[0].id}")
    assert served.data == PNG
    served.close()
    client.post("/logout")
    login(world.donor)  # a party to the match, but not to the check
    assert client.get(f"/attachments/{photos[0].id}").status_code == 404
    match_page = client.get(f"/matches/{item.match_id}").get_data(as_text=True)
    assert f"/attachments/{photos[0].id}" not in match_page
