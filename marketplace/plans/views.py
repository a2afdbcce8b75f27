"""Plan pages: the household's plan (printable for the notice board and the file), its
measures, guarantee checks and shocks (staff); exit, monitoring and return to poverty
(administrators); the list of households at risk or monitored (administrators)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from marketplace.attachments.services import attach, path_of
from marketplace.errors import ServiceError
from marketplace.forms import ReasonForm
from marketplace.households import services as households
from marketplace.households.models import Household
from marketplace.needs.forms import NeedForm
from marketplace.needs.models import Need
from marketplace.permissions import roles
from marketplace.plans import policy, services
from marketplace.plans.forms import GuaranteesForm, MeasureForm, PlanForm, ShockForm
from marketplace.plans.models import Guarantee, Measure, MeasureStatus, ShockKind
from marketplace.plans.suggestions import GUARANTEE_CATEGORY, suggestions_for
from marketplace.roles import Role
from marketplace.signals import household_page, need_page
from marketplace.timefmt import beijing_today
from marketplace.vocab import CATEGORIES, PovertyCause
from marketplace.web import form_status, int_arg, paginate, submitted, uploaded_photo

bp = Blueprint("plans", __name__, url_prefix="/plans")

KEEPERS = tuple(Role.EDITORS)
SHOCK_RECORDERS = tuple(Role.EDITORS | Role.ADMINS)


def _household(household_id: int) -> Household:
    """A household in the user's scope (404 otherwise)."""
    return households.get_household(current_user, household_id)


def _kept(household_id: int) -> Household:
    household = _household(household_id)
    if not policy.can_keep_plan(current_user, household):
        raise ServiceError(services.ONLY_STAFF, 403)
    return household


def _to_plan(household: Household) -> Any:
    return redirect(url_for("plans.detail", household_id=household.id))


@bp.route("/<int:household_id>")
@roles(*Role.REGION_READERS)
def detail(household_id: int) -> Any:
    """The plan page; ``?copy=board`` is the masked copy for the village notice board."""
    household = _household(household_id)
    board = request.args.get("copy") == "board"
    view = services.plan_view(current_user, household, board=board)
    if view.personal:  # the full name and ID number, audited
        identity = households.identity(current_user, [household])[household.id]
    else:
        identity = {"name": services.board_name(household), "id_number": ""}
    return render_template(
        "plans/plan.html",
        view=view,
        household=household,
        identity=identity,
        board=board,
        suggestions={PovertyCause(c): suggestions_for(PovertyCause(c)) for c in household.causes},
    )


@bp.route("/<int:household_id>/edit", methods=["GET", "POST"])
@roles(*KEEPERS)
def edit(household_id: int) -> Any:
    household = _kept(household_id)
    plan = services.plan_of(household)
    form = PlanForm(obj=plan)
    if submitted(form, lambda: services.update_plan(
            current_user, household, form.goal.data or "", form.target_year.data)):  # fmt: skip
        flash(_("Saved."), "success")
        return _to_plan(household)
    return render_template(
        "plans/form.html", form=form, household=household, heading=_("The plan's aim")
    ), form_status(form)


def _measure_values(form: MeasureForm) -> dict[str, Any]:
    return {
        "cause": form.cause.data,
        "subcategory": form.subcategory.data,
        "title": (form.title.data or "").strip(),
        "target": form.target.data or "",
        "due_on": form.due_on.data,
        "responsible_id": form.responsible_id.data or None,
        "responsible_name": form.responsible_name.data or "",
        "responsible_phone": form.responsible_phone.data or "",
    }


