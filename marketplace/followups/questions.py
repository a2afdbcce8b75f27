"""What a follow-up asks, and when follow-ups fall due.

A question set is what staff ask at a visit, by kind of help: jobs (still employed? the monthly
wage), training (working with the skill?), livestock (alive, producing, income), industry
(running, producing, income), goods (in use?). Its first question says whether the help is
still working (``FollowUp.effective``); ``amount`` is money, either a monthly figure (a wage,
counted for each month since the previous check) or the income of the period since then.

The schedule (setting ``FOLLOW_UP_SCHEDULE``, JSON) is a list of rules tried in order; the first
whose ``kind`` (the resource's) and ``category`` (the need's sub-category or its top category)
both fit gives the months after the help arrived and the question set. Help no rule fits is not
followed up (money for school fees, a telecom discount).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from marketplace.resources.models import ResourceKind
from marketplace.vocab import CATEGORIES

# The schedule when FOLLOW_UP_SCHEDULE is not set. Livestock and industry first: donated sheep
# are goods, yet they are followed up as livestock.
DEFAULT_SCHEDULE: list[dict[str, Any]] = [
    {"category": "industry.livestock", "months": [6, 12], "questions": "livestock"},
    {"category": "industry", "months": [6, 12], "questions": "industry"},
    {"kind": "jobs", "months": [1, 3, 6], "questions": "jobs"},
    {"kind": "training", "months": [3], "questions": "training"},
    {"category": "jobs.training", "months": [3], "questions": "training"},
    {"category": "jobs", "months": [1, 3, 6], "questions": "jobs"},
    {"kind": "goods", "months": [3], "questions": "goods"},
]
MAX_MONTHS = 60


@dataclass(frozen=True)
class QuestionSet:
    code: str
    label: LazyString
    effective: LazyString  # the yes/no question: is the help still working?
    producing: LazyString | None = None  # a second yes/no question, when asked
    amount: LazyString | None = None  # the money asked, when asked
    # True: ``amount`` is per month (a wage), counted for each month since the previous check;
    # False: it is the income of the period since the previous check.
    monthly: bool = False
    # True: the amount is asked whenever the help is still working.
    amount_required: bool = False


QUESTION_SETS: dict[str, QuestionSet] = {
    q.code: q
    for q in (
        QuestionSet(
            "jobs", _l("Employment"), _l("Still employed?"),
            amount=_l("Monthly wage (yuan)"), monthly=True, amount_required=True,
        ),
        QuestionSet(
            "training", _l("Skills training"), _l("Working with the skill learned?"),
            amount=_l("Monthly income from the skill (yuan, if any)"), monthly=True,
        ),
        QuestionSet(
            "livestock", _l("Livestock"), _l("Are the animals alive?"),
            producing=_l("Producing (young, milk, wool, sales)?"),
            amount=_l("Income since the last check (yuan)"),
        ),
        QuestionSet(
            "industry", _l("Industry project"), _l("Is the project still running?"),
            producing=_l("Producing or paying dividends?"),
            amount=_l("Income since the last check (yuan)"),
        ),
        QuestionSet("goods", _l("Goods"), _l("Still in use?")),
    )
}  # fmt: skip


@dataclass(frozen=True)
class Rule:
    months: tuple[int, ...]
    questions: str
    kind: str | None = None
    category: str | None = None

    def fits(self, kind: str, category: str) -> bool:
        if self.kind is not None and self.kind != kind:
            return False
        return self.category is None or (
            category == self.category or category.startswith(self.category + ".")
        )


def parse_schedule(raw: Any) -> list[Rule]:
    """The rules of a FOLLOW_UP_SCHEDULE value (JSON text or a list); ValueError naming what is
    wrong. Empty means the defaults."""
    if raw in (None, "", []):
        raw = DEFAULT_SCHEDULE
    items = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(items, list):
        raise ValueError("a JSON list of rules")
    rules = []
    kinds = {k.value for k in ResourceKind}
    for item in items:
        if not isinstance(item, dict) or set(item) - {"kind", "category", "months", "questions"}:
            raise ValueError('each rule an object of "kind", "category", "months", "questions"')
        months = item.get("months")
        if (
            not isinstance(months, list)
            or not months
            or any(isinstance(m, bool) or not isinstance(m, int) for m in months)
            or not all(0 < m <= MAX_MONTHS for m in months)
            or len(set(months)) != len(months)
        ):
            raise ValueError(f'"months": distinct whole numbers from 1 to {MAX_MONTHS}')
        if item.get("questions") not in QUESTION_SETS:
            raise ValueError('"questions": one of ' + ", ".join(QUESTION_SETS))
        if item.get("kind") is not None and item["kind"] not in kinds:
            raise ValueError('"kind": one of ' + ", ".join(sorted(kinds)))
        if item.get("category") is not None and item["category"] not in CATEGORIES:
            raise ValueError('"category": a category code such as "industry.livestock"')
        rules.append(
            Rule(tuple(sorted(months)), item["questions"], item.get("kind"), item.get("category"))
        )
    return rules


def rule_for(rules: list[Rule], kind: str, category: str) -> Rule | None:
    return next((r for r in rules if r.fits(kind, category)), None)
