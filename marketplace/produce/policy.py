"""Who may do what with a produce listing and an order, each rule once: role, region scope and
state together. Services call these and refuse; views pass ``listing_actions`` and
``order_actions`` to the templates as ``may``, and the templates show a button only when it
says so. The workflows of listings and orders are here too: the rules read them.

Village staff enter a listing for a household or a cooperative of their village and submit it;
administrators of the region verify it (or return it with a reason), never one they entered.
Buyers are donors of a verified organization with an active purchase resource. An order goes
ordered -> handed over (the village's staff) -> received (the buyer) -> paid (the buyer) ->
payment confirmed received (the village's staff, with the household). The buyer may dispute a
handover, the staff a payment; the administrators of the region resolve a dispute.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from marketplace.permissions import in_scope
from marketplace.produce.models import ListingStatus, OrderStatus, ProduceListing, ProduceOrder
from marketplace.roles import Role
from marketplace.transitions import Workflow

if TYPE_CHECKING:
    from marketplace.accounts.models import User
    from marketplace.regions.models import Region

L = ListingStatus
LISTING_WORKFLOW = Workflow(
    ProduceListing,
    {
        L.DRAFT: {L.SUBMITTED, L.WITHDRAWN},
        L.SUBMITTED: {L.VERIFIED, L.RETURNED, L.WITHDRAWN},
        L.RETURNED: {L.SUBMITTED, L.WITHDRAWN},
        # Sold out when orders take the last unit; on sale again when a cancelled one gives
        # some back.
        L.VERIFIED: {L.SOLD_OUT, L.WITHDRAWN},
        L.SOLD_OUT: {L.VERIFIED, L.WITHDRAWN},
        L.WITHDRAWN: set(),
    },
    raced=_l("Someone else has just acted on this listing. Reload the page."),
)
# Staff may change what a listing says until it is submitted (and again once returned).
EDITABLE = frozenset({L.DRAFT, L.RETURNED})

OS = OrderStatus
ORDER_MOVES: dict[OrderStatus, set[OrderStatus]] = {
    OS.ORDERED: {OS.HANDED_OVER, OS.CANCELLED},
    OS.HANDED_OVER: {OS.RECEIVED, OS.DISPUTED},
    OS.RECEIVED: {OS.PAID},
    OS.PAID: {OS.CONFIRMED, OS.DISPUTED},
    OS.DISPUTED: {OS.ORDERED, OS.RECEIVED, OS.CONFIRMED, OS.CANCELLED},
    OS.CONFIRMED: set(),
    OS.CANCELLED: set(),
}
ORDER_WORKFLOW = Workflow(
    ProduceOrder,
    ORDER_MOVES,
    raced=_l("Someone else has just acted on this order. Reload the page."),
)
# What resolving a dispute may make of the order, by the step it was disputed at: a disputed
# handover was made after all (received: the buyer pays), is to be made again (ordered) or is
# called off (cancelled: the quantity and the budget are released); a disputed payment was
# received after all (confirmed: the income is recorded) or is to be made again (received).
DISPUTE_OUTCOMES: dict[OrderStatus, dict[str, OrderStatus]] = {
    OS.HANDED_OVER: {
        "received": OS.RECEIVED,
        "hand_over_again": OS.ORDERED,
        "cancelled": OS.CANCELLED,
    },
    OS.PAID: {"confirmed": OS.CONFIRMED, "pay_again": OS.RECEIVED},
}
OUTCOME_LABELS = {
    "received": _l("The produce was handed over: the buyer pays"),
    "hand_over_again": _l("To be handed over again"),
    "cancelled": _l("Called off: the quantity and the budget are released"),
    "confirmed": _l("The payment was received: record the household's income"),
    "pay_again": _l("The payment is to be made again"),
}
# Orders holding the budget of their purchase resource, and how (see services.ledger_of).
LIVE = frozenset(s for s in OrderStatus if s != OS.CANCELLED)


# --- listings ---------------------------------------------------------------------------------


def is_open(listing: ProduceListing) -> bool:
    """On sale: verified, with something left. Open listings are public (masked)."""
    return listing.status == L.VERIFIED and listing.remaining > 0


def can_list_in(user: User, village: Region | None) -> bool:
    """Village staff (and superusers) enter the produce of the villages they serve."""
    return user.role in Role.EDITORS and in_scope(user, village)


def staff_of_listing(user: User | None, listing: ProduceListing) -> bool:
    return user is not None and can_list_in(user, listing.village)


def admin_of_listing(user: User | None, listing: ProduceListing) -> bool:
    return user is not None and user.role in Role.ADMINS and in_scope(user, listing.village)


def reads_listing(user: User | None, listing: ProduceListing) -> bool:
    """Staff, administrators and auditors read every listing of their regions."""
    return user is not None and user.role in Role.REGION_READERS and in_scope(user, listing.village)


def can_view_listing(user: User | None, listing: ProduceListing) -> bool:
    """Open listings to anyone (masked); the rest to the readers of its region (a buyer who
    ordered from it: ``services.get_listing``)."""
    return is_open(listing) or reads_listing(user, listing)


def can_see_households(user: User | None, listing: ProduceListing) -> bool:
    """Who the households are: for staff and administrators of the region (an audited view);
    everyone else sees the village and the product only."""
    return user is not None and user.role in Role.PERSONAL_DATA and in_scope(user, listing.village)


def can_edit_listing(user: User | None, listing: ProduceListing) -> bool:
    return staff_of_listing(user, listing) and listing.status in EDITABLE


def can_submit_listing(user: User | None, listing: ProduceListing) -> bool:
    return (
        staff_of_listing(user, listing)
        and listing.status in EDITABLE
        and LISTING_WORKFLOW.allows(listing, L.SUBMITTED)
    )


def can_verify_listing(user: User | None, listing: ProduceListing) -> bool:
    """Administrators of the region verify a submitted listing, never one they entered."""
    return (
        admin_of_listing(user, listing)
        and user is not None
        and listing.created_by_id != user.id
        and LISTING_WORKFLOW.allows(listing, L.VERIFIED)
    )


def can_return_listing(user: User | None, listing: ProduceListing) -> bool:
    return admin_of_listing(user, listing) and LISTING_WORKFLOW.allows(listing, L.RETURNED)


def can_withdraw_listing(user: User | None, listing: ProduceListing) -> bool:
    """Staff take a listing off sale (orders under way go on)."""
    return staff_of_listing(user, listing) and LISTING_WORKFLOW.allows(listing, L.WITHDRAWN)


def is_buyer(user: User | None) -> bool:
    """A donor of a verified organization: may order with the organization's purchase
    resources."""
    org = user.organization if user is not None else None
    return user is not None and user.role == Role.DONOR and org is not None and org.is_verified


def can_order(user: User | None, listing: ProduceListing) -> bool:
    return is_buyer(user) and is_open(listing)


def listing_actions(user: User | None, listing: ProduceListing) -> dict[str, bool]:
    return {
        "edit": can_edit_listing(user, listing),
        "submit": can_submit_listing(user, listing),
        "verify": can_verify_listing(user, listing),
        "return": can_return_listing(user, listing),
        "withdraw": can_withdraw_listing(user, listing),
        "order": can_order(user, listing),
        "see_households": can_see_households(user, listing),
        "see_orders": reads_listing(user, listing),
    }


# --- orders -----------------------------------------------------------------------------------


def buyer_of(user: User | None, order: ProduceOrder) -> bool:
    """A member of the buying organization (any role: it reads the order)."""
    return user is not None and user.organization_id == order.organization_id


def buyer_here(user: User | None, order: ProduceOrder) -> bool:
    """A donor of the buying organization: receives, pays, cancels, disputes a handover."""
    return user is not None and user.role == Role.DONOR and buyer_of(user, order)


def staff_here(user: User | None, order: ProduceOrder) -> bool:
    """The staff of the listing's village: hand over, confirm the payment with the household."""
    return staff_of_listing(user, order.listing)


