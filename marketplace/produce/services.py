"""Produce sales: listings entered by village staff and verified by administrators, ranked for
buyers, ordered, handed over, received, paid and confirmed, the household's income recorded.

Every status change of an order goes through ``transition`` (a compare-and-set, 409 on an
illegal or raced move), which also keeps the purchase resource's budget, gives back the
listing's quantity when an order is called off, records the households' income when the
payment is confirmed, audits the move and tells the next party. Who may do each step is
``produce.policy``'s.

**The budget.** A buyer's budget is its purchase resource's value in yuan: capacity x value
per unit (the yuan figure the reports give the resource; a budget posted as "35000 元 at 1
元" is 35,000 yuan, as is "100 boxes at 350"). What its matches to needs hold is not free for
orders, nor what orders hold for matches: the budget left is remaining x value per unit, less
what orders hold (``resources.capacity``, the one rule for both). An unlimited
resource has no budget limit. Orders hold their amount as ``committed`` from the order to the
payment, then as ``spent``; a cancelled order holds nothing. ``budget_problems`` checks these
totals against the orders: spent is the sum of the paid orders.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from marketplace.accounts.models import Role, User
from marketplace.accounts.services import admins_over, staff_of
from marketplace.audit.services import record_event
from marketplace.db import lock_row, utcnow
from marketplace.errors import Problem, ServiceError, refuse_first
from marketplace.extensions import db
from marketplace.households.models import Household
from marketplace.notifications import services as notifications
from marketplace.notifications.services import notify
from marketplace.permissions import region_clause
from marketplace.produce import policy
from marketplace.produce.models import (
    PRODUCE_CATEGORY_CODES,
    ListingStatus,
    OrderStatus,
    ProduceBudget,
    ProduceIncome,
    ProduceListing,
    ProduceOrder,
)
from marketplace.produce.policy import LISTING_WORKFLOW, ORDER_WORKFLOW
from marketplace.regions.models import Region, RegionLevel
from marketplace.resources import capacity
from marketplace.resources import policy as resource_policy
from marketplace.resources.models import Resource, ResourceKind
from marketplace.timefmt import beijing_day_of, beijing_today
from marketplace.transitions import conflict
from matching.produce import BuyerView, ListingView, ProduceViolation, RankedListing, rank
from matching.produce import violations as produce_violations

L = ListingStatus
OS = OrderStatus
NOT_FOUND = _l("The page or record was not found.")
CENT = Decimal("0.01")
MAX_QUANTITY = 100_000_000
MAX_PRICE = Decimal("1000000")
MAX_MEMBERS = 200

# What each step tells whom (the kinds join the notifications' messages below).
MESSAGES: dict[str, LazyString] = {
    "produce_listing_submitted": _l("Produce listing to verify: %(title)s"),
    "produce_listing_verified": _l("Your produce listing was verified and is on sale: %(title)s"),
    "produce_listing_returned": _l("Your produce listing was returned, see the reason: %(title)s"),
    "produce_ordered": _l("New produce order, please hand it over: %(title)s"),
    "produce_handed_over": _l("Produce handed over: confirm that you received it: %(title)s"),
    "produce_received": _l("The buyer received the produce: %(title)s"),
    "produce_paid": _l(
        "The buyer paid: confirm with the household that the payment arrived: %(title)s"
    ),
    "produce_confirmed": _l("The household confirmed your payment: %(title)s"),
    "produce_disputed": _l("A produce order is disputed, please resolve: %(title)s"),
    "produce_resolved": _l("A dispute about a produce order was resolved: %(title)s"),
    "produce_cancelled": _l("A produce order was cancelled: %(title)s"),
}
# The notifications package lists what it may send; produce, above it, adds its own.
notifications.MESSAGES.update(MESSAGES)

VIOLATIONS: dict[ProduceViolation, tuple[LazyString, str]] = {
    ProduceViolation.CATEGORY: (
        _l("This purchase resource does not buy produce of this category."), "resource"),
    ProduceViolation.PLACE: (
        _l("The listing's village lies outside this purchase resource's service area."),
        "resource"),
    ProduceViolation.NOTHING_LEFT: (_l("Nothing is left of this listing."), "quantity"),
    ProduceViolation.OVER_BUDGET: (
        _l("What is left of this purchase resource's budget does not pay for one unit."),
        "resource"),
}  # fmt: skip


# --- listings: reading ------------------------------------------------------------------------


def listings_query(user: User) -> sa.Select[Any]:
    """Listings in the user's regions (staff, administrators, auditors); donors list none here."""
    query = sa.select(ProduceListing).join(Region, ProduceListing.village_id == Region.id)
    if user.role not in Role.REGION_READERS:
        return query.where(sa.false())
    return query.where(region_clause(user, Region.path))


