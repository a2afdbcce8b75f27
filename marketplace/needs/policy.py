"""Who may do what with a need, each rule once: role, region scope and state together.

Services call these and refuse when they say no; views pass ``actions(user, need)`` to the
templates, which show a button only when its action is allowed and never work it out again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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


def can_review(user: User, need: Need) -> bool:
    """Administrators of its region verify or return a submitted need, once its household's
    identification (精准识别) is confirmed by the county (a village-wide need at once)."""
    return (
        user.role in Role.ADMINS
        and in_scope(user, need.village)
        and WORKFLOW.allows(need, NeedStatus.VERIFIED)
        and is_identified(need.household)
    )


def actions(user: User | None, need: Need) -> dict[str, bool]:
    """What the user may do with the need now, for the page's buttons."""
    if user is None:
        return {"edit": False, "withdraw": False, "review": False}
    return {
        "edit": can_edit(user, need),
        "withdraw": can_withdraw(user, need),
        "review": can_review(user, need),
    }
