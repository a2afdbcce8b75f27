"""Need pages: post and edit (staff), review (administrators), browse and open (donors)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectChoice

from marketplace import page_cache
from marketplace.attachments.services import attach, attachments_of
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.forms import ReasonForm
from marketplace.households import services as households
from marketplace.households.models import Household
from marketplace.needs import policy, services
from marketplace.needs.categories import classifier
from marketplace.needs.forms import URGENCY_CHOICES, BrowseForm, NeedForm
from marketplace.needs.models import Need, NeedStatus
from marketplace.permissions import public, roles
from marketplace.regions.models import Region, RegionLevel
from marketplace.regions.services import load_ancestors
from marketplace.roles import Role
from marketplace.signals import household_page, need_list_page, need_page, page_context
from marketplace.vocab import CATEGORIES, CATEGORY_TREE
from marketplace.web import form_status, int_arg, paginate, submitted, uploaded_photo

bp = Blueprint("needs", __name__, url_prefix="/needs")


@bp.route("/")
@roles(*Role.REGION_READERS)
def index() -> Any:
    query = services.needs_query(current_user)
    status = request.args.get("status", "")
    if status in {s.value for s in NeedStatus}:
        query = query.where(Need.status == status)
    page = paginate(query.order_by(Need.created_at.desc()).options(sa.orm.joinedload(Need.village)))
    # The villages' towns and counties at once (full_name): a query per parent otherwise.
    places = load_ancestors(n.village for n in page.items)
    return render_template("needs/list.html", page=page, status=status, statuses=list(NeedStatus),
                           places=places)  # fmt: skip


@bp.route("/review")
@roles(*Role.ADMINS)
def review() -> Any:
    page = paginate(services.review_queue(current_user).options(
        sa.orm.selectinload(Need.household)))  # fmt: skip
    may = {n.id: policy.actions(current_user, n) for n in page.items}
    return render_template("needs/review.html", page=page, may=may, held_back=policy.HELD_BACK)


@bp.route("/browse")
@roles(Role.DONOR)
def browse() -> Any:
    form = BrowseForm(request.args)
    form.category.choices = [SelectChoice("", _("All categories"))] + [
        SelectChoice(top.code, top.label) for top, _subs in CATEGORY_TREE
    ]
    paths = services.donor_service_paths(current_user)
    areas = db.session.scalars(sa.select(Region).where(Region.path.in_(paths))).all()
    counties = db.session.scalars(
        sa.select(Region)
        .where(
            Region.level.in_([RegionLevel.COUNTY, RegionLevel.CITY]),
            sa.or_(sa.false(), *(Region.path.startswith(p) for p in paths)),
        )
        .order_by(Region.path)
        .limit(200)
    ).all()
    ancestors = load_ancestors([*areas, *counties])  # their full names, in one query
    form.region.choices = [SelectChoice("", _("All regions"))] + [
        SelectChoice(r.path, r.full_name) for r in {*areas, *counties}
    ]
    form.urgency.choices = [SelectChoice("", _("Any urgency"))] + [
        SelectChoice(str(v), label) for v, label in URGENCY_CHOICES
    ]
    valid = form.validate()
    query = services.browse_for_donor(
        current_user,
        form.category.data if valid else None,
        form.region.data if valid else None,
        int(form.urgency.data) if valid and form.urgency.data else None,
    )
    # The cards show each need's household (masked) and its village's full name.
    page = paginate(query.options(sa.orm.selectinload(Need.household),
                                  sa.orm.contains_eager(Need.village)))  # fmt: skip
    ancestors += load_ancestors([n.village for n in page.items])
    household_list = [n.household for n in page.items if n.household]
    return render_template(
        "needs/browse.html",
        page=page,
        form=form,
        identity=households.identity(current_user, household_list),
        has_areas=bool(paths),
        loaded=ancestors,  # held while the page renders
        **page_context(need_list_page, user=current_user, needs=list(page.items)),
    )


def _form_choices(form: NeedForm) -> None:
    villages = [r for r in current_user.regions if r.level == RegionLevel.VILLAGE]
    form.village.choices = [SelectChoice(v.id, v.full_name) for v in villages]
    rows = db.session.scalars(
        sa.select(Household)
        .where(Household.village_id.in_([v.id for v in villages]))
        .order_by(Household.register_number)
    ).all()
    names = households.identity(current_user, list(rows))  # full names: the view is audited
    form.household.choices = [SelectChoice(0, _("(the whole village)"))] + [
        SelectChoice(h.id, f"{h.register_number} {names[h.id]['name']}") for h in rows
    ]


def _values(form: NeedForm) -> dict[str, Any]:
    return {
        "subcategory": form.subcategory.data,
        "title": form.title.data.strip(),
        "description": (form.description.data or "").strip(),
        "quantity": form.quantity.data,
        "unit": form.unit.data.strip(),
        "estimated_value": form.estimated_value.data or 0,
        "urgency": form.urgency.data,
        "needed_by": form.needed_by.data,
    }


@bp.route("/new", methods=["GET", "POST"])
@roles(*Role.EDITORS)
def create() -> Any:
    form = NeedForm()
    _form_choices(form)
    if not form.is_submitted():
        form.household.data = int_arg("household") or 0
        form.urgency.data = 2
    done = submitted(form, lambda: _create(form))
    if done and done.value:
        flash(_("Need posted; it waits for verification."), "success")
        return redirect(url_for("needs.detail", need_id=done.value.id))
    return render_template("needs/form.html", form=form), form_status(form)


def _create(form: NeedForm) -> Need:
    village = db.session.get(Region, form.village.data)
    household = db.session.get(Household, form.household.data) if form.household.data else None
    assert village is not None  # the choices are the user's own villages
    photo = uploaded_photo(form.photo)
    need = services.create_need(current_user, village, household, **_values(form))
    if photo:
        attach("need", need.id, photo, current_user, "photo")
    return need


@bp.route("/suggest-category", methods=["POST"])
@roles(*Role.EDITORS)
def suggest_category() -> Any:
    """Category proposals for the words typed so far (JSON; posted, not in the URL)."""
    payload = request.get_json(silent=True) or {}
    words = str(payload.get("text", ""))[:2000]
    return {
        "suggestions": [
            {"code": code, "label": str(CATEGORIES[code].label), "confidence": confidence}
            for code, confidence in classifier().suggest(words)
            if code in CATEGORIES
        ]
    }


def render_detail(user: Any, need: Need, status: int = 200, **extra: Any) -> Any:
    """The need page. Its pledge form, matches and best resources come from matches (above
    needs), through the ``need_page`` signal; ``extra`` goes to them (a refused pledge form)."""
    identity = (
        households.identity(user, [need.household])[need.household.id]
        if user and need.household
        else None
    )
    places = load_ancestors([need.village])  # its town and county (full_name), one query
    page = render_template(
        "needs/detail.html",
        need=need,
        places=places,  # held while the page renders
        identity=identity,
        may=policy.actions(user, need),
        photos=attachments_of("need", need.id),
        **page_context(need_page, user=user, need=need, **extra),
    )
    return page, status


@bp.route("/<int:need_id>")
@public
@page_cache.cached()  # anonymous visitors only: a signed-in user's page is their own
def detail(need_id: int) -> Any:
    user = current_user if current_user.is_authenticated else None
    return render_detail(user, services.get_need(user, need_id))


@bp.route("/<int:need_id>/edit", methods=["GET", "POST"])
@roles(*Role.EDITORS)
def edit(need_id: int) -> Any:
    need = services.get_need(current_user, need_id)
    if not policy.can_post_in(current_user, need.village):
        abort(404)  # another village's need: as if it did not exist
    if not policy.can_edit(current_user, need):
        raise ServiceError(_l("A verified need can no longer be edited, only withdrawn."), 409)
    form = NeedForm(obj=need)
    _form_choices(form)
    if not form.is_submitted():
        form.village.data = need.village_id
        form.household.data = need.household_id or 0
    if submitted(form, lambda: _update(need, form)):
        flash(_("Saved."), "success")
        return redirect(url_for("needs.detail", need_id=need.id))
    return render_template("needs/form.html", form=form, need=need), form_status(form)


def _update(need: Need, form: NeedForm) -> None:
    photo = uploaded_photo(form.photo)
    services.update_need(current_user, need, **_values(form))
    if photo:
        attach("need", need.id, photo, current_user, "photo")


@bp.route("/<int:need_id>/<any(verify, return):decision>", methods=["POST"])
@roles(*Role.ADMINS)
def decide(need_id: int, decision: str) -> Any:
    need = services.get_need(current_user, need_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    if decision == "verify":
        services.verify_need(current_user, need)
    else:
        services.return_need(current_user, need, form.reason.data or "")
    flash(_("Decision recorded."), "success")
    if request.form.get("next") == "review":
        return redirect(url_for("needs.review"))
    return redirect(url_for("needs.detail", need_id=need.id))


@household_page.connect
def _household_needs(_sender: Any, *, user: Any, household: Household) -> dict[str, Any]:
    needs = db.session.scalars(
        sa.select(Need).where(Need.household_id == household.id).order_by(Need.created_at.desc())
    ).all()
    return {"needs": needs}
