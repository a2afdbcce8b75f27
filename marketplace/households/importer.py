"""Bulk import of households and needs from the Excel template (批量导入).

Village staff download a template (Chinese headers, drop-down lists), fill it in and upload it.
Every row is checked and the user sees a preview with row-by-row messages; nothing is written
until they confirm, and then every row or none. The template speaks Chinese whatever the page's
language: registers are exchanged between offices as Chinese spreadsheets.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from marketplace.accounts.models import User
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.households.models import Household
from marketplace.households.services import may_edit
from marketplace.needs.forms import URGENCY_CHOICES
from marketplace.needs.models import Need, NeedStatus
from marketplace.oversight.services import record_event
from marketplace.permissions import region_clause
from marketplace.regions.models import Region, RegionLevel
from marketplace.validation import normalise_id_number, normalise_mobile
from marketplace.vocab import (
    CATEGORIES,
    CATEGORY_TREE,
    HouseholdStatus,
    LabourCapacity,
    PovertyCause,
)

HOUSEHOLD_SHEET, NEED_SHEET, OPTIONS_SHEET, GUIDE_SHEET = "贫困户", "需求", "选项", "填写说明"
TEMPLATE_ROWS = 10_000  # rows prepared with drop-downs and text formats
CODE_RE = re.compile(r"(\d{12})")
LIST_SEPARATORS = re.compile(r"[、,，;；\s]+")

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


def _header_key(text: Any) -> str:
    """Headers compare without the required-mark, spaces or the bracketed hints."""
    return re.sub(r"[*\s]|（.*?）|\(.*?\)", "", str(text or ""))


@dataclass
class RowResult:
    sheet: str
    number: int  # the spreadsheet's row number, as the user sees it
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(self.values.get("register_number") or "")


@dataclass
class Preview:
    households: list[RowResult]
    needs: list[RowResult]
    file_errors: list[str] = field(default_factory=list)

    @property
    def rows_with_errors(self) -> list[RowResult]:
        return [r for r in [*self.households, *self.needs] if r.errors]

    @property
    def ok(self) -> bool:
        return (
            not self.file_errors
            and not self.rows_with_errors
            and bool(self.households or self.needs)
        )


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


# --- the template -------------------------------------------------------------------------


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


# --- reading and checking an upload -------------------------------------------------------


class _Cells:
    """Typed reads of one row's cells; each problem becomes a Chinese message on the row."""

    def __init__(self, row: RowResult, cells: dict[str, Any], headers: dict[str, str]) -> None:
        self.row, self.cells, self.headers = row, cells, headers

    def fail(self, name: str, message: Any) -> None:
        self.row.errors.append(
            _("%(column)s: %(problem)s", column=self.headers[name], problem=str(message))
        )

    def raw(self, name: str) -> Any:
        value = self.cells.get(name)
        return value.strip() if isinstance(value, str) else value

    def text(self, name: str, max_length: int, required: bool = False) -> str:
        value = self.raw(name)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, datetime):
            value = value.date().isoformat()
        text = "" if value is None else str(value).strip()
        if required and not text:
            self.fail(name, _l("This column must be filled in."))
        elif len(text) > max_length:
            self.fail(name, _l("At most %(n)s characters.", n=max_length))
        return text

    def identifier(self, name: str, required: bool) -> str:
        """A number written as text; Excel numbers of 16 digits or more have lost digits."""
        value = self.raw(name)
        if isinstance(value, (int, float)) and abs(value) >= 10**15:
            self.fail(name, _l(
                "Excel stored this number as a number and has lost its last digits. Format the "
                "column as Text and type the number again (or start it with an apostrophe ')."
            ))  # fmt: skip
            return ""
        return self.text(name, 30, required)

    def choice(self, name: str, mapping: dict[str, Any], default: Any = None) -> Any:
        value = self.text(name, 200)
        if not value:
            if default is None:
                self.fail(name, _l("This column must be filled in."))
            return default
        if value not in mapping:
            self.fail(name, _l('"%(value)s" is not in the list.', value=value[:40]))
            return default
        return mapping[value]

    def whole(self, name: str, low: int, high: int, default: int | None = None) -> int | None:
        value = self.raw(name)
        if value in (None, ""):
            if default is None:
                self.fail(name, _l("This column must be filled in."))
            return default
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            number = Decimal("NaN")
        if (
            not number.is_finite()
            or number != number.to_integral_value()
            or not (low <= number <= high)
        ):
            self.fail(name, _l("A whole number from %(low)s to %(high)s.", low=low, high=high))
            return default
        return int(number)

    def money(self, name: str) -> Decimal | None:
        value = self.raw(name)
        if value in (None, ""):
            return None
        try:
            amount = Decimal(str(value)).quantize(Decimal("0.01"))
        except InvalidOperation:
            amount = Decimal(-1)
        if not amount.is_finite() or amount < 0 or amount > Decimal("1e10"):
            self.fail(name, _l("An amount in yuan, zero or more."))
            return None
        return amount

    def day(self, name: str) -> date | None:
        value = self.raw(name)
        if value in (None, ""):
            return None
        if isinstance(value, datetime):
            return value.date()
        try:
            return date.fromisoformat(str(value).replace("/", "-"))
        except ValueError:
            self.fail(name, _l("A date such as 2026-12-31."))
            return None


