"""Produce pages: the listing form and page, the buyer's ranked list, the order page with its
steps, and the lists of listings and orders."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectChoice

from marketplace.attachments.models import Attachment
from marketplace.attachments.services import attach, attachments_of, path_of, read_photo
from marketplace.audit.models import AuditEvent
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.households import services as households
from marketplace.households.models import Household
from marketplace.permissions import public, roles, signed_in
from marketplace.produce import policy, services
from marketplace.produce.forms import (
    MAX_PHOTOS,
    CancelForm,
    ConfirmPaymentForm,
    DisputeForm,
    HandOverForm,
    ListingForm,
    ListingReasonForm,
    OrderForm,
    PayForm,
    ResolveForm,
)
from marketplace.produce.models import (
    PHOTO_OWNER,
    ListingStatus,
    OrderStatus,
    ProduceListing,
    ProduceOrder,
)
from marketplace.regions.models import Region, RegionLevel
from marketplace.resources.models import Resource
from marketplace.roles import Role
from marketplace.signals import household_page
from marketplace.timefmt import beijing_today
from marketplace.web import form_status, int_arg, paginate, submitted

bp = Blueprint("produce", __name__, url_prefix="/produce")


# --- lists ------------------------------------------------------------------------------------


@bp.route("/")
@roles(*Role.REGION_READERS)
def listings() -> Any:
    """The listings of the user's villages, newest first, a page at a time."""
    query = services.listings_query(current_user)
    status = request.args.get("status", "")
    if status in {s.value for s in ListingStatus}:
        query = query.where(ProduceListing.status == status)
    page = paginate(query.order_by(ProduceListing.id.desc()))
    return render_template(
        "produce/listings.html", page=page, status=status, statuses=list(ListingStatus)
    )


@bp.route("/review")
@roles(*Role.ADMINS)
def review() -> Any:
    """What waits for the region's administrators: listings to verify, disputed orders."""
    waiting = services.listings_query(current_user).where(
        ProduceListing.status == ListingStatus.SUBMITTED
    )
    disputed = db.session.scalars(
        services.orders_for(current_user)
        .where(ProduceOrder.status == OrderStatus.DISPUTED)
        .order_by(ProduceOrder.updated_at)
    ).all()
    page = paginate(waiting.order_by(ProduceListing.updated_at))
    return render_template("produce/review.html", page=page, disputed=disputed)


@bp.route("/orders")
@signed_in
def orders() -> Any:
    """The buyer's orders (donors), or those of the user's villages."""
    query = services.orders_for(current_user)
    status = request.args.get("status", "")
    if status in {s.value for s in OrderStatus}:
        query = query.where(ProduceOrder.status == status)
    page = paginate(query.order_by(ProduceOrder.updated_at.desc(), ProduceOrder.id.desc()))
    return render_template(
        "produce/orders.html", page=page, status=status, statuses=list(OrderStatus)
    )


@bp.route("/market")
@roles(Role.DONOR)
def market() -> Any:
    """Open listings ranked for one of the buyer's purchase resources."""
    resources = services.purchase_resources(current_user)
    chosen = _chosen(resources, int_arg("resource"))
    ranked = services.ranked_for(chosen) if chosen is not None else []
    return render_template(
        "produce/market.html",
        resources=resources,
        chosen=chosen,
        ranked=ranked,
        budget=services.budget_of(chosen) if chosen else None,
        left=services.budget_left(chosen) if chosen else None,
        held=services.budget_held(chosen) if chosen else None,
        is_buyer=policy.is_buyer(current_user),
        reasons=COMPONENT_NAMES,
        words=explain,
    )


COMPONENT_NAMES = {
    "category": _l("Category"),
    "place": _l("Place"),
    "price": _l("Price"),
    "need": _l("Households' need"),
}
EXPLANATIONS = {
    ("category", "exact"): _l("your purchase names this category"),
    ("category", "parent"): _l("your purchase names its whole category"),
    ("place", "same_village"): _l("a village your purchase names"),
    ("place", "same_township"): _l("in a township your purchase names"),
    ("place", "same_county"): _l("in a county your purchase names"),
    ("place", "same_city"): _l("in a city your purchase names"),
    ("place", "same_province"): _l("in your province"),
    ("price", "no_peers"): _l("no other listing of this product to compare"),
    ("price", "at_or_below_median"): _l("at or below the usual price of %(median)s yuan"),
    ("price", "above_median"): _l("above the usual price of %(median)s yuan"),
    ("need", "households"): _l(
        "%(poor)s of %(households)s households poor or at risk; sold %(sales)s times before"
    ),
    ("need", "none_registered"): _l("no registered household named"),
}


