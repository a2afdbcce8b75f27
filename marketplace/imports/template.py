"""The import template: its sheets and columns, the vocabularies in Chinese, the workbook."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from marketplace.accounts.models import User
from marketplace.extensions import db
from marketplace.needs.forms import URGENCY_CHOICES
from marketplace.permissions import region_clause
from marketplace.regions.models import Region, RegionLevel
from marketplace.vocab import CATEGORY_TREE, HouseholdStatus, LabourCapacity, PovertyCause

HOUSEHOLD_SHEET, NEED_SHEET, OPTIONS_SHEET, GUIDE_SHEET = "贫困户", "需求", "选项", "填写说明"
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
TEXT_COLUMNS = ("register_number", "head_id_number", "phone")
# Column names as messages quote them (without the required-mark).
HOUSEHOLD_HEADERS = {n: h.rstrip("*") for n, h in HOUSEHOLD_COLUMNS}
NEED_HEADERS = {n: h.rstrip("*") for n, h in NEED_COLUMNS}


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
        return Vocabulary(
            villages=villages, causes=by_label(PovertyCause), statuses=by_label(HouseholdStatus),
            labour=by_label(LabourCapacity), categories=categories, urgency=urgency,
        )  # fmt: skip


# --- the workbook -------------------------------------------------------------------------


def build_template(user: User) -> bytes:
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
    for title, columns in ((HOUSEHOLD_SHEET, HOUSEHOLD_COLUMNS), (NEED_SHEET, NEED_COLUMNS)):
        sheet = book.create_sheet(title)
        sheet.append([header for _name, header in columns])
        for index, (name, _header) in enumerate(columns, start=1):
            cell = sheet.cell(row=1, column=index)
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = PatternFill("solid", fgColor="9C1C1C")
            letter = cell.column_letter
            sheet.column_dimensions[letter].width = 22 if name in lists else 16
            if name in TEXT_COLUMNS:
                # Text, so that Excel keeps all 18 digits of an ID number.
                for row in range(2, TEMPLATE_ROWS + 2):
                    sheet.cell(row=row, column=index).number_format = "@"
            if name in lists:
                check = DataValidation(
                    type="list", formula1=f"={ranges[lists[name]]}", allow_blank=True,
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
    "1. 在“贫困户”表每行填写一户，在“需求”表每行填写一条需求；带 * 的列必须填写。",
    "2. 所在村、致贫原因、状态、劳动能力、需求类别、紧急程度请从下拉列表中选择。",
    "3. 身份证号、手机号、户编号列已设为“文本”格式：请直接输入或粘贴为“值”，"
    "不要让 Excel 转成数字。",
    "4. 需求的户编号可以是本文件中的新户，也可以是登记册中已有的户；"
    "村级需求（道路、水窖等）户编号留空。",
    "5. 多个其他致贫原因用顿号（、）分隔；日期写成 2026-12-31。",
    "6. 上传后系统逐行检查并显示预览；确认后才写入，且全部写入或全部不写。",
]
