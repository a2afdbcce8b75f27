"""Reading an upload into a Preview: typed cells, one result per row with every problem found,
duplicates inside the file and against the register, and the household each need names.
Nothing is written here."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import User
from marketplace.errors import Problem, ServiceError
from marketplace.extensions import db
from marketplace.households.models import Household, HouseholdMember
from marketplace.households.policy import can_edit
from marketplace.households.services import (
    ALREADY_REGISTERED,
    IN_ANOTHER_ROSTER,
    household_problems,
    member_problems,
    registered_elsewhere,
    roster_rules,
)
from marketplace.imports.template import (
    HOUSEHOLD_COLUMNS,
    HOUSEHOLD_HEADERS,
    HOUSEHOLD_SHEET,
    MEMBER_COLUMNS,
    MEMBER_HEADERS,
    MEMBER_SHEET,
    NEED_COLUMNS,
    NEED_HEADERS,
    NEED_SHEET,
    YES_NO,
    Vocabulary,
    header_key,
    vocabulary,
)
from marketplace.needs.services import need_problems
from marketplace.regions.models import Region
from marketplace.validation import normalise_id_number, normalise_mobile
from marketplace.vocab import HouseholdStatus, LabourCapacity

CODE_RE = re.compile(r"(\d{12})")
LIST_SEPARATORS = re.compile(r"[、,，;；\s]+")


@dataclass
class RowResult:
    sheet: str
    number: int  # the spreadsheet's row number, as the user sees it
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(self.values.get("register_number") or "")

    def describe(self) -> str:
        """The row's problems on one line (a background run's page, the command's output)."""
        return f"{self.sheet} {self.number} {self.label}: {'；'.join(self.errors)}"


@dataclass
class Preview:
    households: list[RowResult]
    needs: list[RowResult]
    file_errors: list[str] = field(default_factory=list)
    members: list[RowResult] = field(default_factory=list)

    @property
    def rows_with_errors(self) -> list[RowResult]:
        return [r for r in [*self.households, *self.members, *self.needs] if r.errors]

    @property
    def rows(self) -> int:
        return len(self.households) + len(self.members) + len(self.needs)

    @property
    def ok(self) -> bool:
        return (
            not self.file_errors
            and not self.rows_with_errors
            and bool(self.households or self.needs or self.members)
        )


def _whole_number(value: Any) -> int | None:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    return int(number)