def explain(explanation: Any) -> str:
    """One component's reason in the reader's words."""
    text = EXPLANATIONS.get((explanation.component, explanation.code))
    if text is None:
        return ""
    try:
        return str(text) % explanation.params
    except (KeyError, TypeError, ValueError):
        return str(text)


def _chosen(resources: list[Resource], wanted: int | None) -> Resource | None:
    if wanted is not None:
        return next((r for r in resources if r.id == wanted), None) or abort(404)
    return resources[0] if resources else None


# --- the listing form -------------------------------------------------------------------------


def _staff_villages() -> list[Region]:
    return [r for r in current_user.regions if r.level == RegionLevel.VILLAGE]


def _form_choices(form: ListingForm, listing: ProduceListing | None = None) -> None:
    villages = _staff_villages()
    if listing is not None and listing.village not in villages:
        villages.append(listing.village)
    form.village.choices = [SelectChoice(v.id, v.full_name) for v in villages]
    rows = services.households_of(current_user, villages)
    names = households.identity(current_user, rows)  # staff's own villages: audited
    people = [SelectChoice(h.id, f"{h.register_number} {names[h.id]['name']}") for h in rows]
    form.household.choices = [SelectChoice(0, _("(a village cooperative)")), *people]
    form.members.choices = people


def _photos(form: ListingForm) -> list[tuple[bytes, str, str]]:
    """The photos chosen, each checked (shown at the field when one is refused)."""
    files = [f for f in (form.photos.data or []) if getattr(f, "filename", "")]
    if len(files) > MAX_PHOTOS:
        raise ServiceError(_l("At most %(n)s photos at a time.", n=MAX_PHOTOS), field="photos")
    checked = []
    for storage in files:
        try:
            checked.append(read_photo(storage.stream))
        except ServiceError as exc:
            raise ServiceError(exc.message, exc.status, field="photos") from exc
    return checked


def _seller(form: ListingForm) -> dict[str, Any]:
    household = db.session.get(Household, form.household.data) if form.household.data else None
    members = [db.session.get(Household, i) for i in form.members.data or []]
    return {
        "household": household,
        "cooperative_name": form.cooperative_name.data or "",
        "members": [m for m in members if m is not None] if household is None else [],
    }


def _values(form: ListingForm) -> dict[str, Any]:
    return {
        "product": form.product.data or "",
        "category": form.category.data,
        "quantity": form.quantity.data,
        "unit": form.unit.data or "",
        "price": form.price.data,
        "available_from": form.available_from.data,
        "quality_notes": form.quality_notes.data or "",
    }


def _attach_all(listing: ProduceListing, photos: list[tuple[bytes, str, str]]) -> None:
    for photo in photos:
        attach(PHOTO_OWNER, listing.id, photo, current_user, "photo")


@bp.route("/listings/new", methods=["GET", "POST"])
@roles(*Role.EDITORS)
def create() -> Any:
    form = ListingForm()
    _form_choices(form)
    if not form.is_submitted():
        form.household.data = int_arg("household") or 0
        form.available_from.data = beijing_today()

    def act() -> ProduceListing:
        village = db.session.get(Region, form.village.data)
        if village is None:
            raise ServiceError(_l("Choose a village."), field="village")
        photos = _photos(form)
        listing = services.create_listing(current_user, village, **_seller(form), **_values(form))
        _attach_all(listing, photos)
        return listing

    done = submitted(form, act)
    if done and done.value:
        flash(_("Listing saved as a draft: submit it for verification when it is complete."),
              "success")  # fmt: skip
        return redirect(url_for("produce.detail", listing_id=done.value.id))
    return render_template("produce/form.html", form=form), form_status(form)


@bp.route("/listings/<int:listing_id>/edit", methods=["GET", "POST"])
@roles(*Role.EDITORS)
def edit(listing_id: int) -> Any:
    listing = services.get_listing(current_user, listing_id)
    if not policy.staff_of_listing(current_user, listing):
        abort(404)  # another village's listing: as if it did not exist
    if not policy.can_edit_listing(current_user, listing):
        raise ServiceError(_l("A listing being verified or on sale can no longer be edited."), 409)
    form = ListingForm(obj=listing)
    _form_choices(form, listing)
    if not form.is_submitted():
        form.village.data = listing.village_id
        form.household.data = listing.household_id or 0
        form.members.data = [h.id for h in listing.members]

    def act() -> None:
        photos = _photos(form)
        services.update_listing(current_user, listing, **_seller(form), **_values(form))
        _attach_all(listing, photos)

    if submitted(form, act):
        flash(_("Saved."), "success")
        return redirect(url_for("produce.detail", listing_id=listing.id))
    return render_template("produce/form.html", form=form, listing=listing), form_status(form)


