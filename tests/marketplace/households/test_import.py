"""Bulk import from the Excel template: row-by-row preview, all or nothing, and files refused
before parsing (not xlsx, too large, zip bombs, XML entities, macros)."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from marketplace.audit.models import AuditEvent
from marketplace.demo import id_number
from marketplace.households.models import Household
from marketplace.imports.reading import read_upload
from marketplace.imports.template import HOUSEHOLD_SHEET, NEED_SHEET, header_key, vocabulary
from marketplace.needs.models import Need, NeedStatus
from tests.conftest import World


def fill(template: bytes, households: list[dict[str, Any]], needs: list[dict[str, Any]]) -> bytes:
    """Write rows into the downloaded template under its own headers, as a person would."""
    book = load_workbook(io.BytesIO(template))
    for title, rows in ((HOUSEHOLD_SHEET, households), (NEED_SHEET, needs)):
        sheet = book[title]
        headers = [c.value for c in sheet[1]]
        for number, row in enumerate(rows, start=2):
            for column, header in enumerate(headers, start=1):
                key = header_key(header)
                if key in row:
                    sheet.cell(row=number, column=column, value=row[key])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def household_row(village: Any, n: int) -> dict[str, Any]:
    return {
        "户编号": f"IMP{n:05d}", "所在村": f"{village.name}（{village.code}）",
        "户主姓名": f"王{n}",
        "户主身份证号": id_number(village.code, date(1960 + n % 40, 1 + n % 12, 1 + n % 28), n),
        "手机号": f"139{n:08d}", "家庭人口": 1 + n % 6, "主要致贫原因": "因病",
        "其他致贫原因": "缺技术、缺资金", "贫困户状态": "未脱贫", "劳动能力": "有劳动力",
        "人均纯收入": 3200.5,
    }  # fmt: skip


def need_row(village: Any, n: int) -> dict[str, Any]:
    return {
        "户编号": f"IMP{n:05d}", "所在村": f"{village.name}（{village.code}）",
        "需求类别": "生活用品与家电/洗衣机", "标题": f"需要洗衣机{n}", "数量": 1, "单位": "台",
        "估计价值": 1200, "紧急程度": "2 · 较急",
    }  # fmt: skip


# Downloaded templates, by the lists they offer. Building one writes 20,000 formatted rows (a
# second or more, in each of a dozen tests) from those lists only (build_template, from the
# user's vocabulary()), and they are the same in every test (the world's village is one of the
# gazetteer's): each test signs in and the first downloads the template through the page; should
# the lists differ, the template is downloaded again.
_templates: dict[tuple[tuple[str, tuple[str, ...]], ...], bytes] = {}


@pytest.fixture
def template(client: Any, login: Any, world: World) -> bytes:
    login(world.staff)
    lists = tuple((name, tuple(v)) for name, v in vocabulary(world.staff).options().items())
    if lists not in _templates:
        response = client.get("/households/import/template.xlsx")
        assert response.status_code == 200
        _templates[lists] = response.data
    return _templates[lists]


def upload(client: Any, data: bytes, name: str = "register.xlsx") -> Any:
    return client.post("/households/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")  # fmt: skip


def counts(db: Any) -> tuple[int, int]:
    return (db.session.scalar(sa.select(sa.func.count(Household.id))),
            db.session.scalar(sa.select(sa.func.count(Need.id))))  # fmt: skip


def test_template_has_lists_and_text_columns(template: bytes, world: World) -> None:
    book = load_workbook(io.BytesIO(template))
    assert book.sheetnames == ["填写说明", "选项", "贫困户", "成员", "需求"]
    assert book["选项"].sheet_state == "hidden"
    villages = [c.value for c in book["选项"]["A"][1:]]
    assert f"{world.village.name}（{world.village.code}）" in villages
    assert all(world.huining_village.code not in (v or "") for v in villages)
    sheet = book["贫困户"]
    assert sheet["D1"].value == "户主身份证号*" and sheet["D2"].number_format == "@"
    assert len(sheet.data_validations.dataValidation) >= 4
    categories = [c.value for c in book["选项"]["E"][1:] if c.value]
    assert "生活用品与家电/洗衣机" in categories


def test_300_rows_with_bad_ones_flagged_then_fixed_and_imported(
    client: Any, template: bytes, world: World, db: Any
) -> None:
    households = [household_row(world.village, n) for n in range(1, 301)]
    needs = [need_row(world.village, n) for n in range(1, 41)]
    needs.append({**need_row(world.village, 0), "户编号": "", "标题": "村道硬化",
                  "需求类别": "村级基础设施/道路桥梁", "数量": 1, "单位": "公里"})  # fmt: skip
    good = [dict(r) for r in households]
    households[9]["户主身份证号"] = households[9]["户主身份证号"][:-1] + (
        "0" if households[9]["户主身份证号"][-1] != "0" else "1")  # fmt: skip  # row 11
    households[19]["户主身份证号"] = int(households[19]["户主身份证号"][:17] + "0")  # row 21
    households[29]["所在村"] = f"{world.huining_village.name}（{world.huining_village.code}）"
    households[39]["户编号"] = households[38]["户编号"]  # row 41 repeats row 40
    households[49]["手机号"] = "1234"  # row 51
    needs[5]["需求类别"] = "游艇"  # needs row 7
    needs[6]["户编号"] = "NOPE"  # needs row 8
    before = counts(db)

    response = upload(client, fill(template, households, needs))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    preview = read_upload(world.staff, fill(template, households, needs), 20_000)
    flagged = {(r.sheet, r.number) for r in preview.rows_with_errors}
    # Needs row 41 names IMP00040, which the repeated number on row 41 took out of the file.
    assert flagged == {("贫困户", 11), ("贫困户", 21), ("贫困户", 31), ("贫困户", 41),
                       ("贫困户", 51), ("需求", 7), ("需求", 8), ("需求", 41)}  # fmt: skip
    assert "Excel" in html and "文本" in html  # how to fix the numeric ID column
    assert counts(db) == before

    households[9], households[19], households[29] = good[9], good[19], good[29]
    households[39], households[49] = good[39], good[49]
    needs[5]["需求类别"], needs[6]["户编号"] = "洗衣机", "IMP00007"
    response = upload(client, fill(template, households, needs))
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert counts(db) == before  # nothing until confirmed
    token = response.get_data(as_text=True).split('name="token" type="hidden" value="')[1]
    token = token.split('"')[0]
    done = client.post("/households/import/confirm", data={"token": token})
    assert done.status_code == 302
    assert counts(db) == (before[0] + 300, before[1] + 41)
    imported = db.session.scalar(
        sa.select(Household).where(Household.register_number == "IMP00007")
    )
    assert imported.other_causes == ["skills", "capital"] and imported.phone == "13900000007"
    need = db.session.scalar(sa.select(Need).where(Need.title == "需要洗衣机7"))
    assert need.household_id == imported.id and need.status == NeedStatus.SUBMITTED
    village_need = db.session.scalar(sa.select(Need).where(Need.title == "村道硬化"))
    assert village_need.household_id is None and village_need.subcategory == "infrastructure.road"
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "register_imported"))
    assert event.after["households"] == 300 and "王" not in str(event.after)
    again = client.post("/households/import/confirm", data={"token": token})
    assert again.status_code == 400  # the upload was used up
    assert counts(db) == (before[0] + 300, before[1] + 41)


def test_confirm_checks_again_and_writes_nothing_on_conflict(
    client: Any, template: bytes, world: World, db: Any, make_household: Any
) -> None:
    rows = [household_row(world.village, n) for n in range(1, 4)]
    response = upload(client, fill(template, rows, []))
    token = response.get_data(as_text=True).split('name="token" type="hidden" value="')[1]
    # Someone registers the second household by hand before the import is confirmed.
    make_household(world.village, register_number="IMP00002")
    before = counts(db)
    conflict = client.post("/households/import/confirm", data={"token": token.split('"')[0]})
    assert conflict.status_code == 400
    assert "IMP00002" in conflict.get_data(as_text=True)
    assert counts(db) == before


def test_needs_may_name_households_already_registered(
    client: Any, template: bytes, world: World, db: Any
) -> None:
    row = {**need_row(world.village, 1), "户编号": world.household.register_number}
    response = upload(client, fill(template, [], [row]))
    token = response.get_data(as_text=True).split('name="token" type="hidden" value="')[1]
    assert client.post("/households/import/confirm",
                       data={"token": token.split('"')[0]}).status_code == 302  # fmt: skip
    assert db.session.scalar(sa.select(Need).where(Need.title == "需要洗衣机1")).household_id == (
        world.household.id)  # fmt: skip


def _zip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in parts.items():
            archive.writestr(name, body)
    return out.getvalue()


MINIMAL = {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}
LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
          b"<Types>&b;</Types>")  # fmt: skip


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "文件是空的"),
        ("户编号,户主姓名\n1,张三\n".encode(), ".xlsx"),
        (_zip({"word/document.xml": b"<doc/>", "[Content_Types].xml": b"<Types/>"}), ".xlsx"),
        (_zip({**MINIMAL, "xl/worksheets/sheet1.xml": b"\0" * 30_000_000}), "远超"),
        (_zip({**MINIMAL, "[Content_Types].xml": LAUGHS}), ".xlsx"),
        (_zip({**MINIMAL, "xl/vbaProject.bin": b"macro"}), "宏"),
    ],
    ids=["empty", "csv", "docx", "zip-bomb", "entities", "macro"],
)
def test_dangerous_or_wrong_files_are_refused(client: Any, template: bytes, db: Any,
                                              data: bytes, message: str) -> None:  # fmt: skip
    before = counts(db)
    response = upload(client, data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert counts(db) == before


def test_size_limit(app: Any, client: Any, template: bytes) -> None:
    app.config["IMPORT_MAX_BYTES"] = 1000
    try:
        response = upload(client, template)
    finally:
        app.config["IMPORT_MAX_BYTES"] = 5 * 1024 * 1024
    assert response.status_code == 400 and "MB" in response.get_data(as_text=True)


def test_only_village_staff_import(client: Any, login: Any, world: World) -> None:
    login(world.admin)
    assert client.get("/households/import").status_code == 403
    assert client.get("/households/import/template.xlsx").status_code == 403


def test_workbook_without_the_sheets(client: Any, template: bytes) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["随便", "什么"])
    out = io.BytesIO()
    book.save(out)
    response = upload(client, out.getvalue())
    assert response.status_code == 400 and "贫困户" in response.get_data(as_text=True)


def test_the_rules_of_the_services_are_listed_on_the_row(
    client: Any, template: bytes, world: World
) -> None:
    """Household size and "needed by" are the services' rules; the import lists every problem
    of a row, in the services' own words."""
    households = [{**household_row(world.village, 1), "家庭人口": 31},
                  {**household_row(world.village, 2), "家庭人口": "五"}]  # fmt: skip
    needs = [{**need_row(world.village, 1), "需要日期": "2001-01-01", "数量": 0}]
    preview = read_upload(world.staff, fill(template, households, needs), 20_000)
    first, second = preview.households
    assert first.errors == ["家庭人口：家庭人口应在1至30人之间。"]
    assert second.errors == ["家庭人口：家庭人口应在1至30人之间。"]
    (need,) = preview.needs
    assert "需要日期：需要日期不能早于今天。" in need.errors
    assert any(e.startswith("数量：") for e in need.errors) and len(need.errors) == 2