@bp.route("/<int:household_id>/measure", methods=["GET", "POST"])
@roles(*KEEPERS)
def measure(household_id: int) -> Any:
    """A new measure (``?cause=&suggestion=`` starts from a suggested one), or the measure
    ``?id=`` edited."""
    household = _kept(household_id)
    existing = services.get_measure(current_user, household, int_arg("id")) if request.args.get(
        "id") else None  # fmt: skip
    if existing is not None and not policy.can_edit_measure(current_user, existing):
        raise ServiceError(_("A measure done or dropped can no longer be changed."), 409)
    form = MeasureForm(obj=existing)
    form.cause.choices = [SelectChoice(c, PovertyCause(c).label) for c in household.causes]
    form.responsible_id.choices = [SelectChoice(0, _("(someone without an account: below)"))] + [
        SelectChoice(u.id, u.display_name) for u in services.responsible_choices(household)
    ]
    if not form.is_submitted():
        _prefill_measure(form, household, existing)

    def save() -> Any:
        if existing is not None:
            return services.update_measure(current_user, existing, **_measure_values(form))
        return services.add_measure(current_user, household, **_measure_values(form))

    if submitted(form, save):
        flash(_("Saved."), "success")
        return _to_plan(household)
    heading = _("Edit the measure") if existing else _("Add a measure")
    return render_template(
        "plans/form.html", form=form, household=household, heading=heading
    ), form_status(form)


def _prefill_measure(form: MeasureForm, household: Household, existing: Measure | None) -> None:
    if existing is not None:
        form.cause.data = existing.cause.value
        form.responsible_id.data = existing.responsible_id or 0
        return
    cause = request.args.get("cause", "")
    form.cause.data = cause if cause in household.causes else household.primary_cause.value
    offered = {u.id for u in services.responsible_choices(household)}
    form.responsible_id.data = current_user.id if current_user.id in offered else 0
    chosen = suggestions_for(PovertyCause(form.cause.data))
    index = request.args.get("suggestion", type=int)
    if index is not None and 0 <= index < len(chosen):
        form.subcategory.data = chosen[index].subcategory
        form.title.data = str(chosen[index].title)
        form.target.data = str(chosen[index].target)


MOVES = {"start": MeasureStatus.UNDER_WAY, "done": MeasureStatus.DONE,
         "drop": MeasureStatus.DROPPED}  # fmt: skip


