"""The match page shows the current state beside the history; refused actions come back with
their input; final actions ask for confirmation through a same-origin script."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from marketplace.matches import services
from marketplace.matches.models import Match, MatchStatus
from marketplace.needs.models import NeedStatus
from marketplace.timefmt import beijing_today
from tests.conftest import World
from tests.pages import find_form, forms_on, submit


def _section(html: str, section_id: str) -> str:
    found = re.search(rf'<section[^>]*id="{section_id}".*?</section>', html, re.S)
    assert found, section_id
    return found.group(0)


def test_after_redelivery_the_old_delivery_and_report_are_history(
    client_of: Any, app: Any, db: Any, world: World, approved: Match
) -> None:
    page = f"/matches/{approved.id}"
    donor, staff, admin = (client_of(n) for n in ("donor", "staff", "admin"))
    assert (
        submit(
            donor, page, {"note": "第一次送货上门"}, action="/deliver", button="标记为已交付"
        ).status_code
        == 302
    )
    reported = submit(
        staff, page, {"reason": "农户说没有收到洗衣机"}, action="/non-receipt", button="报告未收到"
    )
    assert reported.status_code == 302
    resolved = submit(
        admin,
        page,
        {"outcome": "redeliver", "reason": "送错了村，重新送"},
        action="/resolve",
        button="记录处理结果",
    )
    assert resolved.status_code == 302
    db.session.refresh(approved)
    assert approved.status == MatchStatus.APPROVED
    assert approved.delivered_at is None and approved.dispute_reason == ""
    for reader in (donor, staff, admin):
        html = reader.get(page).get_data(as_text=True)
        now = _section(html, "current-state")
        assert "已审批" in now and "等待送达" in now
        assert "第一次送货上门" not in now and "农户说没有收到洗衣机" not in now
        history = _section(html, "history")
        for text in (
            "第一次送货上门",
            "农户说没有收到洗衣机",
            "送错了村，重新送",
            "纠纷已处理：重新送达",
        ):
            assert text in history, text
        # The steps come in order, the last one marked as the current state.
        order = [history.index(t) for t in ("已认领", "标记已送达", "报告未收到", "纠纷已处理")]
        assert order == sorted(order)
        assert history.count("当前") == 1
    # The donor can deliver again from the same page.
    again = donor.get(page).get_data(as_text=True)
    assert find_form(again, "/deliver")


def test_a_refused_confirmation_comes_back_with_the_input(
    client_of: Any, app: Any, db: Any, world: World, approved: Match
) -> None:
    services.deliver(world.donor, approved, "已送达")
    db.session.commit()
    staff = client_of("staff")
    page = f"/matches/{approved.id}"
    typed = {"received_quantity": "5", "received_on": beijing_today().isoformat(),
             "feedback": "农户很满意"}  # fmt: skip
    refused = submit(staff, page, typed, action="/confirm", button="确认收到")
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "农户很满意" in html and 'value="5"' in html
    assert "实收数量应在1至认领数量 1 之间" in html
    db.session.refresh(approved)
    assert approved.status == MatchStatus.DELIVERED
    # Someone else acted first: the page comes back with 409 and says so.
    admin = client_of("admin")
    stale = admin.post(f"/matches/{approved.id}/approve", data={})
    assert stale.status_code == 409 and "对接" in stale.get_data(as_text=True)


def test_a_reject_without_reason_keeps_the_page(
    client_of: Any, app: Any, db: Any, world: World
) -> None:
    match = services.pledge(world.donor, world.need, world.resource, 1)
    db.session.commit()
    admin = client_of("admin")
    refused = submit(
        admin, f"/matches/{match.id}", {"reason": " "}, action="/reject", button="驳回"
    )
    assert refused.status_code == 400 and "驳回时请填写理由" in refused.get_data(as_text=True)
    db.session.refresh(match)
    assert match.status == MatchStatus.PROPOSED


def _confirming(html: str, action: str, button: str) -> str:
    form = find_form(html, action, button)
    message = form.button(button).attrs.get("data-confirm", "")
    assert message, (action, button)
    return message


def test_final_actions_ask_for_confirmation(
    client_of: Any, app: Any, client: Any, db: Any, login: Any, world: World, make_need: Any
) -> None:
    match = services.pledge(world.donor, world.need, world.resource, 1)
    db.session.commit()
    admin, donor, staff = (client_of(n) for n in ("admin", "donor", "staff"))
    html = admin.get(f"/matches/{match.id}").get_data(as_text=True)
    assert "驳回" in _confirming(html, "/reject", "驳回")
    assert "data-confirm" not in str(find_form(html, "/approve").button("审批通过").attrs)
    queue = admin.get("/matches/approvals").get_data(as_text=True)
    _confirming(queue, "/reject", "驳回")
    _confirming(donor.get(f"/matches/{match.id}").get_data(as_text=True), "/withdraw", "撤回")
    services.approve(world.admin, match)
    services.file_objection(match, "该户已经有洗衣机了", "", None)
    db.session.commit()
    html = admin.get(f"/matches/{match.id}").get_data(as_text=True)
    _confirming(html, "/dismiss", "异议不成立")
    assert "取消" in _confirming(html, "/uphold", "异议成立并取消对接")
    # Needs: withdraw (staff), return (administrator, on the need and in the review queue).
    submitted = make_need(world.village, None, title="待审核需求", status=NeedStatus.SUBMITTED)
    _confirming(staff.get(f"/needs/{submitted.id}").get_data(as_text=True), "/withdraw", "撤回")
    _confirming(admin.get(f"/needs/{submitted.id}").get_data(as_text=True), "/return",
                "退回")  # fmt: skip
    _confirming(admin.get("/needs/review").get_data(as_text=True), "/return", "退回")
    # Resources: close (the donor).
    _confirming(donor.get(f"/resources/{world.resource.id}").get_data(as_text=True), "/close",
                "关闭")  # fmt: skip


def test_dispute_decision_asks_first(
    client_of: Any, app: Any, db: Any, world: World, approved: Match
) -> None:
    services.deliver(world.donor, approved, "已送达")
    services.report_non_receipt(world.staff, approved, "没收到")
    db.session.commit()
    html = client_of("admin").get(f"/matches/{approved.id}").get_data(as_text=True)
    _confirming(html, "/resolve", "记录处理结果")


def test_confirm_script_is_served_and_referenced(app: Any, client: Any, db: Any) -> None:
    page = client.get("/disclosure").get_data(as_text=True)
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.S)
    assert any(re.search(r'src="/static/js/confirm\.[0-9a-f]{10}\.js"', a) for a, _b in scripts)
    assert all("src=" in attrs and not body.strip() for attrs, body in scripts)  # no inline script
    served = client.get("/static/js/confirm.js")
    assert served.status_code == 200 and "javascript" in served.content_type
    source = served.get_data(as_text=True)
    served.close()
    assert "data-confirm" in source and "window.confirm" in source and "preventDefault" in source
    csp = client.get("/disclosure").headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp.split("script-src")[-1] if "script-src" in csp else True


def test_post_button_macro_renders_the_confirmation(app: Any, db: Any) -> None:
    with app.test_request_context():
        from flask import render_template_string
        from flask_wtf import FlaskForm

        html = render_template_string(
            '{% from "_macros.html" import post_button with context %}'
            "{{ post_button('/x', 'Go', confirm='Sure?') }}{{ post_button('/y', 'Plain') }}",
            csrf_form=FlaskForm(formdata=None),
        )
    first, second = forms_on(html)
    assert first.buttons()[0].attrs["data-confirm"] == "Sure?"
    assert "data-confirm" not in second.buttons()[0].attrs


def test_objection_contact_is_shown_to_the_administrators_only(
    client_of: Any, app: Any, db: Any, world: World, approved: Match
) -> None:
    from marketplace.audit.models import AuditEvent

    services.file_objection(approved, "该户已经有洗衣机了", "13800001111", None)
    db.session.commit()
    assert "13800001111" in client_of("admin").get(f"/matches/{approved.id}").get_data(as_text=True)
    viewed = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "objection_contact_viewed"))  # fmt: skip
    assert viewed == 1
    assert "13800001111" not in client_of("donor").get(f"/matches/{approved.id}").get_data(
        as_text=True
    )
