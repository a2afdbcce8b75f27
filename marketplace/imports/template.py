"""The import template: its sheets and columns, the vocabularies in Chinese, the workbook."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale

from marketplace.accounts.models import User
from marketplace.extensions import db
from marketplace.households.models import (
    DISABILITY_GRADES,
    MemberHealth,
    MemberLabour,
    MemberRelation,
    SchoolStage,
)
from marketplace.needs.forms import URGENCY_CHOICES
from marketplace.permissions import region_clause
from marketplace.regions.models import Region, RegionLevel
from marketplace.vocab import CATEGORY_TREE, HouseholdStatus, LabourCapacity, PovertyCause

HOUSEHOLD_SHEET, NEED_SHEET, OPTIONS_SHEET, GUIDE_SHEET = "贫困户", "需求", "选项", "填写说明"
MEMBER_SHEET = "成员"
TEMPLATE_ROWS = 10_000  # rows prepared with drop-downs and text formats

# (field, header); a trailing * marks a required column in the template.
HOUSEHOLD_COLUMNS = [
    ("register_number", "户编号*"), ("village", "所在村*"), ("head_name", "户主姓名*"),
    ("head_id_number", "户主身份证号*"), ("phone", "手机号"), ("member_count", "家庭人口*"),
    ("primary_cause", "主要致贫原因*"), ("other_causes", "其他致贫原因"),
    ("status", "贫困户状态"), ("labour_capacity", "劳动能力"),
    ("income_per_capita", "人均纯收入（元）"),
]  # fmt: skip
NEED_COLUMNS = [
    ("register_number", "户编号（村级需求留空）"), ("village", "所在村*"),
    ("subcategory", "需求类别*"), ("title", "标题*"), ("description", "描述"),
    ("quantity", "数量*"), ("unit", "单位*"), ("estimated_value", "估计价值（元）"),
    ("urgency", "紧急程度"), ("needed_by", "需要日期"),
]  # fmt: skip
# The roster: one person a row, the head included, under the household's register number.
MEMBER_COLUMNS = [
    ("register_number", "户编号*"), ("relation", "与户主关系*"), ("name", "姓名*"),
    ("id_number", "身份证号*"), ("labour", "劳动能力*"), ("health", "健康状况*"),
    ("schooling", "文化程度*"), ("in_school", "是否在校"), ("skills", "技能特长"),
    ("working_away", "是否外出务工"),
]  # fmt: skip
TEXT_COLUMNS = ("register_number", "head_id_number", "phone", "id_number")
# Column names as messages quote them (without the required-mark).
HOUSEHOLD_HEADERS = {n: h.rstrip("*") for n, h in HOUSEHOLD_COLUMNS}
NEED_HEADERS = {n: h.rstrip("*") for n, h in NEED_COLUMNS}
MEMBER_HEADERS = {n: h.rstrip("*") for n, h in MEMBER_COLUMNS}
GRADE_WORDS = {1: "一", 2: "二", 3: "三", 4: "四"}
YES_NO = {"是": True, "否": False, "在校": True, "不在校": False, "外出": True, "在家": False}


def header_key(text: Any) -> str:
    """Headers compare without the required-mark, spaces or the bracketed hints."""
    return re.sub(r"[*\s]|（.*?）|\(.*?\)", "", str(text or ""))


# --- the vocabularies, in the template's Chinese -----------------------------------------


@dataclass
class Vocabulary:
    villages: list[Region]
    causes: dict[str, str]
    statuses: dict[str, str]
    labour: dict[str, str]
    categories: dict[str, str]
    urgency: dict[str, int]
    relations: dict[str, str]
    member_labour: dict[str, str]
    health: dict[str, tuple[str, int | None]]  # with the disability grade
    schooling: dict[str, str]

    @staticmethod
    def village_option(village: Region) -> str:
        return f"{village.name}（{village.code}）"

    def options(self) -> dict[str, list[str]]:
        def labels(mapping: dict[str, Any]) -> list[str]:
            return list(dict.fromkeys(k for k in mapping if not k.isascii()))

        return {
            "所在村": [self.village_option(v) for v in self.villages],
            "致贫原因": labels(self.causes),
            "贫困户状态": labels(self.statuses),
            "劳动能力": labels(self.labour),
            "需求类别": [k for k in self.categories if "/" in k],
            "紧急程度": labels(self.urgency),
            "与户主关系": labels(self.relations),
            "成员劳动能力": labels(self.member_labour),
            "健康状况": labels(self.health),
            "文化程度": labels(self.schooling),
            "是否": ["是", "否"],
        }


def vocabulary(user: User) -> Vocabulary:
    villages = list(
        db.session.scalars(
            sa.select(Region)
            .where(Region.level == RegionLevel.VILLAGE, region_clause(user, Region.path))
            .order_by(Region.path)
            .limit(5000)
        )
    )
    with force_locale("zh_Hans_CN"):

        def by_label(members: Any) -> dict[str, str]:
            return {
                **{str(m.label): m.value for m in members},
                **{m.value: m.value for m in members},
            }

        categories: dict[str, str] = {}
        for top, subs in CATEGORY_TREE:
            for sub in subs:
                categories[f"{top.label}/{sub.label}"] = sub.code
                categories.setdefault(str(sub.label), sub.code)
                categories[sub.code] = sub.code
        urgency = {str(label): value for value, label in URGENCY_CHOICES}
        health: dict[str, tuple[str, int | None]] = {}
        for member in MemberHealth:
            if member != MemberHealth.DISABLED:
                health[str(member.label)] = health[member.value] = (member.value, None)
                continue
            disabled = str(member.label)
            for grade in DISABILITY_GRADES:
                word = GRADE_WORDS[grade]
                for spelling in (f"{disabled}{word}级", f"{disabled}（{word}级）",
                                 f"{disabled}{grade}级", f"{disabled}（{grade}级）"):  # fmt: skip
                    health[spelling] = (member.value, grade)
            # Without its grade: the check asks for the grade.
            health[disabled] = health[member.value] = (member.value, None)
        relations = by_label(MemberRelation)
        # As people write them besides the register's 之子, 之女...
        relations.update({label[1:]: code for label, code in list(relations.items())
                          if label.startswith("之")})  # fmt: skip
        relations.update({"本人": "head", "妻子": "spouse", "丈夫": "spouse", "儿子": "son",
                          "女儿": "daughter", "父亲": "father", "母亲": "mother"})  # fmt: skip
        member_labour = by_label(MemberLabour)
        member_labour.update({"普通劳动力": "strong", "技能劳动力": "strong", "弱劳动力": "weak",
                              "半劳动力": "weak", "无劳动力": "none"})  # fmt: skip
        return Vocabulary(
            villages=villages, causes=by_label(PovertyCause), statuses=by_label(HouseholdStatus),
            labour=by_label(LabourCapacity), categories=categories, urgency=urgency,
            relations=relations, member_labour=member_labour, health=health,
            schooling=by_label(SchoolStage),
        )  # fmt: skip


# --- the workbook -------------------------------------------------------------------------


def build_template(user: User) -> bytes:
    # openpyxl (and NumPy through it): imported by the first download, not at start.
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    vocab = vocabulary(user)
    book = Workbook()
    guide = book.active
    assert guide is not None
    guide.title = GUIDE_SHEET
    for line in GUIDE_LINES:
        guide.append([line])
    guide.column_dimensions["A"].width = 110
    guide["A1"].font = Font(bold=True, size=14)

    options = book.create_sheet(OPTIONS_SHEET)
    ranges: dict[str, str] = {}
    for col, (name, values) in enumerate(vocab.options().items(), start=1):
        letter = options.cell(row=1, column=col, value=name).column_letter
        for row, value in enumerate(values, start=2):
            options.cell(row=row, column=col, value=value)
        ranges[name] = f"{OPTIONS_SHEET}!${letter}$2:${letter}${max(2, len(values) + 1)}"
    options.sheet_state = "hidden"

    lists = {
        "village": "所在村", "primary_cause": "致贫原因", "status": "贫困户状态",
        "labour_capacity": "劳动能力", "subcategory": "需求类别", "urgency": "紧急程度",
    }  # fmt: skip
    member_lists = {
        "relation": "与户主关系", "labour": "成员劳动能力", "health": "健康状况",
        "schooling": "文化程度", "in_school": "是否", "working_away": "是否",
    }  # fmt: skip
    for title, columns, drop_downs in (
        (HOUSEHOLD_SHEET, HOUSEHOLD_COLUMNS, lists),
        (MEMBER_SHEET, MEMBER_COLUMNS, member_lists),
        (NEED_SHEET, NEED_COLUMNS, lists),
    ):
        sheet = book.create_sheet(title)
        sheet.append([header for _name, header in columns])
        for index, (name, _header) in enumerate(columns, start=1):
            cell = sheet.cell(row=1, column=index)
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = PatternFill("solid", fgColor="9C1C1C")
            letter = cell.column_letter
            sheet.column_dimensions[letter].width = 22 if name in drop_downs else 16
            if name in TEXT_COLUMNS:
                # Text, so that Excel keeps all 18 digits of an ID number.
                for row in range(2, TEMPLATE_ROWS + 2):
                    sheet.cell(row=row, column=index).number_format = "@"
            if name in drop_downs:
                check = DataValidation(
                    type="list", formula1=f"={ranges[drop_downs[name]]}", allow_blank=True,
                    showErrorMessage=True, errorTitle="请从列表中选择",
                    error="请从下拉列表中选择一项。",
                )  # fmt: skip
                check.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
                sheet.add_data_validation(check)
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


GUIDE_LINES = [
    "贫困户与需求批量导入模板",
    "1. 在“贫困户”表每行填写一户，在“成员”表每行填写一位家庭成员（户主也填一行），"
    "在“需求”表每行填写一条需求；带 * 的列必须填写。",
    "2. 所在村、致贫原因、状态、劳动能力、与户主关系、健康状况、文化程度、需求类别、"
    "紧急程度请从下拉列表中选择。",
    "3. 身份证号、手机号、户编号列已设为“文本”格式：请直接输入或粘贴为“值”，"
    "不要让 Excel 转成数字。",
    "4. 需求的户编号可以是本文件中的新户，也可以是登记册中已有的户；"
    "村级需求（道路、水窖等）户编号留空。",
    "5. 多个其他致贫原因用顿号（、）分隔；日期写成 2026-12-31。",
    "6. 成员的户编号可以是本文件中的新户，也可以是登记册中已有的户；户主一行的姓名、身份证号"
    "须与“贫困户”表（或登记册）一致；每户成员人数不超过家庭人口；"
    "性别和出生日期由身份证号自动得出；残疾请选择等级（如“残疾二级”）。",
    "7. 上传后系统逐行检查并显示预览；确认后才写入，且全部写入或全部不写。",
]