def open_listings_query() -> sa.Select[Any]:
    """Listings on sale: what buyers and the public see (masked: village and product only)."""
    return (
        sa.select(ProduceListing)
        .join(Region, ProduceListing.village_id == Region.id)
        .where(ProduceListing.status == L.VERIFIED, ProduceListing.remaining > 0)
    )


def _ordered_from(user: User | None, listing: ProduceListing) -> bool:
    """The user's organization has an order of this listing (it keeps reading the listing)."""
    if user is None or user.organization_id is None:
        return False
    return bool(
        db.session.scalar(
            sa.select(ProduceOrder.id).where(
                ProduceOrder.listing_id == listing.id,
                ProduceOrder.organization_id == user.organization_id,
            )
        )
    )


def get_listing(user: User | None, listing_id: int) -> ProduceListing:
    listing = db.session.get(ProduceListing, listing_id)
    if listing is None or not (
        policy.can_view_listing(user, listing) or _ordered_from(user, listing)
    ):
        raise ServiceError(NOT_FOUND, 404)
    return listing


def households_of(user: User, villages: list[Region]) -> list[Household]:
    """The households of the villages the user keeps the register of: those a listing may
    sell for."""
    ids = [v.id for v in villages if policy.can_list_in(user, v)]
    return list(
        db.session.scalars(
            sa.select(Household)
            .where(Household.village_id.in_(ids))
            .order_by(Household.register_number)
        )
    )


# --- listings: the changes --------------------------------------------------------------------

FIELDS = ("product", "category", "quantity", "unit", "price", "available_from",
          "quality_notes")  # fmt: skip


def listing_problems(values: dict[str, Any]) -> list[Problem]:
    """Every rule the values of one listing break (the form and the service apply them)."""
    problems = []
    if not str(values.get("product") or "").strip():
        problems.append(Problem("product", _l("This field is required.")))
    if values.get("category") not in PRODUCE_CATEGORY_CODES:
        problems.append(Problem("category", _l("Choose a category from the list.")))
    quantity = values.get("quantity")
    if (
        not isinstance(quantity, int)
        or isinstance(quantity, bool)
        or not 0 < quantity <= MAX_QUANTITY
    ):
        problems.append(Problem("quantity", _l("The quantity must be a whole number above zero.")))
    if not str(values.get("unit") or "").strip():
        problems.append(Problem("unit", _l("This field is required.")))
    price = values.get("price")
    if not isinstance(price, Decimal) or not Decimal(0) < price <= MAX_PRICE:
        problems.append(
            Problem("price", _l("The price per unit is above zero and at most 1,000,000 yuan."))
        )
    elif price != price.quantize(CENT):
        problems.append(Problem("price", _l("The price has at most two decimal places (fen).")))
    if not isinstance(values.get("available_from"), date):
        problems.append(Problem("available_from", _l("This field is required.")))
    return problems


def _seller(
    actor: User,
    village: Region,
    household: Household | None,
    cooperative_name: str,
    members: list[Household],
) -> tuple[Household | None, str, list[Household]]:
    """A household of the village, or a cooperative of the village with its member
    households (at least one: its sales are their income)."""
    if village.level != RegionLevel.VILLAGE or not policy.can_list_in(actor, village):
        raise ServiceError(_l("Only the staff of this village may list its produce."), 403)
    name = cooperative_name.strip()
    if household is not None:
        if household.village_id != village.id:
            raise ServiceError(
                _l("This household does not belong to the chosen village."), field="household"
            )
        if name:
            raise ServiceError(
                _l("A listing is a household's or a cooperative's: leave the cooperative's "
                   "name empty for a household."), field="cooperative_name",
            )  # fmt: skip
        return household, "", []
    if not name:
        raise ServiceError(
            _l("Choose the household, or name the village cooperative selling."),
            field="household",
        )
    if len(name) > 100:
        raise ServiceError(_l("At most 100 characters."), field="cooperative_name")
    if not members:
        raise ServiceError(
            _l("Choose the registered households the cooperative sells for."), field="members"
        )
    if len(members) > MAX_MEMBERS or any(m.village_id != village.id for m in members):
        raise ServiceError(
            _l("The cooperative's households must be households of the chosen village."),
            field="members",
        )
    return None, name, sorted(set(members), key=lambda h: h.id)


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    refuse_first(listing_problems(values))
    return {
        "product": str(values["product"]).strip()[:100],
        "category": values["category"],
        "quantity": values["quantity"],
        "unit": str(values["unit"]).strip()[:20],
        "price": values["price"],
        "available_from": values["available_from"],
        "quality_notes": str(values.get("quality_notes") or "").strip()[:2000],
    }