class Cells:
    """Typed reads of one row's cells; each problem becomes a Chinese message on the row."""

    def __init__(self, row: RowResult, cells: dict[str, Any], headers: dict[str, str]) -> None:
        self.row, self.cells, self.headers = row, cells, headers
        self.failed: set[str] = set()  # the columns already refused

    def fail(self, name: str, message: Any) -> None:
        self.failed.add(name)
        self.row.errors.append(
            _("%(column)s: %(problem)s", column=self.headers[name], problem=str(message))
        )

    def report(self, problems: list[Problem]) -> None:
        """The problems a service's check found, except on columns that could not be read
        (a problem of no column is the row's)."""
        for problem in problems:
            if not problem.field:
                self.row.errors.append(str(problem.message))
            elif problem.field in self.headers and problem.field not in self.failed:
                self.fail(problem.field, problem.message)

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

    def integer(self, name: str) -> Any:
        """A required whole number whose limits a service's check judges: the number, or the
        cell as it is when it holds none (the check then refuses it)."""
        value = self.raw(name)
        if value in (None, ""):
            self.fail(name, _l("This column must be filled in."))
            return None
        number = _whole_number(value)
        return value if number is None else number

    def whole(self, name: str, low: int, high: int, default: int | None = None) -> int | None:
        value = self.raw(name)
        if value in (None, ""):
            if default is None:
                self.fail(name, _l("This column must be filled in."))
            return default
        number = _whole_number(value)
        if number is None or not low <= number <= high:
            self.fail(name, _l("A whole number from %(low)s to %(high)s.", low=low, high=high))
            return default
        return number

    def yes_no(self, name: str) -> bool:
        """是 or 否; empty is 否."""
        value = self.text(name, 20)
        if value and value not in YES_NO:
            self.fail(name, _l('"%(value)s" is not in the list.', value=value[:40]))
        return YES_NO.get(value, False)

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
    wanted = {header_key(h): name for name, h in columns}
    positions = {wanted[header_key(h)]: i for i, h in enumerate(header) if header_key(h) in wanted}
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
    from openpyxl import load_workbook  # with NumPy: paid by the first upload, not the start

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise ServiceError(_l("The file could not be read as an Excel workbook.")) from exc
    vocab = vocabulary(user)
    preview = Preview([], [])
    titles = (HOUSEHOLD_SHEET, MEMBER_SHEET, NEED_SHEET)
    sheets = {name: book[name] for name in titles if name in book.sheetnames}
    if not sheets:
        preview.file_errors.append(
            _(
                "The workbook has no sheet named %(a)s or %(b)s. Use the template.",
                a=HOUSEHOLD_SHEET,
                b=NEED_SHEET,
            )
        )
    headers = {
        HOUSEHOLD_SHEET: HOUSEHOLD_HEADERS,
        MEMBER_SHEET: MEMBER_HEADERS,
        NEED_SHEET: NEED_HEADERS,
    }
    villages = _village_lookup(vocab.villages)
    count = 0
    for title, columns, target in (
        (HOUSEHOLD_SHEET, HOUSEHOLD_COLUMNS, preview.households),
        (MEMBER_SHEET, MEMBER_COLUMNS, preview.members),
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
            reader = Cells(row, cells, headers[title])
            if title == HOUSEHOLD_SHEET:
                _check_household(reader, vocab, villages)
            elif title == MEMBER_SHEET:
                _check_member(reader, vocab)
            else:
                _check_need(reader, vocab, villages)
            target.append(row)
    book.close()
    _check_duplicates(preview)
    _link_needs(user, preview)
    _link_members(user, preview)
    return preview


def _village_lookup(villages: list[Region]) -> dict[str, Region]:
    lookup: dict[str, Region] = {v.code: v for v in villages}
    names: dict[str, list[Region]] = {}
    for v in villages:
        names.setdefault(v.name, []).append(v)
    lookup.update({name: vs[0] for name, vs in names.items() if len(vs) == 1})
    return lookup


def _village(reader: Cells, villages: dict[str, Region], required: bool = True) -> Region | None:
    text = reader.text("village", 200, required)
    if not text:
        return None
    code = CODE_RE.search(text)
    village = villages.get(code.group(1) if code else text)
    if village is None:
        reader.fail("village", _l("Not one of the villages you look after."))
    return village


def _check_household(reader: Cells, vocab: Vocabulary, villages: dict[str, Region]) -> None:
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
    values["member_count"] = reader.integer("member_count")
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
    reader.report(household_problems(values))


def _check_need(reader: Cells, vocab: Vocabulary, villages: dict[str, Region]) -> None:
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
    reader.report(need_problems(values))


def _check_member(reader: Cells, vocab: Vocabulary) -> None:
    values = reader.row.values
    values["register_number"] = reader.identifier("register_number", required=True)
    values["relation"] = reader.choice("relation", vocab.relations)
    values["name"] = reader.text("name", 50, required=True)
    values["id_number"] = ""
    id_number = reader.identifier("id_number", required=True)
    if id_number:
        try:
            values["id_number"] = normalise_id_number(id_number)
        except ValueError as exc:
            reader.fail("id_number", exc.args[0])
    values["labour"] = reader.choice("labour", vocab.member_labour)
    health = reader.choice("health", vocab.health)
    values["health"], values["disability_grade"] = health or (None, None)
    values["schooling"] = reader.choice("schooling", vocab.schooling)
    values["in_school"] = reader.yes_no("in_school")
    values["skills"] = reader.text("skills", 200)
    values["working_away"] = reader.yes_no("working_away")
    problems = member_problems(values)
    # The grade is written inside the health column: its problems are that column's.
    reader.report([Problem("health", p.message) if p.field == "disability_grade" else p
                   for p in problems])  # fmt: skip


def _link_members(user: User, preview: Preview) -> None:
    """Each member's household (a new one from this file, or one of the user's register),
    and the rules of its roster over the rows of the file and the roster already registered:
    one head, the household's head name and number, nobody twice, in no other household, no
    more members than the household has."""
    in_file = {r.values["register_number"]: r for r in preview.households
               if r.values.get("register_number")}  # fmt: skip
    numbers = [r.values.get("register_number") for r in preview.members]
    wanted = [n for n in numbers if n and n not in in_file]
    registered: dict[str, Household] = {}
    for chunk in _chunks(list(dict.fromkeys(wanted))):
        for household in db.session.scalars(
            sa.select(Household).where(Household.register_number.in_(chunk))
        ):
            registered[household.register_number] = household
    rosters: dict[str, list[tuple[str, str]]] = {}
    for row in preview.members:
        number = row.values.get("register_number")
        if not number:
            continue
        found = registered.get(number)
        if number in in_file:
            values = in_file[number].values
            head = (values.get("head_name") or "", values.get("head_id_number") or "")
            count = values.get("member_count")
        elif found is not None and can_edit(user, found):
            row.values["household"] = found
            head = (found.head_name, found.head_id_number)
            count = found.member_count
            rosters.setdefault(number, [(m.relation.value, m.id_number) for m in found.members])
        else:
            row.errors.append(_("%(column)s: %(problem)s", column=MEMBER_HEADERS["register_number"],
                                problem=_("No household with this number in this file or in your "
                                          "register.")))  # fmt: skip
            continue
        roster = rosters.setdefault(number, [])
        if row.errors or not isinstance(count, int):
            roster.append((row.values.get("relation") or "", row.values.get("id_number") or ""))
            continue
        for problem in roster_rules(head, count, roster, row.values, adding=True):
            column = MEMBER_HEADERS.get(problem.field)
            message = str(problem.message)
            row.errors.append(_("%(column)s: %(problem)s", column=column, problem=message)
                              if column else message)  # fmt: skip
        roster.append((row.values["relation"], row.values["id_number"]))
    _check_members_elsewhere(preview, in_file, registered)


def _check_members_elsewhere(
    preview: Preview, in_file: dict[str, RowResult], registered: dict[str, Household]
) -> None:
    """One person, one household: a member's number is no other household's head or member,
    in this file or in the register."""
    heads_in_file = {r.values.get("head_id_number"): r.values.get("register_number")
                     for r in preview.households if r.values.get("head_id_number")}  # fmt: skip
    seen: dict[str, str] = {}
    for row in preview.members:
        number, household = row.values.get("id_number"), row.values.get("register_number")
        if not number or not household:
            continue
        head_of = heads_in_file.get(number)
        first = seen.setdefault(number, household)
        if (head_of is not None and head_of != household) or first != household:
            row.errors.append(_("%(column)s: %(problem)s", column=MEMBER_HEADERS["id_number"],
                                problem=str(IN_ANOTHER_ROSTER)))  # fmt: skip
    own = {h.id for h in registered.values()}
    numbers = [r.values["id_number"] for r in preview.members if r.values.get("id_number")]
    taken = registered_elsewhere(numbers, own)
    for row in (r for r in preview.members if r.values.get("id_number") in taken):
        row.errors.append(_("%(column)s: %(problem)s", column=MEMBER_HEADERS["id_number"],
                            problem=str(IN_ANOTHER_ROSTER)))  # fmt: skip


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
                row.errors.append(_("%(column)s: %(problem)s", column=HOUSEHOLD_HEADERS[name],
                                    problem=str(ALREADY_REGISTERED[name])))  # fmt: skip
    # One person, one household: a new head already in a household's roster.
    heads = [r.values.get("head_id_number") or "" for r in preview.households]
    in_rosters: set[str] = set()
    member = HouseholdMember.id_number
    for chunk in _chunks([h for h in heads if h]):
        in_rosters.update(
            db.session.scalars(sa.select(member).where(member != "", member.in_(chunk)))
        )
    for row in (r for r in preview.households if r.values.get("head_id_number") in in_rosters):
        row.errors.append(_("%(column)s: %(problem)s", column=HOUSEHOLD_HEADERS["head_id_number"],
                            problem=str(IN_ANOTHER_ROSTER)))  # fmt: skip


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
        elif number in registered and can_edit(user, registered[number]):
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
