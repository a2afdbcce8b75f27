"""Who may do what with a need, each rule once: role, region scope and state together.

Services call these and refuse when they say no; views pass ``actions(user, need)`` to the
templates, which show a button only when its action is allowed and never work it out again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from marketplace.households.policy import is_identified
from marketplace.needs.models import Need, NeedStatus
from marketplace.permissions import in_scope
from marketplace.roles import Role
from marketplace.signals import granted, need_viewing
from marketplace.transitions import Workflow

if TYPE_CHECKING:
    from marketplace.accounts.models import User
    from marketplace.regions.models import Region

# Legal moves of a need; everything else is refused with 409.
WORKFLOW = Workflow(
    Need,
    {
        NeedStatus.SUBMITTED: {NeedStatus.VERIFIED, NeedStatus.RETURNED, NeedStatus.WITHDRAWN},
        NeedStatus.RETURNED: {NeedStatus.SUBMITTED, NeedStatus.WITHDRAWN},
        NeedStatus.VERIFIED: {NeedStatus.FULFILLED, NeedStatus.WITHDRAWN},
        NeedStatus.FULFILLED: set(),
        NeedStatus.WITHDRAWN: set(),
    },
)
# Staff may change what a need says until it is verified.
EDITABLE = frozenset({NeedStatus.SUBMITTED, NeedStatus.RETURNED})


def is_public(need: Need) -> bool:
    """Open to donors and the public (masked): verified, with something still open."""
    return need.status == NeedStatus.VERIFIED and need.open_quantity > 0


def can_post_in(user: User, village: Region) -> bool:
    """Village staff (and superusers) post and keep the needs of the villages they serve."""
    return user.role in Role.EDITORS and in_scope(user, village)


def reads_whole_scope(user: User | None) -> bool:
    """Staff, administrators and auditors read every need of their regions; donors and the
    public read the open, verified ones."""
    return user is not None and user.role in Role.REGION_READERS


def can_view(user: User | None, need: Need) -> bool:
    """Public needs to anyone; the rest to readers of its region, and to a donor a package above
    grants it (matches: the donor's organization pledged to it)."""
    if is_public(need):
        return True
    if user is None:
        return False
    if user.role != Role.DONOR:
        return in_scope(user, need.village)
    return granted(need_viewing, user=user, need=need)


def can_edit(user: User, need: Need) -> bool:
    return can_post_in(user, need.village) and need.status in EDITABLE


def can_withdraw(user: User, need: Need) -> bool:
    """As far as the need itself goes: matches under way still refuse it (matches knows)."""
    return can_post_in(user, need.village) and WORKFLOW.allows(need, NeedStatus.WITHDRAWN)


def reviews(user: User, need: Need) -> bool:
    """The need's region's administrators review it (its state aside)."""
    return user.role in Role.ADMINS and in_scope(user, need.village)


def held_back(need: Need) -> bool:
    """Its household's identification (精准识别) is not yet confirmed by the county: the need
    waits (a village-wide need is never held back). needs.services.verify_need refuses it on
    the same rule (households.policy.is_identified)."""
    return not is_identified(need.household)


# Why a reviewer is not offered "Verify" for a need held back (the review queue lists it).
HELD_BACK = _l("Household not yet confirmed by the county")


def can_verify(user: User, need: Need) -> bool:
    """Administrators of its region verify a submitted need, once its household's
    identification is confirmed by the county."""
    return (
        reviews(user, need) and WORKFLOW.allows(need, NeedStatus.VERIFIED) and not held_back(need)
    )


def verify_held_back(user: User, need: Need) -> bool:
    """A reviewer who would verify the need but for its household's identification: the
    pages say why instead of offering the button (HELD_BACK)."""
    return reviews(user, need) and WORKFLOW.allows(need, NeedStatus.VERIFIED) and held_back(need)


def can_return(user: User, need: Need) -> bool:
    """They may return a submitted need to the staff with a reason whatever its household's
    identification (a need held back can still be wrong)."""
    return reviews(user, need) and WORKFLOW.allows(need, NeedStatus.RETURNED)


def can_review(user: User, need: Need) -> bool:
    """The need page's review (verify or return): once the need can be verified."""
    return can_verify(user, need)


def actions(user: User | None, need: Need) -> dict[str, bool]:
    """What the user may do with the need now, for the page's buttons; ``held_back``: a
    reviewer is not offered Verify because the household is not confirmed yet (shown why)."""
    if user is None:
        return {"edit": False, "withdraw": False, "review": False, "verify": False,
                "return": False, "held_back": False}  # fmt: skip
    verify = can_verify(user, need)
    return {
        "edit": can_edit(user, need),
        "withdraw": can_withdraw(user, need),
        "review": verify,
        "verify": verify,
        "return": can_return(user, need),
        "held_back": verify_held_back(user, need),
    }
