"""The household register pages (建档立卡)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectChoice

from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.households import policy, services
from marketplace.households.forms import HouseholdForm, HouseholdSearchForm
from marketplace.households.models import Household
from marketplace.permissions import roles
from marketplace.regions.models import Region, RegionLevel
from marketplace.roles import Role
from marketplace.signals import household_page, page_context
from marketplace.web import form_status, int_arg, paginate, submitted

bp = Blueprint("households", __name__, url_prefix="/households")


def _village_choices() -> list[SelectChoice]:
    villages = [r for r in current_user.regions if r.level == RegionLevel.VILLAGE]
    return [SelectChoice(v.id, v.full_name) for v in villages]


def _render_list(query: Any, search: HouseholdSearchForm) -> Any:
    page = paginate(query.order_by(Household.register_number))
    return render_template(
        "households/list.html",
        page=page,
        identity=services.identity(current_user, list(page.items)),
        search=search,
        may_create=current_user.role in Role.EDITORS,
    )


@bp.route("/")
@roles(*Role.REGION_READERS)
def index() -> Any:
    query = services.households_query(current_user)
    village_id = int_arg("village")
    if village_id:
        query = query.where(Household.village_id == village_id)
    response = _render_list(query, HouseholdSearchForm())
    return response


@bp.route("/search", methods=["POST"])
@roles(*Role.REGION_READERS)
def search() -> Any:
    form = HouseholdSearchForm()
    query = services.households_query(current_user)
    if form.validate_on_submit() and form.q.data:
        term = form.q.data.strip()[:50]
        query = query.where(
            sa.or_(
                Household.register_number.startswith(term, autoescape=True),
                Household.head_id_number.startswith(term.upper(), autoescape=True),
                Household.head_name.contains(term, autoescape=True),
            )
        )
        # Masked users may not search by the data they cannot see.
        if current_user.role not in Role.PERSONAL_DATA:
            query = query.where(Household.register_number.startswith(term, autoescape=True))
    response = _render_list(query, form)
    return response


def _values(form: HouseholdForm) -> dict[str, Any]:
    return {
        "register_number": form.register_number.data.strip(),
        "head_name": form.head_name.data.strip(),
        "head_id_number": form.head_id_number.data,
        "phone": form.phone.data or "",
        "member_count": form.member_count.data,
        "primary_cause": form.primary_cause.data,
        "other_causes": form.other_causes.data or [],
        "status": form.status.data,
        "labour_capacity": form.labour_capacity.data,
        "income_per_capita": form.income_per_capita.data,
    }


@bp.route("/new", methods=["GET", "POST"])
@roles(*Role.EDITORS)
def create() -> Any:
    form = HouseholdForm()
    form.village.choices = _village_choices()
    done = submitted(form, lambda: services.create_household(
        current_user, _chosen_village(form), **_values(form)))  # fmt: skip
    if done and done.value:
        household = done.value
        flash(_("Household %(number)s registered.", number=household.register_number), "success")
        return redirect(url_for("households.detail", household_id=household.id))
    return render_template("households/form.html", form=form), form_status(form)


def _chosen_village(form: HouseholdForm) -> Region:
    village = db.session.get(Region, form.village.data)
    assert village is not None  # the choices are the user's own villages
    return village


@bp.route("/<int:household_id>")
@roles(*Role.REGION_READERS)
def detail(household_id: int) -> Any:
    household = services.get_household(current_user, household_id)
    # Its needs and the help it has had come from the packages above households.
    return render_template(
        "households/detail.html",
        household=household,
        identity=services.identity(current_user, [household])[household.id],
        may=policy.actions(current_user, household),
        **page_context(household_page, user=current_user, household=household),
    )


@bp.route("/<int:household_id>/edit", methods=["GET", "POST"])
@roles(*Role.EDITORS)
def edit(household_id: int) -> Any:
    household = services.get_household(current_user, household_id)
    if not policy.can_edit(current_user, household):
        raise ServiceError(_l("Only the staff of this village may change its register."), 403)
    form = HouseholdForm(obj=household)
    form.village.choices = _village_choices()
    if not form.is_submitted():
        form.village.data = household.village_id
        form.primary_cause.data = household.primary_cause.value
        form.status.data = household.status.value
        form.labour_capacity.data = household.labour_capacity.value
    if submitted(form, lambda: services.update_household(
            current_user, household, _chosen_village(form), **_values(form))):  # fmt: skip
        flash(_("Saved."), "success")
        return redirect(url_for("households.detail", household_id=household.id))
    # After any refusal was rolled back: the form shows unmasked data, and that view is audited.
    services.identity(current_user, [household])
    response = render_template("households/form.html", form=form, household=household)
    return response, form_status(form)