def create_listing(
    actor: User,
    village: Region,
    household: Household | None,
    cooperative_name: str = "",
    members: list[Household] | None = None,
    **values: Any,
) -> ProduceListing:
    """A draft listing; staff submit it for verification when it is complete."""
    seller, name, chosen = _seller(actor, village, household, cooperative_name, members or [])
    clean = _clean(values)
    listing = ProduceListing(
        village=village, household=seller, cooperative_name=name, members=chosen,
        remaining=clean["quantity"], status=L.DRAFT, created_by_id=actor.id, **clean,
    )  # fmt: skip
    db.session.add(listing)
    db.session.flush()
    record_event("produce_listing_created", actor, listing,
                 after={"product": listing.product, "quantity": listing.quantity,
                        "price": str(listing.price)})  # fmt: skip
    return listing


def update_listing(
    actor: User,
    listing: ProduceListing,
    household: Household | None,
    cooperative_name: str = "",
    members: list[Household] | None = None,
    **values: Any,
) -> None:
    """Editable as a draft and once returned; not while it is being verified or on sale."""
    if not policy.staff_of_listing(actor, listing):
        raise ServiceError(_l("Only the staff of this village may list its produce."), 403)
    if not policy.can_edit_listing(actor, listing):
        raise conflict(_l("A listing being verified or on sale can no longer be edited."))
    seller, name, chosen = _seller(
        actor, listing.village, household, cooperative_name, members or []
    )
    clean = _clean(values)
    with db.session.no_autoflush:  # quantity and remaining change together (their check)
        for field, value in clean.items():
            setattr(listing, field, value)
        listing.household, listing.cooperative_name, listing.members = seller, name, chosen
        listing.remaining = listing.quantity  # nothing is ordered before it is verified
    db.session.flush()
    record_event("produce_listing_updated", actor, listing,
                 after={"product": listing.product, "quantity": listing.quantity,
                        "price": str(listing.price)})  # fmt: skip


def move_listing(
    listing: ProduceListing, to: ListingStatus, actor: User | None, **values: Any
) -> None:
    """Move a listing along its workflow (compare-and-set, 409 on an illegal or raced move),
    audited."""
    source = LISTING_WORKFLOW.move(listing, to, **values)
    record_event(f"produce_listing_{to.value}", actor, listing, before={"status": source.value},
                 after={"status": to.value, **{k: str(v) for k, v in values.items()}})  # fmt: skip


def submit_listing(actor: User, listing: ProduceListing) -> None:
    if not policy.staff_of_listing(actor, listing):
        raise ServiceError(_l("Only the staff of this village may list its produce."), 403)
    if not policy.can_submit_listing(actor, listing):
        raise conflict()
    move_listing(listing, L.SUBMITTED, actor, status_reason="")
    notify(admins_over(listing.village), "produce_listing_submitted",
           f"/produce/listings/{listing.id}", title=listing.product)  # fmt: skip


def _require_reviewer(actor: User, listing: ProduceListing) -> None:
    if not policy.admin_of_listing(actor, listing):
        raise ServiceError(_l("Only administrators of this region may verify its listings."), 403)


def verify_listing(actor: User, listing: ProduceListing) -> None:
    _require_reviewer(actor, listing)
    if listing.created_by_id == actor.id:
        raise ServiceError(_l("A listing is verified by someone other than who entered it."), 403)
    if not policy.can_verify_listing(actor, listing):
        raise conflict()
    move_listing(listing, L.VERIFIED, actor, verified_by_id=actor.id, verified_at=utcnow())
    notify([listing.created_by_id], "produce_listing_verified", f"/produce/listings/{listing.id}",
           title=listing.product)  # fmt: skip


def return_listing(actor: User, listing: ProduceListing, reason: str) -> None:
    _require_reviewer(actor, listing)
    if not reason.strip():
        raise ServiceError(_l("Give a reason when you return a listing."), field="reason")
    if not policy.can_return_listing(actor, listing):
        raise conflict()
    move_listing(listing, L.RETURNED, actor, status_reason=reason.strip()[:500])
    notify([listing.created_by_id], "produce_listing_returned", f"/produce/listings/{listing.id}",
           title=listing.product)  # fmt: skip


def withdraw_listing(actor: User, listing: ProduceListing, reason: str = "") -> None:
    """Off sale: no new orders; those under way go on."""
    if not policy.staff_of_listing(actor, listing):
        raise ServiceError(_l("Only the staff of this village may list its produce."), 403)
    if not policy.can_withdraw_listing(actor, listing):
        raise conflict()
    move_listing(listing, L.WITHDRAWN, actor, status_reason=reason.strip()[:500])


