"""Personal data in the API's answers, decided in one place.

A household's name, ID card number and phone are shown in full only to a reader with the right
to see them (``households.identity`` decides, and records each unmasked view in the audit
trail); everyone else, the public included, gets them masked (``marketplace.privacy``).

The output schemas disclose the households of a whole answer at once before they dump it
(``schemas.Discloses``), so a list leaves one audit event, as the pages do; the personal fields
(``schemas.Personal``) then read what was disclosed to this reader in this request.
"""

from __future__ import annotations

from typing import Any

from flask import g
from flask_login import current_user

from marketplace.accounts.models import User
from marketplace.households import services as households
from marketplace.households.models import Household
from marketplace.plans import services as plans_services
from marketplace.privacy import mask_id_number, mask_name, mask_phone

# "name", "id_number" and "phone", as the reader sees them; with the roster, "members" too
# (households.services.shown_member).
Shown = dict[str, Any]


def reader() -> User | None:
    """Who reads the answer: the user of the token or the session; None for the public."""
    return current_user if current_user.is_authenticated else None


def masked(household: Household) -> Shown:
    return {
        "name": mask_name(household.head_name),
        "id_number": mask_id_number(household.head_id_number),
        "phone": mask_phone(household.phone),
    }


def disclose(found: list[Household], *, members: bool = False) -> None:
    """Work out how the reader sees these households (with ``members``, their rosters too),
    and keep it for this request: in full where the reader has the right (one audit event
    naming them), masked otherwise."""
    user = reader()
    if user is None:
        seen = {h.id: masked(h) for h in found}
        for h in found:
            if members:
                roster = households.ordered_roster(h)
                seen[h.id]["members"] = [households.shown_member(m, False) for m in roster]
    else:
        seen = households.identity(user, found, members=members)
    disclosed = _disclosed()
    for household_id, values in seen.items():
        disclosed[_key(user, household_id)] = values


def shown(household: Household, part: str) -> str:
    """The household's ``part`` (name, id_number or phone) as the reader may see it; disclosed
    on the spot (and audited if unmasked) if no answer disclosed it beforehand."""
    key = _key(reader(), household.id)
    if key not in _disclosed():
        disclose([household])
    return _disclosed()[key][part]


def shown_members(household: Household) -> list[dict[str, Any]]:
    """The household's roster as the reader may see it; disclosed on the spot (and audited if
    unmasked) if no answer disclosed it with the roster beforehand."""
    key = _key(reader(), household.id)
    if "members" not in _disclosed().get(key, {}):
        disclose([household], members=True)
    members: list[dict[str, Any]] = _disclosed()[key]["members"]
    return members


def _key(user: User | None, household_id: int) -> tuple[int | None, int]:
    return (user.id if user is not None else None, household_id)


def _disclosed() -> dict[tuple[int | None, int], Shown]:
    """What was disclosed in this request (``g`` lives as long as the request), by reader and
    household: one reader's view never serves another."""
    if "api_disclosed" not in g:
        g.api_disclosed = {}
    disclosed: dict[tuple[int | None, int], Shown] = g.api_disclosed
    return disclosed


def plans(found: list[Household]) -> None:
    """The plans of an answer's households, as the reader may see them (a cadre's phone masked
    unless the reader may see personal data), worked out at once and kept for this request."""
    user = reader()
    kept = _plans()
    wanted = [h for h in found if _key(user, h.id) not in kept]
    for household_id, plan in plans_services.plan_summaries(user, wanted).items():
        kept[_key(user, household_id)] = plan


def plan_of(household: Household) -> dict[str, Any]:
    """The household's plan as the reader may see it (worked out on the spot if no answer did
    beforehand)."""
    key = _key(reader(), household.id)
    if key not in _plans():
        plans([household])
    plan: dict[str, Any] = _plans()[key]
    return plan


def _plans() -> dict[tuple[int | None, int], dict[str, Any]]:
    if "api_plans" not in g:
        g.api_plans = {}
    kept: dict[tuple[int | None, int], dict[str, Any]] = g.api_plans
    return kept
