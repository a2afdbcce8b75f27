"""Match pages: lists and queues, the match page with its actions, public disclosure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectChoice

from marketplace import page_cache
from marketplace.accounts.models import Organization, Role, VerificationStatus
from marketplace.attachments.models import Attachment
from marketplace.attachments.services import attach, attachments_of, path_of
from marketplace.audit.models import AuditCheckpoint
from marketplace.audit.services import record_event
from marketplace.errors import ServiceError
from marketplace.extensions import db, limiter
from marketplace.forms import ReasonForm
from marketplace.households import services as households
from marketplace.households.models import Household
from marketplace.matches import aid, policy, services
from marketplace.matches.forms import (
    ConfirmForm,
    DeliverForm,
    NonReceiptForm,
    ObjectionForm,
    PledgeForm,
    ResolveForm,
)
from marketplace.matches.history import timeline
from marketplace.matches.models import Match, MatchStatus, Objection
from marketplace.needs import services as needs
from marketplace.needs import views as need_views
from marketplace.needs.models import Need, NeedStatus
from marketplace.permissions import public, roles, signed_in
from marketplace.privacy import mask_name
from marketplace.regions.services import deployment_regions, works_in_background
from marketplace.resources import policy as resource_policy
from marketplace.resources import services as resources
from marketplace.resources.models import Resource
from marketplace.signals import (
    household_page,
    need_list_page,
    need_page,
    resource_page,
    start_work,
)
from marketplace.web import form_status, paginate, submitted, uploaded_photo

bp = Blueprint("matches", __name__)


@bp.route("/matches/")
@signed_in
def index() -> Any:
    query = services.matches_for(current_user)
    status = request.args.get("status", "")
    if status in {s.value for s in MatchStatus}:
        query = query.where(Match.status == status)
    page = paginate(query.order_by(Match.updated_at.desc()))
    return render_template(
        "matches/list.html", page=page, status=status, statuses=list(MatchStatus),
        title=_("Matches"),
    )  # fmt: skip


@bp.route("/matches/approvals")
@roles(*Role.ADMINS)
def approvals() -> Any:
    page = paginate(services.approval_queue(current_user))
    return render_template(
        "matches/queue.html", page=page, form=ReasonForm(),
        may={m.id: policy.actions(current_user, m) for m in page.items},
        identity=households.identity(current_user, [m.need.household for m in page.items
                                                     if m.need.household]),
    )  # fmt: skip


@bp.route("/matches/disputes")
@roles(*Role.ADMINS)
def disputes() -> Any:
    page = paginate(services.dispute_queue(current_user))
    return render_template(
        "matches/list.html", page=page, status="", statuses=[], title=_("Disputes and objections")
    )


@bp.route("/matches/<int:match_id>")
@signed_in
def detail(match_id: int) -> Any:
    return _detail_page(services.get_match(current_user, match_id))


def _act(form: Any, action: Callable[[], Any]) -> Any:
    """``submitted``, remembering the status of a refusal (409 when someone else acted first,
    403) so the page shown again answers with it rather than a plain 400."""

    def run() -> Any:
        try:
            return action()
        except ServiceError as exc:
            g.match_refusal = exc.status
            raise

    return submitted(form, run)


def _detail_page(match: Match, failed: str | None = None, form: Any = None, **extra: Any) -> Any:
    """The match page: its current state, its history, and the actions the user may take. A
    refused action comes back here with its form (``failed`` names it), input kept, status 400."""
    household = match.need.household
    identity = households.identity(current_user, [household])[household.id] if household else None
    may = policy.actions(current_user, match)
    forms: dict[str, Any] = {
        "reason_form": ReasonForm(formdata=None),
        "reject_form": ReasonForm(formdata=None),
        "objection_form": ReasonForm(formdata=None),
        "deliver_form": DeliverForm(formdata=None),
        "confirm_form": ConfirmForm(formdata=None, received_quantity=match.quantity),
        "non_receipt_form": NonReceiptForm(formdata=None),
        "resolve_form": ResolveForm(formdata=None),
    }
    if failed is not None:
        forms[failed] = form
    contacts = [o.id for o in match.objections if o.contact] if may["read_contacts"] else []
    if contacts:  # an objector's contact is personal data: its every view is recorded
        record_event("objection_contact_viewed", current_user, match,
                     after={"objections": contacts})  # fmt: skip
    return render_template(
        "matches/detail.html",
        match=match,
        identity=identity,
        may=may,
        may_decide=policy.objection_actions(current_user, match),
        history=timeline(match),
        # Spot-check evidence belongs to the check's page, not to the parties of the match.
        photos=[p for p in attachments_of("match", match.id) if not p.purpose.startswith("check_")],
        S=MatchStatus,
        failed_objection=extra.get("failed_objection"),
        **forms,
    ), (g.pop("match_refusal", None) or form_status(form) if form is not None else 200)


@bp.route("/matches/<int:match_id>/<any(approve, reject):decision>", methods=["POST"])
@roles(*Role.ADMINS)
def decide(match_id: int, decision: str) -> Any:
    match = services.get_match(current_user, match_id)
    form = ReasonForm()
    if decision == "approve":
        done = _act(form, lambda: services.approve(current_user, match))
    else:
        done = _act(form, lambda: services.reject(current_user, match, form.reason.data or ""))
    if not done:
        return _detail_page(match, "reason_form" if decision == "approve" else "reject_form", form)
    flash(_("Decision recorded."), "success")
    if request.form.get("next") == "queue":
        return redirect(url_for("matches.approvals"))
    return redirect(url_for("matches.detail", match_id=match.id))


@bp.route("/matches/<int:match_id>/withdraw", methods=["POST"])
@roles(Role.DONOR)
def withdraw(match_id: int) -> Any:
    match = services.get_match(current_user, match_id)
    form = ReasonForm()
    if not _act(form, lambda: services.withdraw_pledge(current_user, match)):
        return _detail_page(match, "reason_form", form)
    flash(_("Pledge withdrawn."), "info")
    return redirect(url_for("matches.detail", match_id=match.id))


@bp.route("/matches/<int:match_id>/deliver", methods=["POST"])
@roles(Role.DONOR)
def deliver(match_id: int) -> Any:
    match = services.get_match(current_user, match_id)
    form = DeliverForm()

    def act() -> None:
        photo = uploaded_photo(form.photo)
        services.deliver(current_user, match, form.note.data or "")
        if photo:
            attach("match", match.id, photo, current_user, "delivery")

    if not _act(form, act):
        return _detail_page(match, "deliver_form", form)
    flash(_("Marked delivered; village staff will confirm with the household."), "success")
    return redirect(url_for("matches.detail", match_id=match.id))


@bp.route("/matches/<int:match_id>/confirm", methods=["POST"])
@roles(*Role.EDITORS)
def confirm(match_id: int) -> Any:
    match = services.get_match(current_user, match_id)
    form = ConfirmForm()

    def act() -> None:
        photo = uploaded_photo(form.photo)
        services.confirm(
            current_user, match,
            received_quantity=form.received_quantity.data, received_on=form.received_on.data,
            satisfaction=form.satisfaction.data, feedback=form.feedback.data or "",
        )  # fmt: skip
        if photo:
            attach("match", match.id, photo, current_user, "receipt")

    if not _act(form, act):
        return _detail_page(match, "confirm_form", form)
    flash(_("Receipt confirmed with the household."), "success")
    return redirect(url_for("matches.detail", match_id=match.id))


@bp.route("/matches/<int:match_id>/non-receipt", methods=["POST"])
@roles(*Role.EDITORS)
def non_receipt(match_id: int) -> Any:
    match = services.get_match(current_user, match_id)
    form = NonReceiptForm()
    if not _act(form, lambda: services.report_non_receipt(current_user, match,
                                                               form.reason.data)):  # fmt: skip
        return _detail_page(match, "non_receipt_form", form)
    flash(_("Non-receipt reported to the administrators."), "warning")
    return redirect(url_for("matches.detail", match_id=match.id))


@bp.route("/matches/<int:match_id>/resolve", methods=["POST"])
@roles(*Role.ADMINS)
def resolve(match_id: int) -> Any:
    match = services.get_match(current_user, match_id)
    form = ResolveForm()
    if not _act(form, lambda: services.resolve_dispute(current_user, match,
                                                            form.outcome.data,
                                                            form.reason.data)):  # fmt: skip
        return _detail_page(match, "resolve_form", form)
    flash(_("Decision recorded."), "success")
    return redirect(url_for("matches.detail", match_id=match.id))


@bp.route("/objections/<int:objection_id>/<any(uphold, dismiss):decision>", methods=["POST"])
@roles(*Role.ADMINS)
def decide_objection(objection_id: int, decision: str) -> Any:
    objection = db.session.get(Objection, objection_id)
    if objection is None:
        abort(404)
    match = services.get_match(current_user, objection.match_id)  # 404 outside the scope
    form = ReasonForm()
    uphold = decision == "uphold"
    if not _act(form, lambda: services.resolve_objection(current_user, objection, uphold,
                                                              form.reason.data or "")):  # fmt: skip
        return _detail_page(match, "objection_form", form, failed_objection=objection.id)
    flash(_("Decision recorded."), "success")
    return redirect(url_for("matches.detail", match_id=objection.match_id))


@bp.route("/attachments/<int:attachment_id>")
@signed_in
def attachment(attachment_id: int) -> Any:
    item = db.session.get(Attachment, attachment_id)
    if item is None:
        abort(404)
    # Visible to whoever may open what it documents; spot-check photos to the oversight roles.
    if item.purpose.startswith("check_") and current_user.role not in Role.OVERSIGHT:
        abort(404)
    if item.owner_type == "match":
        services.get_match(current_user, item.owner_id)
    else:
        needs.get_need(current_user, item.owner_id)
    return send_file(path_of(item), mimetype=item.content_type, max_age=0)


# --- public disclosure (公示) -------------------------------------------------------------


def _checkpoint_seq(connection: sa.Connection) -> int | None:
    """The latest signed checkpoint the disclosure page shows (not a fact: the token keeps)."""
    return connection.scalar(sa.select(sa.func.max(AuditCheckpoint.seq)))


@bp.route("/disclosure")
@public
@page_cache.cached(also=_checkpoint_seq)
def disclosure() -> Any:
    # Kept between requests until a fact changes (services.disclosure), a page of it here.
    matches, objections = services.disclosure()
    number = request.args.get("page", 1, type=int) or 1
    page = services.ListPagination(
        page=max(number, 1), per_page=current_app.config["PAGE_SIZE"], error_out=False,
        items=matches,
    )  # fmt: skip
    names = {m.id: m.household_name for m in page.items}
    # Outcomes of objections, masked like the rest of the page: what an objector looks up.
    decided = [(o, o.household_name, o.reason) for o in objections]
    return render_template("matches/disclosure.html", page=page, names=names, decided=decided)


@bp.route("/disclosure/<int:match_id>/objection", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
@public
def object_to(match_id: int) -> Any:
    match = db.session.scalar(services.disclosure_query().where(Match.id == match_id))
    if match is None:
        abort(404)
    form = ObjectionForm()
    name = mask_name(match.need.household.head_name) if match.need.household else ""
    user = current_user if current_user.is_authenticated else None
    contact = form.contact.data or ""
    filed = submitted(form, lambda: services.file_objection(match, form.reason.data, contact, user))
    if filed and filed.value is not None:
        flash(_("Objection #%(number)s filed. An administrator will look into it; the outcome "
                "will be shown on this page under that number.", number=filed.value.id),
              "success")  # fmt: skip
        return redirect(url_for("matches.disclosure"))
    return render_template("matches/objection.html", form=form, match=match, name=name), (
        form_status(form)
    )


# --- the matching parts of the need, resource and household pages ---------------------------
# Those pages belong to packages below matches; matches fills in what it knows through the page
# signals (marketplace.signals), and serves the actions that create or cancel matches there.


def _pledge_choices(user: Any, need: Need) -> tuple[list[SelectChoice], str]:
    """The donor's resources that may be pledged to this need now (they fit it and have
    something left), or why there are none."""
    org = user.organization
    if org is None or not org.is_verified:
        if org is not None and org.status == VerificationStatus.REJECTED:
            return [], _("Your organization's verification was refused: correct it on your "
                         "dashboard and submit it again before pledging.")  # fmt: skip
        return [], _("Your organization is awaiting verification by an administrator: "
                     "you can pledge once it is verified.")  # fmt: skip
    own = db.session.scalars(resources.own_resources(user).order_by(sa.text("id"))).all()
    usable = [r for r in own if resource_policy.is_public(r)]
    if not usable:
        return [], _("You have no active resource to pledge: post one first.")
    fitting = [r for r in usable if services.has_units_to_pledge(r)
               and services.pairing_problem(need, r) is None]  # fmt: skip
    if not fitting:
        return [], _("None of your resources fits this need (category, service area, "
                     "eligibility or what is left).")  # fmt: skip
    return [SelectChoice(r.id, r.title) for r in fitting], ""


@need_page.connect
def _need_page(
    _sender: Any, *, user: Any, need: Need, pledge_form: PledgeForm | None = None
) -> dict[str, Any]:
    from marketplace.matches import scoring  # NumPy, SciPy: imported on first use

    no_pledge_reason = ""
    if user is not None and user.role == Role.DONOR and need.status == NeedStatus.VERIFIED:
        options, no_pledge_reason = _pledge_choices(user, need)
        if options and pledge_form is None:
            pledge_form = PledgeForm(formdata=None)
        if pledge_form is not None:
            pledge_form.resource.choices = options
    in_scope_matches: list[Match] = []
    if user is not None and user.role != Role.DONOR:
        in_scope_matches = list(
            db.session.scalars(
                services.matches_for(user).where(Match.need_id == need.id).order_by(Match.id)
            )
        )
    suggestions = (
        scoring.suggest_resources(need, limit=5)
        if user is not None and need.status == NeedStatus.VERIFIED and need.open_quantity > 0
        else []
    )
    # Their organizations (the list names them) in one query, not one each from the template.
    org_ids = {r.organization_id for r, _s in suggestions}
    organizations = (
        list(db.session.scalars(sa.select(Organization).where(Organization.id.in_(org_ids))))
        if org_ids
        else []
    )
    return {
        "suggestions": suggestions,
        "suggested_organizations": organizations,  # held while the page renders
        "pledge_form": pledge_form if pledge_form and pledge_form.resource.choices else None,
        "no_pledge_reason": no_pledge_reason,
        "matches": in_scope_matches,
        "progress": aid.need_progress([need])[need.id],
    }


@bp.route("/needs/<int:need_id>/pledge", methods=["POST"])
@roles(Role.DONOR)
def pledge(need_id: int) -> Any:
    need = needs.get_need(current_user, need_id)
    form = PledgeForm()
    form.resource.choices, why_not = _pledge_choices(current_user, need)
    if not form.resource.choices:
        raise ServiceError(why_not, 409)
    done = submitted(form, lambda: _pledge(need, form))
    if done and done.value:
        flash(_("Pledge made; it waits for an administrator's approval."), "success")
        return redirect(url_for("matches.detail", match_id=done.value.id))
    return need_views.render_detail(current_user, need, form_status(form), pledge_form=form)


def _pledge(need: Need, form: PledgeForm) -> Match:
    resource = resources.get_resource(current_user, form.resource.data)
    return services.pledge(current_user, need, resource, form.quantity.data)


@bp.route("/needs/<int:need_id>/withdraw", methods=["POST"])
@roles(*Role.EDITORS)
def withdraw_need(need_id: int) -> Any:
    need = needs.get_need(current_user, need_id)
    services.withdraw_need(current_user, need)
    flash(_("Need withdrawn."), "info")
    return redirect(url_for("needs.detail", need_id=need.id))


@resource_page.connect
def _resource_page(_sender: Any, *, user: Any, resource: Resource) -> dict[str, Any]:
    from marketplace.matches import scoring  # NumPy, SciPy: imported on first use

    member = resource_policy.is_member(user, resource)
    own_matches: list[Match] = []
    if member:
        own_matches = list(
            db.session.scalars(
                services.matches_for(user)
                .where(Match.resource_id == resource.id)
                .order_by(Match.id.desc())
            )
        )
    suggestions = []
    # The page's panel is for the members, who pledge from it; the API serves the same
    # ranking to whoever can_see_suggestions admits.
    if member and resource_policy.is_public(resource):
        found = scoring.suggest_needs(resource, limit=10)
        names = households.identity(user, [n.household for n, _s in found if n.household])
        suggestions = [(n, s, names[n.household.id]["name"] if n.household else "")
                       for n, s in found]  # fmt: skip
    return {
        "matches": own_matches,
        "suggestions": suggestions,
        "may_allocate": policy.can_allocate(user, resource),
        "progress": aid.resource_progress(resource),
    }


@bp.route("/resources/<int:resource_id>/allocate", methods=["GET", "POST"])
@roles(*Role.ADMINS)
def allocate(resource_id: int) -> Any:
    """Propose the fairest use of a scarce resource in the administrator's region."""
    from marketplace.matches import scoring  # NumPy, SciPy: imported on first use

    resource = resources.get_resource(current_user, resource_id)
    services.refuse_unless_reached(current_user, resource)  # the preview too: not an empty one
    regions = [r for r in current_user.regions] or deployment_regions()
    source = request.form if request.method == "POST" else request.args
    region = regions[0]
    if source.get("region"):
        region = next((r for r in regions if str(r.id) == source.get("region")), None) or abort(404)
    cap_raw = (source.get("cap") or "").strip()
    village_cap = int(cap_raw) if cap_raw.isdigit() and int(cap_raw) > 0 else None
    if cap_raw and village_cap is None:  # never silently allocate without the cap asked for
        raise ServiceError(_l("The cap per village must be a whole number above zero."))
    mode = source.get("mode") or "fair"
    group_level = source.get("level") or "village"
    if mode not in scoring.MODES or group_level not in scoring.GROUP_LEVELS:
        raise ServiceError(_l("Choose a mode and a level the page offers."))
    if request.method == "POST":
        if not ReasonForm().validate_on_submit():
            abort(400)
        if works_in_background(region):
            services.refuse_unless_may_allocate(
                current_user, resource, region, village_cap, mode, group_level
            )
            run_id = start_work(
                "allocate", current_user, subject=f"resource:{resource.id}",
                resource_id=resource.id, region_id=region.id, village_cap=village_cap, mode=mode,
                group_level=group_level, locale=str(get_locale()),
            )  # fmt: skip
            return redirect(url_for("work.run", run_id=run_id))
        created = services.allocate(current_user, resource, region, village_cap, mode, group_level)
        flash(_("%(n)s matches proposed; they wait in the approval queue.", n=len(created)),
              "success")  # fmt: skip
        return redirect(url_for("matches.approvals"))
    # Over a city or a province the proposal takes long: it is computed in the background.
    proposal = None
    if not works_in_background(region):
        proposal = scoring.propose_allocation(resource, region.path, village_cap, mode, group_level)
    return render_template(
        "resources/allocate.html", resource=resource, regions=regions, region=region,
        cap=village_cap, proposal=proposal, reasons=scoring.UNSERVED_REASONS, mode=mode,
        group_level=group_level,
    )  # fmt: skip


@need_list_page.connect
def _need_list_page(_sender: Any, *, user: Any, needs: list[Need]) -> dict[str, Any]:
    return {"progress": aid.need_progress(needs)}


@household_page.connect
def _household_page(_sender: Any, *, user: Any, household: Household) -> dict[str, Any]:
    return {
        "aid": aid.aid_received(household),
        "village_summary": aid.village_aid_summary(household.village),
    }