# --- buyers: budgets and the ranking ----------------------------------------------------------


def purchase_resources(user: User) -> list[Resource]:
    """The buyer's purchase resources it may order with now: its organization's, active,
    valid today, the organization verified."""
    if not policy.is_buyer(user):
        return []
    rows = db.session.scalars(
        sa.select(Resource)
        .where(
            Resource.organization_id == user.organization_id,
            Resource.kind == ResourceKind.PURCHASE,
        )
        .order_by(Resource.id)
    )
    return [r for r in rows if resource_policy.is_public(r)]


def budget_of(resource: Resource) -> Decimal | None:
    """The purchase resource's budget in yuan: capacity x value per unit (None: unlimited)."""
    if resource.capacity is None:
        return None
    return (Decimal(resource.capacity) * resource.unit_value).quantize(CENT)


def _budget_row(resource_id: int) -> ProduceBudget | None:
    return db.session.execute(
        sa.select(ProduceBudget)
        .where(ProduceBudget.resource_id == resource_id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def budget_held(resource: Resource) -> tuple[Decimal, Decimal]:
    """What the resource's orders hold: (committed, spent)."""
    row = _budget_row(resource.id)
    return (row.committed, row.spent) if row is not None else (Decimal(0), Decimal(0))


def budget_left(resource: Resource) -> Decimal | None:
    """What orders may still spend: remaining x value per unit (what matches to needs left),
    less what orders hold; the rule matches' approvals follow too (``resources.capacity``).
    None: no limit."""
    committed, spent = budget_held(resource)
    free = capacity.value_left(resource, held=committed + spent)
    return None if free is None else max(free, Decimal(0)).quantize(CENT)


def _earlier_sales(household_ids: Iterable[int]) -> dict[int, int]:
    """Confirmed sales each household had, by household."""
    ids = sorted(set(household_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(ProduceIncome.household_id, sa.func.count(sa.distinct(ProduceIncome.order_id)))
        .where(ProduceIncome.household_id.in_(ids))
        .group_by(ProduceIncome.household_id)
    ).all()
    return {int(h): int(n) for h, n in rows}


def listing_views(listings: list[ProduceListing]) -> list[ListingView]:
    """What the ranking sees of each listing (no names: statuses and counts only)."""
    sales = _earlier_sales(h.id for listing in listings for h in listing.households)
    return [
        ListingView(
            id=listing.id,
            category=listing.category,
            village_path=listing.village.path,
            product=listing.product,
            unit=listing.unit,
            price=listing.price,
            remaining=listing.remaining,
            household_statuses=tuple(h.status.value for h in listing.households),
            earlier_sales=max((sales.get(h.id, 0) for h in listing.households), default=0),
        )
        for listing in listings
    ]


def buyer_view(resource: Resource) -> BuyerView:
    return BuyerView(
        id=resource.id,
        categories=tuple(resource.categories),
        service_paths=tuple(r.path for r in resource.service_area),
        budget_left=budget_left(resource),
    )


RANKING_POOL = 2000  # open listings of the service area the ranking considers, newest first


def ranked_for(resource: Resource, limit: int = 100) -> list[tuple[ProduceListing, RankedListing]]:
    """The open listings the buyer may order with this resource, best first."""
    paths = [r.path for r in resource.service_area]
    if not paths:
        return []
    pool = list(
        db.session.scalars(
            open_listings_query()
            .where(sa.or_(*(Region.path.startswith(p, autoescape=True) for p in paths)))
            .order_by(ProduceListing.id.desc())
            .limit(RANKING_POOL)
        )
    )
    by_id = {listing.id: listing for listing in pool}
    ranked = rank(listing_views(pool), buyer_view(resource))
    return [(by_id[r.listing_id], r) for r in ranked[:limit]]


def breakdown(ranked: RankedListing) -> dict[str, Any]:
    """The score as the order keeps it: points, each component's, and the reasons."""
    return {
        "points": ranked.points,
        "component_points": ranked.component_points,
        "components": ranked.components,
        "explanations": [
            {"component": e.component, "code": e.code, "params": e.params}
            for e in ranked.explanations
        ],
    }


def order_problem(listing: ProduceListing, resource: Resource) -> str | None:
    """Why this purchase resource cannot order from this listing now, or None."""
    found = _violations(listing, resource)
    return str(VIOLATIONS[found[0]][0]) if found else None


def _violations(listing: ProduceListing, resource: Resource) -> list[ProduceViolation]:
    return produce_violations(listing_views([listing])[0], buyer_view(resource))


# --- orders: reading --------------------------------------------------------------------------


def orders_for(user: User) -> sa.Select[Any]:
    """Orders the user may see: their organization's (donors), their regions' (others)."""
    query = (
        sa.select(ProduceOrder)
        .join(ProduceListing, ProduceOrder.listing_id == ProduceListing.id)
        .join(Region, ProduceListing.village_id == Region.id)
    )
    if user.role == Role.DONOR:
        return query.where(ProduceOrder.organization_id == user.organization_id)
    if user.role not in Role.REGION_READERS:
        return query.where(sa.false())
    return query.where(region_clause(user, Region.path))


def get_order(user: User, order_id: int) -> ProduceOrder:
    order = db.session.scalar(orders_for(user).where(ProduceOrder.id == order_id))
    if order is None:
        raise ServiceError(NOT_FOUND, 404)
    return order


# --- orders: the one transition ---------------------------------------------------------------


def ledger_of(status: OrderStatus, disputed_from: OrderStatus | None) -> str | None:
    """How an order holds its purchase resource's budget: "spent" once paid (a disputed
    payment too, until resolved), "committed" before, nothing when cancelled."""
    if status == OS.CANCELLED:
        return None
    if status in (OS.PAID, OS.CONFIRMED) or (status == OS.DISPUTED and disputed_from == OS.PAID):
        return "spent"
    return "committed"


def _hold_budget(resource_id: int) -> ProduceBudget:
    """The resource's budget row, held for this transaction (one order at a time changes a
    resource's budget: the resource's row is locked), read afresh; made on the first order."""
    lock_row(db.session, Resource, resource_id)
    row = _budget_row(resource_id)
    if row is None:
        row = ProduceBudget(resource_id=resource_id, committed=Decimal(0), spent=Decimal(0))
        db.session.add(row)
        db.session.flush()
    return row


def _move_budget(order: ProduceOrder, before: str | None, after: str | None) -> None:
    if before == after:
        return
    row = _hold_budget(order.resource_id)
    if before is not None:
        setattr(row, before, getattr(row, before) - order.amount)
    if after is not None:
        setattr(row, after, getattr(row, after) + order.amount)
    if row.committed < 0 or row.spent < 0:  # the ledger and the orders disagree: refuse
        raise conflict()
    db.session.flush()


def _release_listing(order: ProduceOrder) -> None:
    """A cancelled order gives its quantity back; a sold-out listing is on sale again."""
    db.session.execute(
        sa.update(ProduceListing)
        .where(ProduceListing.id == order.listing_id)
        .values(remaining=ProduceListing.remaining + order.quantity)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(order.listing)
    if order.listing.status == L.SOLD_OUT and order.listing.remaining > 0:
        move_listing(order.listing, L.VERIFIED, None)


def shares(amount: Decimal, count: int) -> list[Decimal]:
    """``amount`` split equally into ``count`` shares to the fen, the odd fen to the first
    shares: they add up to ``amount`` exactly."""
    fen = int((amount / CENT).to_integral_value())
    base, odd = divmod(fen, count)
    return [(Decimal(base + (1 if i < odd else 0)) * CENT).quantize(CENT) for i in range(count)]


def _record_income(order: ProduceOrder) -> dict[str, str]:
    """The confirmed amount as the income of the listing's households, in the month the
    household received it."""
    households = order.listing.households
    received = order.payment_received_on or beijing_today()
    month = f"{received:%Y-%m}"
    recorded = {}
    for household, share in zip(
        households, shares(order.amount, len(households)) if households else [], strict=True
    ):
        db.session.add(
            ProduceIncome(order_id=order.id, household_id=household.id, month=month, amount=share)
        )
        recorded[str(household.id)] = str(share)
    db.session.flush()
    return recorded


def _buyers(order: ProduceOrder) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(User.id).where(
                User.organization_id == order.organization_id, User.active.is_(True)
            )
        )
    )


def _tell(order: ProduceOrder, source: OrderStatus, to: OrderStatus) -> None:
    """The next party learns of the step (the buyer's members, the village's staff, or the
    region's administrators)."""
    village = order.listing.village
    staff: list[User | int] = list(staff_of(village))
    buyers: list[User | int] = list(_buyers(order))
    recipients: list[User | int]
    if source == OS.DISPUTED:
        recipients, kind = [*buyers, *staff], "produce_resolved"
    elif to == OS.DISPUTED:
        recipients, kind = list(admins_over(village)), "produce_disputed"
    elif to == OS.CANCELLED:
        recipients, kind = [*buyers, *staff], "produce_cancelled"
    elif to in (OS.HANDED_OVER, OS.CONFIRMED):
        recipients, kind = buyers, f"produce_{to.value}"
    else:  # ordered, received, paid: the staff act next
        recipients, kind = staff, f"produce_{to.value}"
    notify(recipients, kind, f"/produce/orders/{order.id}", title=order.listing.product)


def transition(order: ProduceOrder, to: OrderStatus, actor: User | None, **values: Any) -> None:
    """Move an order (compare-and-set: 409 and no change on an illegal or raced move); the
    budget, the listing's quantity, the households' income, the audit event and the next
    party's notice follow the move here, so that no step forgets one."""
    before = ledger_of(order.status, order.disputed_from)
    source = ORDER_WORKFLOW.move(order, to, **values)
    _move_budget(order, before, ledger_of(order.status, order.disputed_from))
    after = {"status": to.value, **{k: str(v) for k, v in values.items()}}
    if to == OS.CANCELLED:
        _release_listing(order)
    if to == OS.CONFIRMED:
        after["income"] = _record_income(order)  # type: ignore[assignment]
    record_event(f"produce_order_{to.value}", actor, order, before={"status": source.value},
                 after=after)  # fmt: skip
    _tell(order, source, to)


# --- orders: the steps ------------------------------------------------------------------------


def place_order(
    actor: User, listing: ProduceListing, resource: Resource, quantity: Any
) -> ProduceOrder:
    """A buyer orders from a listing with one of its purchase resources: the quantity is
    taken from the listing and the amount (quantity x price) from the budget left."""
    if not policy.is_buyer(actor) or resource.organization_id != actor.organization_id:
        raise ServiceError(
            _l("Only members of a verified buyer organization order with its purchase "
               "resources."), 403,
        )  # fmt: skip
    if resource.kind != ResourceKind.PURCHASE or not resource_policy.is_public(resource):
        raise ServiceError(
            _l("Choose an active purchase resource of your organization."), field="resource"
        )
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise ServiceError(_l("The quantity must be a whole number above zero."), field="quantity")
    if not policy.is_open(listing):
        raise conflict(_l("This listing is not on sale."))
    budget = _hold_budget(resource.id)  # one order of this resource at a time from here
    db.session.refresh(resource)
    found = _violations(listing, resource)
    if found:
        message, field = VIOLATIONS[found[0]]
        raise ServiceError(message, field=field)
    if quantity > listing.remaining:
        raise ServiceError(
            _l("Only %(n)s %(unit)s are left.", n=listing.remaining, unit=listing.unit),
            field="quantity",
        )
    amount = (Decimal(quantity) * listing.price).quantize(CENT)
    left = budget_left(resource)
    if left is not None and amount > left:
        raise ServiceError(
            _l("The amount, %(amount)s yuan, is more than the %(left)s yuan left of this "
               "purchase resource's budget.", amount=amount, left=left), field="quantity",
        )  # fmt: skip
    taken = db.session.execute(
        sa.update(ProduceListing)
        .where(
            ProduceListing.id == listing.id,
            ProduceListing.status == L.VERIFIED,
            ProduceListing.remaining >= quantity,
        )
        .values(remaining=ProduceListing.remaining - quantity, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise conflict(_l("Someone else has just ordered from this listing. Reload the page."))
    db.session.refresh(listing)
    scored = rank(listing_views([listing, *_peers(listing)]), buyer_view(resource))
    mine = next((r for r in scored if r.listing_id == listing.id), None)
    order = ProduceOrder(
        listing=listing, resource=resource, organization_id=resource.organization_id,
        quantity=quantity, price=listing.price, amount=amount, status=OS.ORDERED,
        ordered_by_id=actor.id, score=mine.score if mine else None,
        score_breakdown=breakdown(mine) if mine else {},
    )  # fmt: skip
    db.session.add(order)
    budget.committed = budget.committed + amount
    db.session.flush()
    record_event("produce_order_ordered", actor, order,
                 after={"status": OS.ORDERED.value, "quantity": quantity,
                        "amount": str(amount), "resource": resource.id})  # fmt: skip
    _tell(order, OS.ORDERED, OS.ORDERED)
    if listing.remaining == 0:
        move_listing(listing, L.SOLD_OUT, None)
    return order


def _peers(listing: ProduceListing) -> list[ProduceListing]:
    """The other open listings of the same product and unit (its price is judged among them)."""
    return list(
        db.session.scalars(
            open_listings_query()
            .where(
                ProduceListing.id != listing.id,
                ProduceListing.product == listing.product,
                ProduceListing.unit == listing.unit,
            )
            .limit(RANKING_POOL)
        )
    )


def _require(allowed: bool, who: bool, message: LazyString) -> None:
    """Refuse: 403 when the actor is not the party for this step, 409 when it is but the
    order is not at that step (someone else acted first)."""
    if not who:
        raise ServiceError(message, 403)
    if not allowed:
        raise conflict(ORDER_WORKFLOW.raced)


STAFF_ONLY = _l("Only the staff of the household's village may do this.")
BUYER_ONLY = _l("Only members of the buying organization may do this.")
ADMIN_ONLY = _l("Only administrators of this region may decide.")


def hand_over(actor: User, order: ProduceOrder, note: str = "") -> None:
    _require(policy.can_hand_over(actor, order), policy.staff_here(actor, order), STAFF_ONLY)
    transition(order, OS.HANDED_OVER, actor, handed_over_at=utcnow(),
               handed_over_by_id=actor.id, handover_note=note.strip()[:2000])  # fmt: skip


def receive(actor: User, order: ProduceOrder) -> None:
    _require(policy.can_receive(actor, order), policy.buyer_here(actor, order), BUYER_ONLY)
    transition(order, OS.RECEIVED, actor, received_at=utcnow(), received_by_id=actor.id)


def pay(actor: User, order: ProduceOrder, paid_on: date | None, reference: str) -> None:
    """The buyer records its payment of the whole amount (the day paid, and the transfer's
    reference so that the household's staff can check it)."""
    _require(policy.can_pay(actor, order), policy.buyer_here(actor, order), BUYER_ONLY)
    if not isinstance(paid_on, date):
        raise ServiceError(_l("This field is required."), field="paid_on")
    if paid_on > beijing_today():
        raise ServiceError(_l("The date paid cannot be in the future."), field="paid_on")
    if paid_on < beijing_day_of(order.created_at):
        raise ServiceError(_l("The date paid cannot be before the order."), field="paid_on")
    if not 1 <= len(reference.strip()) <= 100:
        raise ServiceError(
            _l("Give the payment's reference (a transfer number), up to 100 characters."),
            field="reference",
        )
    transition(order, OS.PAID, actor, paid_at=utcnow(), paid_by_id=actor.id, paid_on=paid_on,
               payment_reference=reference.strip())  # fmt: skip


def confirm_payment(actor: User, order: ProduceOrder, received_on: date | None) -> None:
    """The household's staff confirm, with the household, that the payment arrived: the
    amount is recorded as the household's income in the month it arrived."""
    _require(policy.can_confirm_payment(actor, order), policy.staff_here(actor, order),
             STAFF_ONLY)  # fmt: skip
    if not isinstance(received_on, date):
        raise ServiceError(_l("This field is required."), field="received_on")
    if received_on > beijing_today():
        raise ServiceError(_l("The date received cannot be in the future."), field="received_on")
    if order.paid_on and received_on < order.paid_on:
        raise ServiceError(
            _l("The date received cannot be before the date paid."), field="received_on"
        )
    transition(order, OS.CONFIRMED, actor, confirmed_at=utcnow(), confirmed_by_id=actor.id,
               payment_received_on=received_on)  # fmt: skip


def cancel(actor: User, order: ProduceOrder, reason: str) -> None:
    who = policy.buyer_here(actor, order) or policy.staff_here(actor, order)
    _require(policy.can_cancel(actor, order), who, BUYER_ONLY)
    if not reason.strip():
        raise ServiceError(_l("Give a reason."), field="reason")
    transition(order, OS.CANCELLED, actor, cancel_reason=reason.strip()[:500])


def dispute(actor: User, order: ProduceOrder, reason: str) -> None:
    """The buyer disputes a handover, the staff a payment the household did not receive."""
    if order.status == OS.HANDED_OVER:  # the handover is the buyer's to dispute
        party, message = policy.buyer_here(actor, order), BUYER_ONLY
    elif order.status == OS.PAID:  # the payment the household's (its staff speak for it)
        party, message = policy.staff_here(actor, order), STAFF_ONLY
    else:
        party = policy.buyer_here(actor, order) or policy.staff_here(actor, order)
        message = BUYER_ONLY
    _require(policy.can_dispute(actor, order), party, message)
    if not reason.strip():
        raise ServiceError(_l("Say what is wrong."), field="reason")
    transition(order, OS.DISPUTED, actor, dispute_reason=reason.strip()[:500],
               disputed_from=order.status)  # fmt: skip


def resolve_dispute(actor: User, order: ProduceOrder, outcome: str, reason: str) -> None:
    _require(policy.can_resolve(actor, order), policy.admin_here(actor, order), ADMIN_ONLY)
    outcomes = policy.dispute_outcomes(order)
    if outcome not in outcomes:
        raise ServiceError(_l("Choose an outcome."), field="outcome")
    if not reason.strip():
        raise ServiceError(_l("Record the reason for the decision."), field="reason")
    to = outcomes[outcome]
    extra: dict[str, Any] = {"decision_reason": reason.strip()[:500], "disputed_from": None}
    if to == OS.CONFIRMED:
        extra.update(confirmed_at=utcnow(), confirmed_by_id=actor.id,
                     payment_received_on=order.paid_on or beijing_today())  # fmt: skip
    elif to == OS.RECEIVED and order.disputed_from == OS.PAID:
        # The payment did not arrive: it becomes history (the trail keeps it); pay again.
        extra.update(paid_at=None, paid_by_id=None, paid_on=None, payment_reference="")
    elif to == OS.ORDERED:
        extra.update(handed_over_at=None, handed_over_by_id=None, handover_note="")
    elif to == OS.RECEIVED:
        extra.update(received_at=utcnow(), received_by_id=None)
    transition(order, to, actor, **extra)


# --- income and reconciliation ----------------------------------------------------------------


def _month_text(month: date | str | None) -> str | None:
    if month is None:
        return None
    if isinstance(month, date):
        return f"{month:%Y-%m}"
    return month


def produce_income(
    household_ids: Iterable[int], month: date | str | None = None
) -> dict[int, Decimal]:
    """Each household's income from confirmed produce sales, in yuan: in ``month`` (a date in
    it, or "YYYY-MM") or in all months. Households without any are left out."""
    ids = sorted(set(household_ids))
    if not ids:
        return {}
    query = (
        sa.select(ProduceIncome.household_id, sa.func.sum(ProduceIncome.amount))
        .where(ProduceIncome.household_id.in_(ids))
        .group_by(ProduceIncome.household_id)
    )
    text = _month_text(month)
    if text is not None:
        query = query.where(ProduceIncome.month == text)
    return {int(h): Decimal(total).quantize(CENT) for h, total in db.session.execute(query)}


def income_of_household(household_id: int) -> list[tuple[ProduceIncome, ProduceOrder]]:
    """The household's shares of confirmed sales, the latest month first, each with its order
    (and the order's listing, for the product)."""
    rows = db.session.execute(
        sa.select(ProduceIncome, ProduceOrder)
        .join(ProduceOrder, ProduceIncome.order_id == ProduceOrder.id)
        .where(ProduceIncome.household_id == household_id)
        .options(joinedload(ProduceOrder.listing))
        .order_by(ProduceIncome.month.desc(), ProduceIncome.id.desc())
    )
    return [(income, order) for income, order in rows]


def income_of_order(order: ProduceOrder) -> list[ProduceIncome]:
    return list(
        db.session.scalars(
            sa.select(ProduceIncome)
            .where(ProduceIncome.order_id == order.id)
            .order_by(ProduceIncome.household_id)
        )
    )


def budget_problems(resource_ids: Iterable[int] | None = None) -> list[str]:
    """Where a purchase resource's budget totals and its orders disagree: spent must be the
    sum of its paid orders (paid, confirmed, a disputed payment), committed the sum of the
    others not cancelled, and both within its budget; each confirmed order's income shares
    add up to its amount. Empty: everything reconciles."""
    problems: list[str] = []
    only = None if resource_ids is None else set(resource_ids)
    query = sa.select(ProduceOrder)
    if only is not None:
        query = query.where(ProduceOrder.resource_id.in_(sorted(only)))
    sums: dict[int, dict[str, Decimal]] = {}
    for order in db.session.scalars(query):
        held = ledger_of(order.status, order.disputed_from)
        totals = sums.setdefault(order.resource_id, {"committed": Decimal(0), "spent": Decimal(0)})
        if held is not None:
            totals[held] += order.amount
        if order.status == OS.CONFIRMED:
            income = sum((i.amount for i in income_of_order(order)), Decimal(0))
            if order.listing.households and income != order.amount:
                problems.append(f"order {order.id}: income {income} != amount {order.amount}")
    rows = db.session.scalars(sa.select(ProduceBudget)).all()
    kept = {r.resource_id: r for r in rows}
    for resource_id in sorted(set(sums) | set(kept)):
        if only is not None and resource_id not in only:
            continue
        totals = sums.get(resource_id, {"committed": Decimal(0), "spent": Decimal(0)})
        row = kept.get(resource_id)
        for name in ("committed", "spent"):
            stored = getattr(row, name) if row is not None else Decimal(0)
            if stored != totals[name]:
                problems.append(f"resource {resource_id}: {name} {stored} != orders {totals[name]}")
        resource = db.session.get(Resource, resource_id)
        budget = budget_of(resource) if resource is not None else None
        if budget is not None and totals["committed"] + totals["spent"] > budget:
            problems.append(f"resource {resource_id}: orders hold more than the budget {budget}")
    return problems
