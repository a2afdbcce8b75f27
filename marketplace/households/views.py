"""The household register pages (建档立卡)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectChoice

from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.forms import ReasonForm
from marketplace.households import policy, services
from marketplace.households.forms import (
    HouseholdForm,
    HouseholdSearchForm,
    MemberForm,
    ProposeForm,
)
from marketplace.households.models import Household, HouseholdMember, MemberRelation
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
        # Absent while the roster decides it (the service then works it out).
        "labour_capacity": form.labour_capacity.data if "labour_capacity" in form else "full",
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
        identity=services.identity(current_user, [household], members=True)[household.id],
        may=policy.actions(current_user, household),
        roster_labour=services.roster_labour(household.members),
        steps=services.identification_steps(household),
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
    roster_labour = services.roster_labour(household.members)
    if roster_labour is not None:
        del form.labour_capacity  # the roster decides it
    if not form.is_submitted():
        form.village.data = household.village_id
        form.primary_cause.data = household.primary_cause.value
        if "labour_capacity" in form:
            form.labour_capacity.data = household.labour_capacity.value
    if submitted(form, lambda: services.update_household(
            current_user, household, _chosen_village(form), **_values(form))):  # fmt: skip
        flash(_("Saved."), "success")
        return redirect(url_for("households.detail", household_id=household.id))
    # After any refusal was rolled back: the form shows unmasked data, and that view is audited.
    services.identity(current_user, [household])
    response = render_template(
        "households/form.html", form=form, household=household, roster_labour=roster_labour
    )
    return response, form_status(form)


# --- the roster -------------------------------------------------------------------------


def _member_values(form: MemberForm) -> dict[str, Any]:
    grade = form.disability_grade.data
    return {
        "relation": form.relation.data,
        "name": form.name.data or "",
        "id_number": form.id_number.data or "",
        "labour": form.labour.data,
        "health": form.health.data,
        "disability_grade": int(grade) if grade else None,
        "schooling": form.schooling.data,
        "in_school": bool(form.in_school.data),
        "skills": (form.skills.data or "").strip(),
        "working_away": bool(form.working_away.data),
    }


def _roster_editor(household: Household) -> None:
    if not policy.can_edit_members(current_user, household):
        raise ServiceError(_l("Only the staff of this village may change its register."), 403)


def _render_member_form(
    form: MemberForm, household: Household, member: HouseholdMember | None = None
) -> Any:
    # The form shows the household's (and the member's) data unmasked: that view is audited.
    services.identity(current_user, [household], members=member is not None)
    page = render_template(
        "households/member_form.html", form=form, household=household, member=member
    )
    return page, form_status(form)


@bp.route("/<int:household_id>/members/new", methods=["GET", "POST"])
@roles(*Role.EDITORS)
def add_member(household_id: int) -> Any:
    household = services.get_household(current_user, household_id)
    _roster_editor(household)
    form = MemberForm()
    has_head = any(m.relation == MemberRelation.HEAD for m in household.members)
    if not form.is_submitted() and not has_head:
        # The head first, as the register's roster starts: their name and number are the
        # household's.
        form.relation.data = MemberRelation.HEAD.value
        form.name.data = household.head_name
        form.id_number.data = household.head_id_number
    if submitted(form, lambda: services.add_member(
            current_user, household, **_member_values(form))):  # fmt: skip
        flash(_("Member added to the roster."), "success")
        return redirect(url_for("households.detail", household_id=household.id) + "#members")
    return _render_member_form(form, household)


@bp.route("/<int:household_id>/members/<int:member_id>/edit", methods=["GET", "POST"])
@roles(*Role.EDITORS)
def edit_member(household_id: int, member_id: int) -> Any:
    member = services.get_member(current_user, household_id, member_id)
    household = member.household
    _roster_editor(household)
    form = MemberForm(obj=member)
    if not form.is_submitted():
        form.relation.data = member.relation.value
        form.labour.data = member.labour.value if member.labour else None
        form.health.data = member.health.value
        form.disability_grade.data = str(member.disability_grade or "")
        form.schooling.data = member.schooling.value if member.schooling else None
    if submitted(form, lambda: services.update_member(
            current_user, member, **_member_values(form))):  # fmt: skip
        flash(_("Saved."), "success")
        return redirect(url_for("households.detail", household_id=household.id) + "#members")
    return _render_member_form(form, household, member)


@bp.route("/<int:household_id>/members/<int:member_id>/remove", methods=["POST"])
@roles(*Role.EDITORS)
def remove_member(household_id: int, member_id: int) -> Any:
    member = services.get_member(current_user, household_id, member_id)
    if not ReasonForm().validate_on_submit():
        abort(400)
    services.remove_member(current_user, member)
    flash(_("Member removed from the roster."), "success")
    return redirect(url_for("households.detail", household_id=household_id) + "#members")


# --- identification (精准识别) -------------------------------------------------------------


@bp.route("/identification")
@roles(*(Role.EDITORS | Role.ADMINS))
def identification_queue() -> Any:
    """精准识别: the households waiting for this user's step."""
    page = paginate(services.identification_queue(current_user))
    return render_template(
        "households/identification_queue.html",
        page=page,
        identity=services.identity(current_user, list(page.items)),
    )


@bp.route("/<int:household_id>/propose", methods=["GET", "POST"])
@roles(*Role.EDITORS)
def propose(household_id: int) -> Any:
    """村评定: the village's staff record the assessment and send the household to the
    township."""
    household = services.get_household(current_user, household_id)
    if not policy.can_edit(current_user, household):
        raise ServiceError(NOT_YOURS, 403)
    if not policy.can_propose(current_user, household):
        raise ServiceError(_l("This household is not waiting for the village's proposal."), 409)
    form = ProposeForm()
    if submitted(form, lambda: services.identify(
            current_user, household, "propose", assessed_on=form.assessed_on.data,
            assessment=form.assessment.data or "")):  # fmt: skip
        flash(_("Proposed: the household waits for the township's review."), "success")
        return redirect(url_for("households.detail", household_id=household.id))
    services.identity(current_user, [household])
    page = render_template("households/propose.html", form=form, household=household)
    return page, form_status(form)


NOT_YOURS = _l("Only the staff of this village may change its register.")


@bp.route(
    "/<int:household_id>/identification/<any(review, confirm, send_back):step>",
    methods=["POST"],
)
@roles(*Role.ADMINS)
def identification_step(household_id: int, step: str) -> Any:
    """The township reviews, the county confirms, a level sends it back (with a reason)."""
    household = services.get_household(current_user, household_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    services.identify(current_user, household, step, reason=form.reason.data or "")
    flash(_("Decision recorded."), "success")
    return redirect(url_for("households.detail", household_id=household.id))