# --- the listing page and its actions ---------------------------------------------------------


def _viewer() -> Any:
    return current_user if current_user.is_authenticated else None


def _order_choices(user: Any, listing: ProduceListing) -> tuple[list[SelectChoice], str]:
    """The buyer's purchase resources that may order from this listing now, or why none."""
    if not policy.is_buyer(user):
        return [], _("Your organization is awaiting verification by an administrator: you can "
                     "order once it is verified.")  # fmt: skip
    own = services.purchase_resources(user)
    if not own:
        return [], _("Your organization has no active purchase resource: post one (kind: "
                     "purchase of farm produce) to order produce.")  # fmt: skip
    fitting = [r for r in own if services.order_problem(listing, r) is None]
    if not fitting:
        return [], str(services.order_problem(listing, own[0]))
    labels = []
    for r in fitting:
        left = services.budget_left(r)
        budget = _("no limit") if left is None else _("%(left)s yuan left", left=left)
        labels.append(SelectChoice(r.id, f"{r.title}（{budget}）"))
    return labels, ""


def render_listing(listing: ProduceListing, status: int = 200, order_form: Any = None) -> Any:
    user = _viewer()
    may = policy.listing_actions(user, listing)
    shown = households.identity(user, listing.households) if may["see_households"] else {}
    no_order_reason = ""
    refused = list(order_form.form_errors) if order_form is not None else []
    if may["order"]:
        options, no_order_reason = _order_choices(user, listing)
        if options:
            order_form = order_form or OrderForm(formdata=None)
            order_form.resource.choices = options
            if not order_form.is_submitted() and order_form.resource.data is None:
                wanted = int_arg("resource")
                order_form.resource.data = wanted or options[0].value
        else:
            order_form = None
    orders = []
    if may["see_orders"]:
        orders = list(
            db.session.scalars(
                sa.select(ProduceOrder)
                .where(ProduceOrder.listing_id == listing.id)
                .order_by(ProduceOrder.id.desc())
            )
        )
    elif user is not None and user.organization_id:
        orders = list(
            db.session.scalars(
                sa.select(ProduceOrder)
                .where(
                    ProduceOrder.listing_id == listing.id,
                    ProduceOrder.organization_id == user.organization_id,
                )
                .order_by(ProduceOrder.id.desc())
            )
        )
    return render_template(
        "produce/detail.html",
        refused=refused,
        listing=listing,
        may=may,
        names=[shown[h.id]["name"] for h in listing.households] if shown else [],
        photos=attachments_of(PHOTO_OWNER, listing.id),
        order_form=order_form,
        no_order_reason=no_order_reason,
        orders=orders,
        reason_form=ListingReasonForm(formdata=None),
    ), status


@bp.route("/listings/<int:listing_id>")
@public
def detail(listing_id: int) -> Any:
    return render_listing(services.get_listing(_viewer(), listing_id))


@bp.route("/listings/<int:listing_id>/submit", methods=["POST"])
@roles(*Role.EDITORS)
def submit(listing_id: int) -> Any:
    listing = services.get_listing(current_user, listing_id)
    if not ListingReasonForm().validate_on_submit():
        abort(400)
    services.submit_listing(current_user, listing)
    flash(_("Listing submitted; it waits for verification."), "success")
    return redirect(url_for("produce.detail", listing_id=listing.id))


@bp.route("/listings/<int:listing_id>/withdraw", methods=["POST"])
@roles(*Role.EDITORS)
def withdraw(listing_id: int) -> Any:
    listing = services.get_listing(current_user, listing_id)
    form = ListingReasonForm()
    if not form.validate_on_submit():
        abort(400)
    services.withdraw_listing(current_user, listing, form.reason.data or "")
    flash(_("Listing withdrawn; orders under way go on."), "info")
    return redirect(url_for("produce.detail", listing_id=listing.id))


@bp.route("/listings/<int:listing_id>/<any(verify, return):decision>", methods=["POST"])
@roles(*Role.ADMINS)
def decide(listing_id: int, decision: str) -> Any:
    listing = services.get_listing(current_user, listing_id)
    form = ListingReasonForm()
    if not form.validate_on_submit():
        abort(400)
    if decision == "verify":
        services.verify_listing(current_user, listing)
    else:
        services.return_listing(current_user, listing, form.reason.data or "")
    flash(_("Decision recorded."), "success")
    return redirect(url_for("produce.detail", listing_id=listing.id))


