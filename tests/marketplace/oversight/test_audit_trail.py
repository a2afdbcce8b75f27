"""The audit trail reads as sentences (issue 14): who with their role, did what in words, to
what with a link where the reader may open it, where and when in Beijing time; filters are
select lists, page views hidden unless asked, the pager keeps the filters, the filtered trail
exports; every event stays inside the reader's regions."""

from __future__ import annotations

import ast
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from openpyxl import load_workbook

from marketplace.accounts import services as accounts
from marketplace.audit import services as audit_services
from marketplace.audit.models import AuditEvent
from marketplace.audit.services import record_event
from marketplace.households.models import IdentificationStatus
from marketplace.households.services import identity
from marketplace.matches import services as matches
from marketplace.matches.models import MatchStatus, ObjectionStatus
from marketplace.oversight.trail import ACTIONS, GROUPS, OBJECT_KINDS
from marketplace.produce.models import ListingStatus, OrderStatus
from marketplace.roles import Role
from tests.conftest import World
from tests.marketplace.oversight.trail_page import actions_shown, events_shown
from tests.pages import forms_of

ROOT = Path(__file__).resolve().parents[3]
# record_event codes built from a status: the prefix and the statuses a move can reach.
BUILT = {
    "match_": {s.value for s in MatchStatus},
    "objection_": {s.value for s in ObjectionStatus} - {ObjectionStatus.OPEN.value},
    "identification_": {s.value for s in IdentificationStatus},
    "produce_listing_": {s.value for s in ListingStatus},
    "produce_order_": {s.value for s in OrderStatus},
}