@bp.route("/measures/<int:measure_id>/<any(start, done, drop):move>", methods=["POST"])
@roles(*KEEPERS)
def move_measure(measure_id: int, move: str) -> Any:
    measure = services.measure_in_scope(current_user, measure_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    services.move_measure(current_user, measure, MOVES[move], form.reason.data or "")
    flash(_("Saved."), "success")
    return _to_plan(measure.plan.household)


def _need_values(form: NeedForm) -> dict[str, Any]:
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


@bp.route("/<int:household_id>/need", methods=["GET", "POST"])
@roles(*KEEPERS)
def post_need(household_id: int) -> Any:
    """The need form for the household, prefilled from a measure of its plan (``?measure=``,
    which the need then links back to) or from an unmet guarantee (``?guarantee=``)."""
    household = _kept(household_id)
    measure = None
    if request.args.get("measure"):
        measure = services.get_measure(current_user, household, int_arg("measure"))
        if not policy.can_post_need_from(current_user, measure):
            raise ServiceError(_("Needs can be posted only from a measure still open."), 409)
    guarantee = None
    if request.args.get("guarantee") in {g.value for g in Guarantee}:
        guarantee = Guarantee(request.args["guarantee"])
    form = NeedForm()
    del form.village, form.household  # the plan's household, in its village
    if not form.is_submitted():
        form.urgency.data = 2
        form.quantity.data = 1
        if measure is not None:
            form.subcategory.data = measure.subcategory
            form.title.data = measure.title
            form.description.data = measure.target
        elif guarantee is not None:
            form.subcategory.data = GUARANTEE_CATEGORY[guarantee]
            form.title.data = str(guarantee.label)

    def post() -> Need:
        photo = uploaded_photo(form.photo)
        need = services.post_need(current_user, household, measure, **_need_values(form))
        if photo:
            attach("need", need.id, photo, current_user, "photo")
        return need

    done = submitted(form, post)
    if done and done.value:
        flash(_("Need posted; it waits for verification."), "success")
        return redirect(url_for("needs.detail", need_id=done.value.id))
    return render_template(
        "plans/need_form.html", form=form, household=household, measure=measure,
        guarantee=guarantee,
    ), form_status(form)  # fmt: skip


@bp.route("/<int:household_id>/guarantees", methods=["GET", "POST"])
@roles(*KEEPERS)
def guarantees(household_id: int) -> Any:
    household = _kept(household_id)
    form = GuaranteesForm()
    if not form.is_submitted():
        form.checked_on.data = beijing_today()

    def record() -> Any:
        entries = {
            g: (met.data == "met", evidence.data or "")
            for g, met, evidence, _photo in form.entries()
            if met.data in ("met", "unmet")
        }
        photos = {g: p for g, _m, _e, field in form.entries() if (p := uploaded_photo(field))}
        return services.record_guarantees(
            current_user, household, form.checked_on.data, entries, photos
        )

    if submitted(form, record):
        flash(_("Checks recorded."), "success")
        return _to_plan(household)
    return render_template(
        "plans/guarantees_form.html", form=form, household=household,
        rows={row.guarantee: row for row in services.guarantee_rows(household)},
    ), form_status(form)  # fmt: skip


@bp.route("/evidence/<int:attachment_id>")
@roles(*Role.PERSONAL_DATA)
def evidence_photo(attachment_id: int) -> Any:
    """The photo of a guarantee check, to those who may see the household's personal data."""
    photo, _household = services.get_evidence_photo(current_user, attachment_id)
    return send_file(path_of(photo), mimetype=photo.content_type, max_age=0)


@bp.route("/<int:household_id>/shock", methods=["GET", "POST"])
@roles(*SHOCK_RECORDERS)
def shock(household_id: int) -> Any:
    household = _household(household_id)
    if not policy.can_record_shock(current_user, household):
        raise ServiceError(_("Only the staff and administrators of this village may do this."), 403)
    form = ShockForm()
    if submitted(form, lambda: services.record_shock(
            current_user, household, ShockKind(form.kind.data), form.occurred_on.data,
            form.note.data or "")):  # fmt: skip
        flash(_("Shock recorded: the household is flagged at risk if it is out of poverty."),
              "success")  # fmt: skip
        return _to_plan(household)
    return render_template(
        "plans/form.html", form=form, household=household, heading=_("Record a shock")
    ), form_status(form)


@bp.route("/shocks/<int:shock_id>/resolve", methods=["POST"])
@roles(*SHOCK_RECORDERS)
def resolve_shock(shock_id: int) -> Any:
    shock, household = services.get_shock(current_user, shock_id)
    if not ReasonForm().validate_on_submit():
        abort(400)
    services.resolve_shock(current_user, shock, household)
    flash(_("Saved."), "success")
    return _to_plan(household)


@bp.route("/<int:household_id>/<any(exit, monitor, relapse):decision>", methods=["POST"])
@roles(*Role.ADMINS)
def decide(household_id: int, decision: str) -> Any:
    household = _household(household_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    if decision == "exit":
        services.assess_exit(current_user, household)
        flash(_("The household is out of poverty by assessment; it stays eligible for aid."),
              "success")  # fmt: skip
    elif decision == "monitor":
        services.start_monitoring(current_user, household, form.reason.data or "")
        flash(_("The household is monitored from today."), "success")
    else:
        services.return_to_poverty(current_user, household, form.reason.data or "")
        flash(_("The household is recorded as poor again."), "success")
    return _to_plan(household)


@bp.route("/monitoring")
@roles(*Role.ADMINS)
def monitoring() -> Any:
    """Households at risk of falling back, and those monitored, in the user's regions."""
    page = paginate(services.monitoring_query(current_user).order_by(Household.register_number))
    items = list(page.items)
    shocks = services.open_shocks(h.id for h in items)
    return render_template(
        "plans/monitoring.html",
        page=page,
        identity=households.identity(current_user, items),
        risks={h.id: services.risk_of(h, shocks.get(h.id, [])) for h in items},
        may={h.id: policy.actions(current_user, h) for h in items},
        line=services.poverty_line(),
    )


@household_page.connect
def _household_plan(_sender: Any, *, user: Any, household: Household) -> dict[str, Any]:
    """The household page's guarantees, plan and exit sections."""
    return {"household_plan": services.plan_view(user, household)}


@need_page.connect
def _need_measure(_sender: Any, *, user: Any, need: Need, **_extra: Any) -> dict[str, Any]:
    """The need page names the measure it was posted from, to readers of the household."""
    if need.measure_id is None or user is None or need.household is None:
        return {}
    if not policy.can_read(user, need.household):
        return {}
    measure = services.measure_in_scope(user, need.measure_id)
    return {"from_measure": measure, "from_measure_category": CATEGORIES[measure.subcategory]}