@bp.route("/listings/<int:listing_id>/order", methods=["POST"])
@roles(Role.DONOR)
def order(listing_id: int) -> Any:
    listing = services.get_listing(current_user, listing_id)
    form = OrderForm()
    form.resource.choices, why_not = _order_choices(current_user, listing)
    if not policy.can_order(current_user, listing):
        raise ServiceError(_l("This listing is not on sale."), 409)
    if not form.resource.choices:
        raise ServiceError(why_not, 409)

    def act() -> ProduceOrder:
        resource = next(r for r in services.purchase_resources(current_user)
                        if r.id == form.resource.data)  # fmt: skip
        return services.place_order(current_user, listing, resource, form.quantity.data)

    done = submitted(form, act)
    if done and done.value:
        flash(_("Ordered; the village's staff will hand the produce over."), "success")
        return redirect(url_for("produce.order_detail", order_id=done.value.id))
    return render_listing(listing, form_status(form), order_form=form)


@bp.route("/photos/<int:attachment_id>")
@public
def photo(attachment_id: int) -> Any:
    item = db.session.get(Attachment, attachment_id)
    if item is None or item.owner_type != PHOTO_OWNER:
        abort(404)
    services.get_listing(_viewer(), item.owner_id)  # 404 unless the listing may be read
    return send_file(path_of(item), mimetype=item.content_type, max_age=0)


# --- the order page and its steps -------------------------------------------------------------


STEP_FORMS: dict[str, Callable[..., Any]] = {
    "hand_over_form": HandOverForm,
    "pay_form": PayForm,
    "confirm_form": ConfirmPaymentForm,
    "cancel_form": CancelForm,
    "dispute_form": DisputeForm,
    "resolve_form": ResolveForm,
}
TIMELINE: dict[str, Any] = {
    "produce_order_ordered": _l("Ordered"),
    "produce_order_handed_over": _l("Handed over"),
    "produce_order_received": _l("Received by the buyer"),
    "produce_order_paid": _l("Payment recorded by the buyer"),
    "produce_order_confirmed": _l("Payment confirmed received with the household"),
    "produce_order_disputed": _l("Disputed"),
    "produce_order_cancelled": _l("Cancelled"),
}
AFTER_DISPUTE: dict[str, Any] = {
    "ordered": _l("Dispute resolved: to be handed over again"),
    "received": _l("Dispute resolved: received, to be paid"),
    "confirmed": _l("Dispute resolved: the payment was received"),
    "cancelled": _l("Dispute resolved: the order is called off"),
}
DETAILS = (
    ("quantity", _l("Quantity")),
    ("amount", _l("Amount (yuan)")),
    ("handover_note", _l("Handover note")),
    ("paid_on", _l("Date paid")),
    ("payment_reference", _l("Payment reference")),
    ("payment_received_on", _l("Date the household received it")),
    ("dispute_reason", _l("What is wrong")),
    ("cancel_reason", _l("Reason")),
    ("decision_reason", _l("Reason for the decision")),
)
ROLE_NAMES: dict[str, Any] = {
    Role.DONOR.value: _l("Buyer"),
    Role.STAFF.value: _l("Village staff"),
    Role.ADMIN.value: _l("Administrator"),
    Role.SUPERUSER.value: _l("Administrator"),
}


def timeline(order: ProduceOrder) -> list[dict[str, Any]]:
    """The order's steps from the audit trail, oldest first, the last one marked current."""
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.object_type == "produce_order", AuditEvent.object_id == order.id)
        .order_by(AuditEvent.id)
    ).all()
    steps = []
    for event in events:
        if event.action not in TIMELINE:
            continue
        before = (event.before or {}).get("status")
        after: dict[str, Any] = event.after or {}
        label = TIMELINE[event.action]
        if before == OrderStatus.DISPUTED.value and after.get("status") in AFTER_DISPUTE:
            label = AFTER_DISPUTE[after["status"]]
        details = [(name, str(after[key])) for key, name in DETAILS
                   if after.get(key) not in (None, "", "None")]  # fmt: skip
        steps.append({
            "at": event.created_at, "action": event.action, "label": label,
            "by": ROLE_NAMES.get(event.actor_role, _l("The platform")), "details": details,
            "current": False,
        })  # fmt: skip
    if steps:
        steps[-1]["current"] = True
    return steps