def _rows(sheet: Any, columns: list[tuple[str, str]], title: str,
          errors: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:  # fmt: skip
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None) or ()
    wanted = {_header_key(h): name for name, h in columns}
    positions = {
        wanted[_header_key(h)]: i for i, h in enumerate(header) if _header_key(h) in wanted
    }
    missing = [h for name, h in columns if name not in positions and h.endswith("*")]
    if missing:
        errors.append(_("Sheet %(sheet)s lacks the columns: %(columns)s. Use the template.",
                        sheet=title, columns="、".join(missing)))  # fmt: skip
        return
    for number, values in enumerate(rows, start=2):
        if values is None or all(v in (None, "") for v in values):
            continue
        yield number, {n: values[i] if i < len(values) else None for n, i in positions.items()}


def read_upload(user: User, data: bytes, max_rows: int) -> Preview:
    """Parse and check every row; writes nothing."""
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise ServiceError(_l("The file could not be read as an Excel workbook.")) from exc
    vocab = vocabulary(user)
    preview = Preview([], [])
    sheets = {name: book[name] for name in (HOUSEHOLD_SHEET, NEED_SHEET) if name in book.sheetnames}
    if not sheets:
        preview.file_errors.append(
            _(
                "The workbook has no sheet named %(a)s or %(b)s. Use the template.",
                a=HOUSEHOLD_SHEET,
                b=NEED_SHEET,
            )
        )
    headers = {HOUSEHOLD_SHEET: HOUSEHOLD_HEADERS, NEED_SHEET: NEED_HEADERS}
    villages = _village_lookup(vocab.villages)
    count = 0
    for title, columns, target in (
        (HOUSEHOLD_SHEET, HOUSEHOLD_COLUMNS, preview.households),
        (NEED_SHEET, NEED_COLUMNS, preview.needs),
    ):
        if title not in sheets:
            continue
        for number, cells in _rows(sheets[title], columns, title, preview.file_errors):
            count += 1
            if count > max_rows:
                book.close()
                raise ServiceError(_l("At most %(n)s rows per upload.", n=max_rows))
            row = RowResult(title, number)
            reader = _Cells(row, cells, headers[title])
            if title == HOUSEHOLD_SHEET:
                _check_household(reader, vocab, villages)
            else:
                _check_need(reader, vocab, villages)
            target.append(row)
    book.close()
    _check_duplicates(preview)
    _link_needs(user, preview)
    return preview


def _village_lookup(villages: list[Region]) -> dict[str, Region]:
    lookup: dict[str, Region] = {v.code: v for v in villages}
    names: dict[str, list[Region]] = {}
    for v in villages:
        names.setdefault(v.name, []).append(v)
    lookup.update({name: vs[0] for name, vs in names.items() if len(vs) == 1})
    return lookup


def _village(reader: _Cells, villages: dict[str, Region], required: bool = True) -> Region | None:
    text = reader.text("village", 200, required)
    if not text:
        return None
    code = CODE_RE.search(text)
    village = villages.get(code.group(1) if code else text)
    if village is None:
        reader.fail("village", _l("Not one of the villages you look after."))
    return village


