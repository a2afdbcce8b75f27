"""Random spot checks (随机抽查): a recorded seed over a recorded population gives a sample that
anyone can draw again."""

from __future__ import annotations

import random
import secrets
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Role, User
from marketplace.attachments.services import attach
from marketplace.audit.services import record_event
from marketplace.db import utcnow
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.matches.models import Match, MatchStatus
from marketplace.needs.models import Need
from marketplace.oversight import policy
from marketplace.oversight.models import (
    CHECKS,
    Finding,
    SpotCheck,
    SpotCheckItem,
    SpotCheckStatus,
)
from marketplace.permissions import region_clause
from marketplace.regions.models import Region
from marketplace.vocab import CATEGORIES

MAX_SAMPLE = 500


def draw(population: list[int], size: int, seed: int) -> list[int]:
    """The sample: deterministic for a seed and a population (sorted first, so row order in the
    database cannot change it)."""
    ordered = sorted(population)
    return sorted(random.Random(seed).sample(ordered, min(size, len(ordered))))


def population_of(region: Region, start: date, end: date, category: str, status: str) -> list[int]:
    query = (
        sa.select(Match.id)
        .join(Need, Match.need_id == Need.id)
        .join(Region, Need.village_id == Region.id)
        .where(
            Region.path.startswith(region.path, autoescape=True),
            Match.created_at >= datetime.combine(start, time.min, UTC),
            Match.created_at <= datetime.combine(end, time.max, UTC),
        )
    )
    if category:
        query = query.where(sa.or_(Need.category == category, Need.subcategory == category))
    if status:
        query = query.where(Match.status == status)
    return sorted(db.session.scalars(query))


def create(
    actor: User, region: Region, start: date, end: date, category: str, status: str,
    size: int, seed: int | None,
) -> SpotCheck:  # fmt: skip
    if not policy.can_draw_spot_check(actor, region):
        raise ServiceError(_l("Only auditors of this region may draw a spot check."), 403)
    if end < start:
        raise ServiceError(_l("The end of the period comes before its start."))
    if category and category not in CATEGORIES:
        raise ServiceError(_l("Choose a category from the list."))
    if status and status not in {s.value for s in MatchStatus}:
        raise ServiceError(_l("Unknown match status."))
    if not 1 <= size <= MAX_SAMPLE:
        raise ServiceError(_l("The sample size is between 1 and %(n)s.", n=MAX_SAMPLE))
    if seed is not None and not 0 <= seed < 2**62:
        raise ServiceError(_l("The seed is a whole number from 0 to 2^62."))
    population = population_of(region, start, end, category, status)
    if not population:
        raise ServiceError(_l("No match falls in this population: widen the period or region."))
    seed = secrets.randbelow(2**31) if seed is None else seed
    check = SpotCheck(
        created_by_id=actor.id, region=region, period_start=start, period_end=end,
        category=category, match_status=status, sample_size=size, seed=seed,
        population=population, sample=draw(population, size, seed),
    )  # fmt: skip
    check.items = [SpotCheckItem(match_id=m) for m in check.sample]
    db.session.add(check)
    db.session.flush()
    drawn = {"seed": seed, "population": len(population), "sample": check.sample}
    record_event("spot_check_drawn", actor, check, after=drawn)
    return check


def redraw_matches(check: SpotCheck) -> bool:
    """Re-check: the recorded seed over the recorded population gives the recorded sample."""
    return draw(check.population, check.sample_size, check.seed) == check.sample


def checks_for(user: User) -> sa.Select[Any]:
    query = sa.select(SpotCheck).join(Region, SpotCheck.region_id == Region.id)
    if user.role == Role.SUPERUSER:
        return query
    # Auditors and administrators read the checks drawn inside their region.
    return query.where(region_clause(user, Region.path))


def get(user: User, check_id: int) -> SpotCheck:
    check = db.session.scalar(checks_for(user).where(SpotCheck.id == check_id))
    if check is None or not policy.can_read_spot_check(user, check):
        raise ServiceError(_l("The page or record was not found."), 404)
    return check


def photo_purpose(item: SpotCheckItem) -> str:
    """Photos taken during a check document the sampled match; the purpose ties them to the item."""
    return f"check_{item.id}"


def record_findings(
    actor: User,
    item: SpotCheckItem,
    findings: dict[str, str],
    note: str,
    photo: tuple[bytes, str, str] | None = None,
) -> None:
    check = item.check
    require_author_of_open(actor, check)
    for name in CHECKS:
        value = findings.get(name, Finding.UNCHECKED.value)
        if value not in {f.value for f in Finding}:
            raise ServiceError(_l("Unknown finding."))
        setattr(item, name, Finding(value))
    item.note = note.strip()[:2000]
    found: dict[str, object] = {
        "match": item.match_id,
        **{n: getattr(item, n).value for n in CHECKS},
    }
    if photo is not None:
        found["photo"] = attach("match", item.match_id, photo, actor, photo_purpose(item)).id
    record_event("spot_check_finding", actor, check, after=found)


def unchecked(check: SpotCheck) -> list[tuple[SpotCheckItem, list[str]]]:
    """The sampled matches with checks still marked "not checked yet", and which ones."""
    pending = []
    for item in check.items:
        names = [n for n in CHECKS if getattr(item, n) == Finding.UNCHECKED]
        if names:
            pending.append((item, names))
    return pending


def require_author_of_open(actor: User, check: SpotCheck) -> None:
    if not policy.drew(actor, check):
        raise ServiceError(_l("Only the auditor who drew the check records its findings."), 403)
    if not policy.can_record_finding(actor, check):
        raise ServiceError(_l("This spot check is closed."), 409)


def save_draft(actor: User, check: SpotCheck, report: str) -> None:
    """Keep the report written so far; the check stays open and its findings can change."""
    require_author_of_open(actor, check)
    text = report.strip()[:10000]
    if text != check.report:
        check.report = text
        record_event("spot_check_draft_saved", actor, check, after={"length": len(text)})


def close(actor: User, check: SpotCheck, report: str, *, allow_unchecked: bool = False) -> None:
    """Final: the findings and the report can no longer change. With checks still unchecked
    the auditor must say so explicitly (``allow_unchecked``); the event records how many."""
    require_author_of_open(actor, check)
    if not report.strip():
        raise ServiceError(_l("Write the report of findings."), field="text")
    pending = unchecked(check)
    if pending and not allow_unchecked:
        raise ServiceError(
            _l("%(n)s sampled matches still have checks not done: confirm to close anyway.",
               n=len(pending)),
            409,
        )  # fmt: skip
    # Closed meanwhile (another tab, say): 409 from the workflow's compare-and-set.
    policy.WORKFLOW.move(
        check, SpotCheckStatus.CLOSED, report=report.strip()[:10000], closed_at=utcnow()
    )
    record_event("spot_check_closed", actor, check,
                 after={"unchecked": [item.match_id for item, _names in pending]})  # fmt: skip


def answer(actor: User, check: SpotCheck, reply: str) -> None:
    if not policy.answers_for(actor, check):
        raise ServiceError(_l("Only administrators of this region may answer."), 403)
    if check.reply:
        raise ServiceError(_l("This check has already been answered."), 409)
    if not policy.can_answer(actor, check):
        raise ServiceError(_l("The check is not finished yet."), 409)
    if not reply.strip():
        raise ServiceError(_l("Write the answer."), field="text")
    check.reply = reply.strip()[:10000]
    record_event("spot_check_answered", actor, check)