def render_order(order: ProduceOrder, failed: str | None = None, form: Any = None) -> Any:
    may = policy.order_actions(current_user, order)
    forms = {name: cls(formdata=None) for name, cls in STEP_FORMS.items()}
    forms["pay_form"].paid_on.data = beijing_today()
    forms["confirm_form"].received_on.data = beijing_today()
    if failed is not None:
        forms[failed] = form
    forms["resolve_form"].offer(list(policy.dispute_outcomes(order)))
    listing = order.listing
    shown = households.identity(current_user, listing.households) if may["see_households"] else {}
    status = form_status(form) if form is not None else 200
    return render_template(
        "produce/order.html",
        order=order,
        listing=listing,
        may=may,
        names=[shown[h.id]["name"] for h in listing.households] if shown else [],
        named={h.id: shown[h.id]["name"] for h in listing.households} if shown else {},
        income=services.income_of_order(order) if may["see_households"] else [],
        history=timeline(order),
        # A refused step's message, above the page: its form may no longer be offered.
        refused=list(form.form_errors) if form is not None else [],
        S=OrderStatus,
        **forms,
    ), status


@bp.route("/orders/<int:order_id>")
@signed_in
def order_detail(order_id: int) -> Any:
    return render_order(services.get_order(current_user, order_id))


def _step(order: ProduceOrder, name: str, action: Callable[[Any], Any], message: str) -> Any:
    form = STEP_FORMS[name]()
    if name == "resolve_form":
        form.offer(list(policy.dispute_outcomes(order)))
    if not submitted(form, lambda: action(form)):
        return render_order(order, name, form)
    flash(message, "success")
    return redirect(url_for("produce.order_detail", order_id=order.id))


@bp.route("/orders/<int:order_id>/<any(hand_over, confirm_payment):step>", methods=["POST"])
@roles(*Role.EDITORS)
def staff_step(order_id: int, step: str) -> Any:
    order = services.get_order(current_user, order_id)
    if step == "hand_over":
        return _step(order, "hand_over_form",
                     lambda f: services.hand_over(current_user, order, f.note.data or ""),
                     _("Marked handed over; the buyer confirms receipt."))  # fmt: skip
    return _step(order, "confirm_form",
                 lambda f: services.confirm_payment(current_user, order, f.received_on.data),
                 _("Payment confirmed; the household's income is recorded."))  # fmt: skip


@bp.route("/orders/<int:order_id>/receive", methods=["POST"])
@roles(Role.DONOR)
def receive(order_id: int) -> Any:
    order = services.get_order(current_user, order_id)
    if not ListingReasonForm().validate_on_submit():
        abort(400)
    services.receive(current_user, order)
    flash(_("Receipt recorded; pay the household and record the payment."), "success")
    return redirect(url_for("produce.order_detail", order_id=order.id))


@bp.route("/orders/<int:order_id>/pay", methods=["POST"])
@roles(Role.DONOR)
def pay(order_id: int) -> Any:
    order = services.get_order(current_user, order_id)
    return _step(
        order, "pay_form",
        lambda f: services.pay(current_user, order, f.paid_on.data, f.reference.data or ""),
        _("Payment recorded; the village's staff confirm it with the household."),
    )  # fmt: skip


@bp.route("/orders/<int:order_id>/cancel", methods=["POST"])
@roles(Role.DONOR, *Role.EDITORS)
def cancel(order_id: int) -> Any:
    order = services.get_order(current_user, order_id)
    return _step(order, "cancel_form",
                 lambda f: services.cancel(current_user, order, f.reason.data or ""),
                 _("Order cancelled; its quantity is on sale again."))  # fmt: skip


@bp.route("/orders/<int:order_id>/dispute", methods=["POST"])
@roles(Role.DONOR, *Role.EDITORS)
def dispute(order_id: int) -> Any:
    order = services.get_order(current_user, order_id)
    return _step(order, "dispute_form",
                 lambda f: services.dispute(current_user, order, f.reason.data or ""),
                 _("Reported to the administrators, who will resolve it."))  # fmt: skip


@bp.route("/orders/<int:order_id>/resolve", methods=["POST"])
@roles(*Role.ADMINS)
def resolve(order_id: int) -> Any:
    order = services.get_order(current_user, order_id)
    return _step(order, "resolve_form",
                 lambda f: services.resolve_dispute(current_user, order, f.outcome.data,
                                                    f.reason.data or ""),
                 _("Decision recorded."))  # fmt: skip


@household_page.connect
def _household_income(_sender: Any, *, user: Any, household: Household) -> dict[str, Any]:
    """The household page's income from produce sales (its shares of confirmed orders)."""
    sales = services.income_of_household(household.id)
    return {
        "produce_income": sales,
        "produce_income_total": sum((income.amount for income, _o in sales), Decimal(0)),
    }