def test_imported_needs_are_announced_to_the_reviewers(
    client: Any, template: bytes, world: World, db: Any
) -> None:
    from marketplace.notifications.models import Notification

    rows = [need_row(world.village, n) for n in (1, 2)]
    response = upload(client, fill(template, [household_row(world.village, n) for n in (1, 2)],
                                   rows))  # fmt: skip
    token = response.get_data(as_text=True).split('name="token" type="hidden" value="')[1]
    assert client.post("/households/import/confirm",
                       data={"token": token.split('"')[0]}).status_code == 302  # fmt: skip
    needs = db.session.scalars(
        sa.select(Need).where(Need.title.in_(["需要洗衣机1", "需要洗衣机2"]))
    ).all()
    assert len(needs) == 2
    # One notification per reviewer with the count, not one per imported need.
    told = db.session.scalars(
        sa.select(Notification).where(Notification.user_id == world.admin.id)
    ).all()
    assert [(n.kind, n.params["count"], n.link) for n in told] == [
        ("needs_submitted", 2, "/needs/review")
    ]
    login_page = client.get("/notifications/").get_data(as_text=True)
    assert "有 2 条新导入的需求待审核" not in login_page  # staff are not told: the reviewers are


def test_check_functions_return_every_problem() -> None:
    from marketplace.households.services import household_problems
    from marketplace.needs.services import need_problems

    assert [p.field for p in household_problems({"member_count": 0, "income_per_capita": -1})] == [
        "member_count",
        "income_per_capita",
    ]
    assert household_problems({"member_count": 30, "income_per_capita": None}) == []
    bad = {"subcategory": "yacht", "quantity": 0, "urgency": 4, "estimated_value": -1,
           "needed_by": date(2001, 1, 1)}  # fmt: skip
    assert [p.field for p in need_problems(bad)] == [
        "subcategory", "quantity", "urgency", "estimated_value", "needed_by"]  # fmt: skip