def _codes_in(node: ast.expr) -> set[str]:
    """The codes an expression passed to record_event can give."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _codes_in(node.body) | _codes_in(node.orelse)
    prefix = None
    if isinstance(node, ast.JoinedStr) and isinstance(node.values[0], ast.Constant):
        prefix = node.values[0].value
    if isinstance(node, ast.BinOp) and isinstance(node.left, ast.Constant):
        prefix = node.left.value
    if prefix in BUILT:
        return {f"{prefix}{status}" for status in BUILT[str(prefix)]}
    raise AssertionError(f"record_event({ast.unparse(node)}): teach this test its codes")


def codes_in_use() -> dict[str, str]:
    """Every action code record_event is called with in the product, and where."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "marketplace").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name != "record_event":
                continue
            for code in _codes_in(node.args[0]):
                found.setdefault(code, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_action_code_in_use_has_words(app: Any) -> None:
    in_use = codes_in_use()
    assert len(in_use) > 40 and "match_confirmed" in in_use and "login" in in_use
    missing = {code: where for code, where in in_use.items() if code not in ACTIONS}
    assert not missing, f"give these their words in marketplace/oversight/trail.py: {missing}"
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        for code, action in ACTIONS.items():
            assert action.group in GROUPS, code
            label = str(action.label)
            sentence = str(action.sentence) % {"who": "甲", "what": "乙"}
            assert label != action.label._args[0], f"{code}: not translated"
            assert "%" not in sentence and code not in sentence, code


@pytest.fixture
def happened(db: Any, world: World, make_user: Any, region: Any) -> World:
    """A pledge approved and objected to anonymously, the household's data viewed unmasked,
    a staff account created by the administrator, and in Huining another household's edit."""
    match = matches.pledge(world.donor, world.need, world.resource, 1)
    matches.approve(world.admin, match)
    matches.file_objection(match, "该户已经有洗衣机了", "", None)
    identity(world.admin, [world.household])  # personal_data_viewed
    created = accounts.create_user(
        world.admin, username="newstaff", display_name="李新", role=Role.STAFF,
        regions=[world.village], password="Secret-pass-123",
    )  # fmt: skip
    record_event(
        "household_updated", world.other_staff, world.household, after={"fields": ["phone"]}
    )  # fmt: skip  (about a Jingyuan household)
    db.session.commit()
    world.match, world.created = match, created
    return world


def _page(client: Any, query: str = "") -> str:
    response = client.get("/oversight/audit" + query)
    assert response.status_code == 200, response.status_code
    return str(response.data.decode())


def test_events_read_as_sentences_with_links(client: Any, login: Any, happened: World) -> None:
    w = happened
    login(w.admin)
    shown = {e.action: e for e in events_shown(_page(client))}
    approved = shown["match_approved"]
    assert approved.sentence == (
        f"{w.admin.display_name}（管理员）审批通过了「{w.need.title}」（对接 #{w.match.id}）的认领"
    )
    assert approved.links == [f"/matches/{w.match.id}"]
    assert shown["objection_filed"].sentence.startswith("访客对「")  # no actor: a visitor
    assert shown["match_proposed"].sentence.startswith(f"{w.donor.display_name}（捐赠方）认领了")
    created = shown["user_created"]
    assert created.sentence == f"{w.admin.display_name}（管理员）创建了账户李新（newstaff）"
    assert created.links == ["/admin/users"]
    edited = shown["household_updated"]  # the name masked, the village said
    assert "张**（" in edited.sentence and "张三丰" not in edited.sentence
    assert edited.links == [f"/households/{w.household.id}"]
    # Where and when: the village, and Beijing time beside the UTC moment.
    assert w.village.name in approved.meta and "用户名 admin" in approved.meta
    moment = datetime.strptime(approved.times[0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert (moment + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S") in approved.meta
    assert "personal_data_viewed" not in shown  # page views hidden unless asked
    assert "personal_data_viewed" in actions_shown(_page(client, "?views=y"))
    asked = actions_shown(_page(client, "?action=personal_data_viewed"))
    assert set(asked) == {"personal_data_viewed"}  # asking for the action shows it too


def test_links_only_where_the_reader_may_open(
    app: Any, client: Any, login: Any, happened: World
) -> None:
    """The auditor reads the same events, but has no users page: the account is named, not
    linked; the match and the household are linked for both."""
    login(happened.auditor)
    shown = {e.action: e for e in events_shown(_page(client))}
    assert (
        shown["user_created"].links == [] and "李新（newstaff）" in shown["user_created"].sentence
    )
    assert shown["match_approved"].links == [f"/matches/{happened.match.id}"]
    assert shown["household_updated"].links == [f"/households/{happened.household.id}"]
    assert "（督查人员）" not in shown["match_approved"].sentence  # the actor's role, not mine


def test_filters_are_labelled_select_lists(client: Any, login: Any, happened: World) -> None:
    login(happened.admin)
    html = _page(client)
    form = next(f for f in forms_of(html) if f.method == "get" and "action" in f.names)
    for name in ("action", "role", "region", "kind"):
        control = form.field(name)
        assert control.tag == "select" and len(control.options) > 2, name
        assert f'<label class="form-label small mb-1" for="{control.attrs["id"]}">' in html
    assert set(ACTIONS) <= set(form.field("action").options)
    assert set(OBJECT_KINDS) <= set(form.field("kind").options)
    assert {r.value for r in Role} <= set(form.field("role").options)
    assert happened.village.path in form.field("region").options
    assert happened.huining_village.path not in form.field("region").options  # not theirs
    assert form.field("since").type == "date" and form.field("views").type == "checkbox"
    # Filter as the page does: the staff's household edits only.
    sent = form.data(role="staff", kind="household")
    response = client.get(form.action, query_string=sent)
    assert response.status_code == 200
    shown = events_shown(response.data.decode())
    assert [e.action for e in shown] == ["household_updated"]


def test_region_role_object_and_beijing_day_filters(
    client: Any, login: Any, world: World, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 17:30 UTC on 1 May is 01:30 on 2 May in Beijing.
    monkeypatch.setattr(audit_services, "utcnow", lambda: datetime(2026, 5, 1, 17, 30, tzinfo=UTC))
    record_event("need_updated", world.staff, world.need)
    monkeypatch.undo()
    record_event("need_updated", world.admin, world.need)
    db.session.commit()
    login(world.admin)
    on_may_2 = events_shown(_page(client, "?since=2026-05-02&until=2026-05-02"))
    assert [e.action for e in on_may_2] == ["need_updated"] and "村干部" in on_may_2[0].sentence
    assert "2026-05-02 01:30:00" in on_may_2[0].meta
    assert events_shown(_page(client, "?since=2026-05-01&until=2026-05-01")) == []
    by_role = events_shown(_page(client, "?role=admin&kind=need"))
    assert len(by_role) == 1 and "管理员" in by_role[0].sentence
    assert len(events_shown(_page(client, f"?region={world.village.path}&kind=need"))) == 2
    other = _page(client, f"?region={world.other_village.path}&kind=need")
    assert events_shown(other) == []


def test_bad_filters_come_back_at_their_fields(client: Any, login: Any, world: World) -> None:
    login(world.huining_admin)
    response = client.get(
        f"/oversight/audit?since=not-a-date&until=2026-01-01&action=nonsense&region={world.village.path}"
    )
    assert response.status_code == 400
    html = response.data.decode()
    assert html.count("不是有效的选择。") == 2  # the action, and a region not theirs
    assert "不是有效的日期值。" in html and 'value="not-a-date"' in html
    backwards = client.get("/oversight/audit?since=2026-02-01&until=2026-01-01")
    assert backwards.status_code == 400 and "截止日期不能早于起始日期。" in backwards.data.decode()


def test_the_pager_keeps_the_filters(
    app: Any, client: Any, login: Any, world: World, db: Any
) -> None:
    size = app.config["PAGE_SIZE"]
    for n in range(size + 5):
        record_event("need_updated", world.staff, world.need, after={"n": n})
    for _n in range(3):
        record_event("household_updated", world.staff, world.household)
    db.session.commit()
    login(world.admin)
    first = _page(client, "?action=need_updated&role=staff")
    assert actions_shown(first) == ["need_updated"] * size
    links = [h for h in _hrefs(first) if "page=2" in h]
    assert links, "no link to the second page"
    query = parse_qs(urlsplit(links[0]).query)
    assert query["action"] == ["need_updated"] and query["role"] == ["staff"]
    second = client.get(links[0]).data.decode()
    assert actions_shown(second) == ["need_updated"] * 5


def _hrefs(html: str) -> list[str]:
    import re

    return [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', html)]


def test_export_is_filtered_scoped_and_recorded(
    client: Any, login: Any, happened: World, db: Any, make_user: Any
) -> None:
    w = happened
    sly = make_user(Role.STAFF, [w.village], display_name="=HYPERLINK(1)")
    record_event("need_updated", sly, w.need)
    record_event("need_updated", w.huining_admin, w.huining_village)  # not Jingyuan's
    db.session.commit()
    login(w.admin)
    page = _page(client, "?action=need_updated")
    link = next(h for h in _hrefs(page) if "/oversight/audit/export.xlsx" in h)
    assert parse_qs(urlsplit(link).query)["action"] == ["need_updated"]
    response = client.get(link)
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert header[1] == "时间（北京时间）" and "操作代码" in header
    code = header.index("操作代码")
    assert [r[code] for r in body] == ["need_updated"]  # filtered, and Jingyuan's only
    assert body[0][header.index("操作人")] == "'=HYPERLINK(1)"  # text, never a formula
    assert "修改了需求「" in body[0][header.index("事件")]
    recorded = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "audit_trail_exported")
    ).one()
    assert recorded.actor_id == w.admin.id and recorded.after["rows"] == 1
    assert recorded.after["filters"] == {"action": "need_updated"}
    text = client.get("/oversight/audit/export.csv?kind=household").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "编号" and {r[rows[0].index("操作代码")] for r in rows[1:]} == {
        "household_updated"
    }
    assert "张三丰" not in text and w.household.head_id_number not in text
    bad = client.get("/oversight/audit/export.csv?since=nonsense")
    assert bad.status_code == 400


def test_only_oversight_reads_or_exports_the_trail(client: Any, login: Any, world: World) -> None:
    for user in (world.staff, world.donor):
        client.post("/logout")
        login(user)
        assert client.get("/oversight/audit").status_code == 403
        assert client.get("/oversight/audit/export.xlsx").status_code == 403
