"""The import's 成员 sheet: one person a row under the household's register number, checked
row by row like the other sheets (the roster's rules over the file and the register), listed
with their problems, written with the households, all or nothing."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import sqlalchemy as sa
from openpyxl import load_workbook

from marketplace.audit.models import AuditEvent
from marketplace.demo import id_number
from marketplace.households.models import Household, HouseholdMember, MemberHealth, Sex
from marketplace.imports.reading import read_upload
from marketplace.imports.template import MEMBER_SHEET, header_key
from marketplace.vocab import LabourCapacity
from tests.conftest import World
from tests.marketplace.households.test_import import fill, household_row, upload
from tests.marketplace.households.test_import import template as template  # the fixture


def fill_all(
    blank: bytes,
    households: list[dict[str, Any]],
    members: list[dict[str, Any]],
    needs: list[dict[str, Any]] | None = None,
) -> bytes:
    """The households and needs as test_import fills them, and the members under the 成员
    sheet's own headers."""
    book = load_workbook(io.BytesIO(fill(blank, households, needs or [])))
    sheet = book[MEMBER_SHEET]
    headers = [c.value for c in sheet[1]]
    for number, row in enumerate(members, start=2):
        for column, header in enumerate(headers, start=1):
            if header_key(header) in row:
                sheet.cell(row=number, column=column, value=row[header_key(header)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def head_row(household: dict[str, Any]) -> dict[str, Any]:
    return {
        "户编号": household["户编号"], "与户主关系": "户主", "姓名": household["户主姓名"],
        "身份证号": household["户主身份证号"], "劳动能力": "弱劳动力或半劳动力",
        "健康状况": "长期慢性病", "文化程度": "小学", "是否在校": "否",
    }  # fmt: skip


def child_row(household: dict[str, Any], n: int, **changes: Any) -> dict[str, Any]:
    row = {
        "户编号": household["户编号"], "与户主关系": "之子", "姓名": f"王小{n}",
        "身份证号": id_number("620421000000", date(2010, 1 + n % 12, 1 + n % 28), 500 + n),
        "劳动能力": "无劳动力（儿童、学生、老人）", "健康状况": "健康", "文化程度": "初中",
        "是否在校": "是", "技能特长": "", "是否外出务工": "否",
    }  # fmt: skip
    row.update(changes)
    return row


def token_of(response: Any) -> str:
    html = response.get_data(as_text=True)
    return html.split('name="token" type="hidden" value="')[1].split('"')[0]


def test_the_template_has_the_members_sheet(template: bytes) -> None:
    book = load_workbook(io.BytesIO(template))
    sheet = book[MEMBER_SHEET]
    headers = [c.value for c in sheet[1]]
    assert headers[:4] == ["户编号*", "与户主关系*", "姓名*", "身份证号*"]
    wanted = {"劳动能力*", "健康状况*", "文化程度*", "是否在校", "技能特长", "是否外出务工"}
    assert wanted <= set(headers)
    assert sheet["D2"].number_format == "@"  # the ID card number keeps its 18 digits
    lists = {str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation}
    assert len(lists) == 6
    options = book["选项"]
    at = 1 + next(i for i, c in enumerate(options[1]) if c.value == "健康状况")
    column = [c.value for c in next(options.iter_cols(min_col=at, max_col=at))]
    assert "残疾二级" in column and "健康" in column
    assert any("成员" in line.value for line in book["填写说明"]["A"] if line.value)


def test_members_checked_row_by_row_then_imported_with_their_households(
    client: Any,
    template: bytes,
    world: World,
    db: Any,
) -> None:
    households = [household_row(world.village, n) for n in range(1, 4)]
    households[0]["家庭人口"] = 3
    households[1]["家庭人口"] = 2
    households[2]["家庭人口"] = 1
    first, second, third = households
    members = [
        head_row(first),  # row 2
        child_row(first, 1),  # row 3
        child_row(first, 2, 健康状况="残疾"),  # row 4: a disability without its grade
        head_row(second),  # row 5
        child_row(second, 3, 身份证号="620421201003030000"),  # row 6: a bad number
        {**head_row(third), "姓名": "王老三"},  # row 7: not the name the household gives
        child_row(third, 4, 与户主关系="邻居"),  # row 8: not in the list
        child_row(first, 5, 户编号="NOPE"),  # row 9: no such household
        child_row(second, 1),  # row 10: the person of row 3 again, in another household
        # row 11: the registered household of the world, whose head is not in this file
        {**child_row(first, 6), "户编号": world.household.register_number},
        {
            **child_row(first, 7),
            "户编号": world.household.register_number,
            "与户主关系": "户主",
        },  # row 12: a head whose number is not the household's
    ]
    response = upload(client, fill_all(template, households, members))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    preview = read_upload(world.staff, fill_all(template, households, members), 20_000)
    flagged = {r.number: r.errors for r in preview.rows_with_errors if r.sheet == "成员"}
    assert set(flagged) == {4, 6, 7, 8, 9, 10, 12}, flagged
    assert "请选择残疾等级" in " ".join(flagged[4])
    assert "身份证号码无效" in " ".join(flagged[6])
    assert "户主的姓名和身份证号以本户登记为准" in " ".join(flagged[7])
    assert "不在列表中" in " ".join(flagged[8]) or "邻居" in " ".join(flagged[8])
    assert "此人已在某一户的家庭成员名册中" in " ".join(flagged[10])
    assert "户主的姓名和身份证号以本户登记为准" in " ".join(flagged[12])
    assert "成员" in html and "身份证号：" in html  # listed with the column, like the others
    before = db.session.scalar(sa.select(sa.func.count(HouseholdMember.id)))

    # A fourth member for a household of three is one too many.
    members = [head_row(first), child_row(first, 1), child_row(first, 2, 健康状况="残疾二级"),
               child_row(first, 9), head_row(second), head_row(third)]  # fmt: skip
    preview = read_upload(world.staff, fill_all(template, households, members), 20_000)
    assert [(r.number, "名册已全部登记" in " ".join(r.errors))
            for r in preview.rows_with_errors] == [(5, True)]  # fmt: skip

    worker = child_row(second, 3, 劳动能力="有劳动力", 是否外出务工="是", 是否在校="否",
                       技能特长="电焊")  # fmt: skip
    registered = {**child_row(first, 6), "户编号": world.household.register_number}
    members = [head_row(first), child_row(first, 1), child_row(first, 2, 健康状况="残疾二级"),
               head_row(second), worker, head_row(third), registered]  # fmt: skip
    response = upload(client, fill_all(template, households, members))
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]
    assert db.session.scalar(sa.select(sa.func.count(HouseholdMember.id))) == before
    done = client.post("/households/import/confirm", data={"token": token_of(response)})
    assert done.status_code == 302
    db.session.expire_all()
    imported = db.session.scalar(
        sa.select(Household).where(Household.register_number == first["户编号"])
    )
    roster = sorted(imported.members, key=lambda m: m.id)
    assert [m.relation.value for m in roster] == ["head", "son", "son"]
    assert roster[0].id_number == first["户主身份证号"] and roster[0].name == first["户主姓名"]
    assert roster[2].health == MemberHealth.DISABLED and roster[2].disability_grade == 2
    assert roster[1].sex == (Sex.MALE if int(roster[1].id_number[16]) % 2 else Sex.FEMALE)
    assert roster[1].birth_date == date(2010, 2, 2) and roster[1].in_school
    # The household's labour from the roster: the head's weak labour (the sheet said 有劳动力).
    assert imported.labour_capacity == LabourCapacity.WEAK
    worker = db.session.scalar(sa.select(HouseholdMember).where(HouseholdMember.skills == "电焊"))
    assert worker.working_away and not worker.in_school
    db.session.refresh(world.household)
    assert [m.name for m in world.household.members] == ["王小6"]
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "register_imported"))
    assert event.after["members"] == 7 and "王小" not in str(event.after)
    assert "7 名家庭成员" in client.get("/households/").get_data(as_text=True)


def test_a_new_household_whose_head_is_in_a_roster_already_is_flagged(
    client: Any,
    template: bytes,
    world: World,
    db: Any,
) -> None:
    from marketplace.households import services

    household = household_row(world.village, 1)
    services.add_member(
        world.staff, world.household, relation="son", name=household["户主姓名"],
        id_number=household["户主身份证号"], labour="strong", health="healthy",
        disability_grade=None, schooling="junior", in_school=False, skills="",
        working_away=False,
    )  # fmt: skip
    db.session.commit()
    preview = read_upload(world.staff, fill_all(template, [household], []), 20_000)
    (row,) = preview.rows_with_errors
    assert row.sheet == "贫困户"
    assert row.errors == ["户主身份证号：此人已在某一户的家庭成员名册中。"]
