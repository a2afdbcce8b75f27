"""Writing a checked preview: every household and need of the file, or none."""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import User
from marketplace.audit.services import record_event
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.households.models import Household
from marketplace.households.policy import can_edit_members, can_keep_register_of
from marketplace.households.services import flush_roster, new_member
from marketplace.imports.reading import Preview
from marketplace.needs.services import new_need, notify_reviewers
from marketplace.vocab import HouseholdStatus, LabourCapacity, PovertyCause

PROGRESS_EVERY = 500  # rows between two reports of how far the writing got


def import_rows(
    user: User,
    preview: Preview,
    file_digest: str,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Write every row of a clean preview in the caller's transaction: all or nothing (the
    households, their members, the needs). ``progress(rows done, rows)`` is told how far it
    got, every few hundred rows (a background import's page shows it)."""
    total = preview.rows
    written = [0]

    def step() -> None:
        written[0] += 1
        if progress is not None and (written[0] % PROGRESS_EVERY == 0 or written[0] == total):
            progress(written[0], total)

    if not preview.ok:
        raise ServiceError(_l("Correct the rows marked in the preview first."))
    created: dict[str, Household] = {}
    for row in preview.households:
        values = dict(row.values)
        village = values.pop("village")
        if not can_keep_register_of(user, village):
            raise ServiceError(_l("Only the staff of this village may change its register."), 403)
        values["primary_cause"] = PovertyCause(values["primary_cause"])
        values["status"] = HouseholdStatus(values["status"])
        values["labour_capacity"] = LabourCapacity(values["labour_capacity"])
        household = Household(village=village, created_by_id=user.id, **values)
        created[household.register_number] = household
        db.session.add(household)
        step()
    db.session.flush()
    members = 0
    for row in preview.members:
        values = dict(row.values)
        number = values.pop("register_number")
        owner = values.pop("household", None) or created[number]
        if not can_edit_members(user, owner):
            raise ServiceError(_l("Only the staff of this village may change its register."), 403)
        new_member(owner, values)  # checked as one added by hand is, in read_upload
        members += 1
        step()
    # A person added by hand since the check: the unique index refuses it, 409.
    flush_roster()
    needs = []
    for row in preview.needs:
        values = dict(row.values)
        number = values.pop("register_number")
        owner = values.pop("household", None) or (created.get(number) if number else None)
        village = values.pop("village")
        # Built and checked as a need posted by hand is; reviewers are told below.
        needs.append(new_need(user, village, owner, **values))
        step()
    db.session.add_all(needs)
    db.session.flush()
    notify_reviewers(needs)
    # One event for the batch; the file's digest ties it to what was uploaded. Register
    # numbers are not personal data; names and ID numbers stay out of the trail.
    record_event("register_imported", user, after={
        "file_sha256": file_digest, "households": len(created), "needs": len(needs),
        "members": members,
        "register_numbers": sorted(created), "need_ids": [n.id for n in needs],
    })  # fmt: skip
    return len(created), len(needs)