def _check_household(reader: _Cells, vocab: Vocabulary, villages: dict[str, Region]) -> None:
    values = reader.row.values
    values["register_number"] = reader.identifier("register_number", required=True)
    values["village"] = _village(reader, villages)
    values["head_name"] = reader.text("head_name", 50, required=True)
    id_number = reader.identifier("head_id_number", required=True)
    if id_number:
        try:
            values["head_id_number"] = normalise_id_number(id_number)
        except ValueError as exc:
            reader.fail("head_id_number", exc.args[0])
    phone = reader.identifier("phone", required=False)
    values["phone"] = ""
    if phone:
        try:
            values["phone"] = normalise_mobile(phone)
        except ValueError as exc:
            reader.fail("phone", exc.args[0])
    values["member_count"] = reader.whole("member_count", 1, 30)
    values["primary_cause"] = reader.choice("primary_cause", vocab.causes)
    others = []
    for part in LIST_SEPARATORS.split(reader.text("other_causes", 200)):
        if part and part not in vocab.causes:
            reader.fail("other_causes", _l('"%(value)s" is not in the list.', value=part[:40]))
        elif part and vocab.causes[part] != values["primary_cause"]:
            others.append(vocab.causes[part])
    values["other_causes"] = list(dict.fromkeys(others))
    values["status"] = reader.choice("status", vocab.statuses, HouseholdStatus.POOR.value)
    values["labour_capacity"] = reader.choice(
        "labour_capacity", vocab.labour, LabourCapacity.FULL.value
    )
    values["income_per_capita"] = reader.money("income_per_capita")


def _check_need(reader: _Cells, vocab: Vocabulary, villages: dict[str, Region]) -> None:
    values = reader.row.values
    values["register_number"] = reader.identifier("register_number", required=False)
    values["village"] = _village(reader, villages)
    values["subcategory"] = reader.choice("subcategory", vocab.categories)
    values["title"] = reader.text("title", 100, required=True)
    values["description"] = reader.text("description", 2000)
    values["quantity"] = reader.whole("quantity", 1, 1_000_000)
    values["unit"] = reader.text("unit", 20, required=True)
    values["estimated_value"] = reader.money("estimated_value") or Decimal(0)
    urgency = reader.text("urgency", 40)
    values["urgency"] = 2
    if urgency:
        if urgency[0] in "123":
            values["urgency"] = int(urgency[0])
        else:
            reader.fail("urgency", _l('"%(value)s" is not in the list.', value=urgency[:40]))
    values["needed_by"] = reader.day("needed_by")
    if values["needed_by"] is not None and values["needed_by"] < date.today():
        reader.fail("needed_by", _l("The date needed by cannot be in the past."))


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _check_duplicates(preview: Preview) -> None:
    """Repeated register or ID numbers inside the file, and numbers already registered."""
    seen: dict[tuple[str, str], int] = {}
    for row in preview.households:
        for name in ("register_number", "head_id_number"):
            value = row.values.get(name)
            if not value:
                continue
            first = seen.setdefault((name, value), row.number)
            if first != row.number:
                row.errors.append(_("%(column)s: the same as row %(row)s of this file.",
                                    column=HOUSEHOLD_HEADERS[name], row=first))  # fmt: skip
    for name, column in (("register_number", Household.register_number),
                         ("head_id_number", Household.head_id_number)):  # fmt: skip
        values = [r.values[name] for r in preview.households if r.values.get(name)]
        taken: set[str] = set()
        for chunk in _chunks(values):
            taken.update(db.session.scalars(sa.select(column).where(column.in_(chunk))))
        for row in preview.households:
            if row.values.get(name) in taken:
                message = (
                    _l("A household with this register number already exists.")
                    if name == "register_number"
                    else _l("A household with this ID card number is already registered.")
                )
                row.errors.append(_("%(column)s: %(problem)s", column=HOUSEHOLD_HEADERS[name],
                                    problem=str(message)))  # fmt: skip