def admin_here(user: User | None, order: ProduceOrder) -> bool:
    return admin_of_listing(user, order.listing)


def can_read_order(user: User | None, order: ProduceOrder) -> bool:
    return buyer_of(user, order) or reads_listing(user, order.listing)


def _at(order: ProduceOrder, source: OrderStatus, to: OrderStatus) -> bool:
    return order.status == source and ORDER_WORKFLOW.allows(order, to)


def can_hand_over(user: User | None, order: ProduceOrder) -> bool:
    return staff_here(user, order) and _at(order, OS.ORDERED, OS.HANDED_OVER)


def can_receive(user: User | None, order: ProduceOrder) -> bool:
    return buyer_here(user, order) and _at(order, OS.HANDED_OVER, OS.RECEIVED)


def can_pay(user: User | None, order: ProduceOrder) -> bool:
    return buyer_here(user, order) and _at(order, OS.RECEIVED, OS.PAID)


def can_confirm_payment(user: User | None, order: ProduceOrder) -> bool:
    return staff_here(user, order) and _at(order, OS.PAID, OS.CONFIRMED)


def can_cancel(user: User | None, order: ProduceOrder) -> bool:
    """Before the handover the buyer may call an order off, and the staff when the household
    cannot supply it."""
    return (buyer_here(user, order) or staff_here(user, order)) and _at(
        order, OS.ORDERED, OS.CANCELLED
    )


def can_dispute(user: User | None, order: ProduceOrder) -> bool:
    """The buyer disputes a handover (not received, not as described); the staff a payment the
    household did not receive."""
    if not ORDER_WORKFLOW.allows(order, OS.DISPUTED):
        return False
    if order.status == OS.HANDED_OVER:
        return buyer_here(user, order)
    return order.status == OS.PAID and staff_here(user, order)


def dispute_outcomes(order: ProduceOrder) -> dict[str, OrderStatus]:
    """What resolving the order's dispute may lead to now (none unless it is disputed)."""
    if order.status != OS.DISPUTED or order.disputed_from is None:
        return {}
    return DISPUTE_OUTCOMES.get(order.disputed_from, {})


def can_resolve(user: User | None, order: ProduceOrder) -> bool:
    outcomes = dispute_outcomes(order)
    return (
        admin_here(user, order)
        and bool(outcomes)
        and all(ORDER_WORKFLOW.allows(order, to) for to in outcomes.values())
    )


def order_actions(user: User | None, order: ProduceOrder) -> dict[str, bool]:
    return {
        "hand_over": can_hand_over(user, order),
        "receive": can_receive(user, order),
        "pay": can_pay(user, order),
        "confirm_payment": can_confirm_payment(user, order),
        "cancel": can_cancel(user, order),
        "dispute": can_dispute(user, order),
        "resolve": can_resolve(user, order),
        "see_households": can_see_households(user, order.listing),
    }