def _link_needs(user: User, preview: Preview) -> None:
    """A need's household: a new one from this file, or one already in the user's register."""
    in_file = {r.values["register_number"]: r for r in preview.households if r.values.get(
        "register_number")}  # fmt: skip
    wanted = [r.values["register_number"] for r in preview.needs if r.values.get("register_number")]
    registered: dict[str, Household] = {}
    for chunk in _chunks([n for n in wanted if n not in in_file]):
        for household in db.session.scalars(
            sa.select(Household).where(Household.register_number.in_(chunk))
        ):
            registered[household.register_number] = household
    for row in preview.needs:
        number = row.values.get("register_number")
        village = row.values.get("village")
        if not number:
            continue
        if number in in_file:
            household_village = in_file[number].values.get("village")
        elif number in registered and may_edit(user, registered[number]):
            row.values["household"] = registered[number]
            household_village = registered[number].village
        else:
            row.errors.append(_("%(column)s: %(problem)s", column=NEED_HEADERS["register_number"],
                                problem=_("No household with this number in this file or in your "
                                          "register.")))  # fmt: skip
            continue
        if village is not None and household_village is not None and household_village != village:
            row.errors.append(_("%(column)s: %(problem)s", column=NEED_HEADERS["village"],
                                problem=_("The household lives in another village.")))  # fmt: skip


# --- writing ------------------------------------------------------------------------------


def import_rows(user: User, preview: Preview, file_digest: str) -> tuple[int, int]:
    """Write every row of a clean preview in the caller's transaction: all or nothing."""
    if not preview.ok:
        raise ServiceError(_l("Correct the rows marked in the preview first."))
    created: dict[str, Household] = {}
    for row in preview.households:
        values = dict(row.values)
        village = values.pop("village")
        if not may_edit(user, village=village):
            raise ServiceError(_l("Only the staff of this village may change its register."), 403)
        values["primary_cause"] = PovertyCause(values["primary_cause"])
        values["status"] = HouseholdStatus(values["status"])
        values["labour_capacity"] = LabourCapacity(values["labour_capacity"])
        household = Household(village=village, created_by_id=user.id, **values)
        created[household.register_number] = household
        db.session.add(household)
    db.session.flush()
    needs = []
    for row in preview.needs:
        values = dict(row.values)
        number = values.pop("register_number")
        owner = values.pop("household", None) or (created.get(number) if number else None)
        village = values.pop("village")
        needs.append(Need(
            village=village, household=owner, category=CATEGORIES[values["subcategory"]].parent,
            open_quantity=values["quantity"], created_by_id=user.id, status=NeedStatus.SUBMITTED,
            **values,
        ))  # fmt: skip
    db.session.add_all(needs)
    db.session.flush()
    # One event for the batch; the file's digest ties it to what was uploaded. Register
    # numbers are not personal data; names and ID numbers stay out of the trail.
    record_event("register_imported", user, after={
        "file_sha256": file_digest, "households": len(created), "needs": len(needs),
        "register_numbers": sorted(created), "need_ids": [n.id for n in needs],
    })  # fmt: skip
    return len(created), len(needs)


# --- the upload between preview and confirmation -------------------------------------------

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
PENDING_HOURS = 24


def _pending_dir() -> Path:
    folder = Path(current_app.config["INSTANCE_DIR"]) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def keep_pending(user: User, data: bytes) -> str:
    """Keep a checked upload until the user confirms it; old ones are removed on the way."""
    folder = _pending_dir()
    cutoff = time.time() - PENDING_HOURS * 3600
    for old in folder.glob("*.xlsx"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(24)
    path = folder / f"{user.id}-{token}.xlsx"
    path.write_bytes(data)
    path.chmod(0o600)
    return token


def pending(user: User, token: str) -> bytes:
    path = _pending_dir() / f"{user.id}-{token}.xlsx"
    if not TOKEN_RE.fullmatch(token or "") or not path.exists():
        raise ServiceError(_l("This upload has expired or was already imported. Upload again."))
    return path.read_bytes()


def discard_pending(user: User, token: str) -> None:
    if TOKEN_RE.fullmatch(token or ""):
        (_pending_dir() / f"{user.id}-{token}.xlsx").unlink(missing_ok=True)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
