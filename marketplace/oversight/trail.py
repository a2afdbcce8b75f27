"""The audit trail as people read it: each event a sentence in the reader's language.

Who (the name and the role), did what (the action's words), to what (the object, linked when
the reader may open it), where (the region) and when (Beijing time). Every action code that
``record_event`` writes has its words here (a test finds the codes in the source); an unknown
code reads as itself, never as an error. Codes ending in ``_viewed`` are page views: the trail
hides them unless asked.

Personal data: a household reads as its masked head's name and its village, never more; the
trail shows no free text that people typed (reasons, user names typed at sign-in).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import url_for
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from marketplace.accounts import policy as accounts_policy
from marketplace.accounts.models import ApiToken, Organization, Role, User
from marketplace.accounts.services import users_in_scope
from marketplace.audit.models import AuditEvent
from marketplace.extensions import db
from marketplace.households import policy as households_policy
from marketplace.households.models import Household
from marketplace.matches.models import Match, Objection
from marketplace.matches.services import matches_for
from marketplace.needs import policy as needs_policy
from marketplace.needs.models import Need
from marketplace.oversight import policy
from marketplace.oversight.models import SpotCheck
from marketplace.permissions import in_scope, may_open, region_clause
from marketplace.privacy import mask_name
from marketplace.regions.models import Region, RegionLevel
from marketplace.regions.services import deployment_regions
from marketplace.resources import policy as resources_policy
from marketplace.resources.models import Resource, ResourceStatus
from marketplace.timefmt import day_start_utc


@dataclass(frozen=True)
class Action:
    """An action code's words: ``label`` names it (the filter, the export), ``sentence`` tells
    it, with %(who)s for the actor and %(what)s for the object."""

    label: LazyString
    sentence: LazyString
    group: str  # the filter's option group, a key of GROUPS


GROUPS: dict[str, LazyString] = {
    "match": _l("Pledges and deliveries"),
    "need": _l("Needs"),
    "resource": _l("Resources"),
    "household": _l("Household register"),
    "plan": _l("Household plans"),
    "produce": _l("Produce sales"),
    "oversight": _l("Oversight and reports"),
    "account": _l("Accounts and sign-in"),
}

ACTIONS: dict[str, Action] = {
    # matches: the match's status moves (``match_<status>``), objections, allocations
    "match_proposed": Action(_l("Pledge made"), _l("%(who)s pledged help for %(what)s"),
                             "match"),
    "match_approved": Action(_l("Pledge approved"),
                             _l("%(who)s approved the pledge for %(what)s"), "match"),
    "match_rejected": Action(_l("Pledge rejected"),
                             _l("%(who)s rejected the pledge for %(what)s"), "match"),
    "match_cancelled": Action(_l("Match called off"), _l("%(who)s called off the match %(what)s"),
                              "match"),
    "match_expired": Action(_l("Match expired"), _l("%(who)s marked the match %(what)s expired"),
                            "match"),
    "match_delivered": Action(_l("Delivery recorded"),
                              _l("%(who)s recorded the delivery of %(what)s"), "match"),
    "match_confirmed": Action(_l("Receipt confirmed"),
                              _l("%(who)s confirmed with the household the receipt of %(what)s"),
                              "match"),
    "match_disputed": Action(_l("Non-receipt reported"),
                             _l("%(who)s reported that %(what)s did not arrive"), "match"),
    "objection_filed": Action(_l("Objection filed"), _l("%(who)s objected to %(what)s"), "match"),
    "objection_upheld": Action(_l("Objection upheld"),
                               _l("%(who)s upheld an objection to %(what)s"), "match"),
    "objection_dismissed": Action(_l("Objection dismissed"),
                                  _l("%(who)s dismissed an objection to %(what)s"), "match"),
    "objection_contact_viewed": Action(
        _l("Objectors' contacts viewed"),
        _l("%(who)s viewed the objectors' contacts on %(what)s"), "match"),
    "allocation_proposed": Action(_l("Allocation proposed"),
                                  _l("%(who)s proposed an allocation of %(what)s"), "match"),
    # needs
    "need_created": Action(_l("Need posted"), _l("%(who)s posted the need %(what)s"), "need"),
    "need_updated": Action(_l("Need edited"), _l("%(who)s edited the need %(what)s"), "need"),
    "need_verified": Action(_l("Need verified"), _l("%(who)s verified the need %(what)s"),
                            "need"),
    "need_returned": Action(_l("Need returned"), _l("%(who)s returned the need %(what)s"),
                            "need"),
    "need_withdrawn": Action(_l("Need withdrawn"), _l("%(who)s withdrew the need %(what)s"),
                             "need"),
    # resources
    "resource_created": Action(_l("Resource posted"),
                               _l("%(who)s posted the resource %(what)s"), "resource"),
    "resource_updated": Action(_l("Resource edited"),
                               _l("%(who)s edited the resource %(what)s"), "resource"),
    "resource_status": Action(_l("Resource status changed"),
                              _l("%(who)s changed the status of the resource %(what)s"),
                              "resource"),
    # the household register
    "household_created": Action(_l("Household registered"),
                                _l("%(who)s registered the household %(what)s"), "household"),
    "household_updated": Action(_l("Household edited"),
                                _l("%(who)s edited the household %(what)s"), "household"),
    "register_imported": Action(_l("Register imported"),
                                _l("%(who)s imported the household register: %(what)s"),
                                "household"),
    "personal_data_viewed": Action(_l("Personal data viewed"),
                                   _l("%(who)s viewed the personal data of %(what)s"),
                                   "household"),
    "member_added": Action(_l("Member added"),
                           _l("%(who)s added a member to the household %(what)s"), "household"),
    "member_updated": Action(_l("Member edited"),
                             _l("%(who)s edited a member of the household %(what)s"),
                             "household"),
    "member_removed": Action(_l("Member removed"),
                             _l("%(who)s removed a member of the household %(what)s"),
                             "household"),
    # identification of a household (``identification_<status>``, households.policy)
    "identification_declared": Action(
        _l("Household declared"),
        _l("%(who)s recorded the declaration of the household %(what)s"), "household"),
    "identification_proposed": Action(
        _l("Assessed by the village"),
        _l("%(who)s recorded the village's assessment of the household %(what)s"), "household"),
    "identification_reviewed": Action(
        _l("Township review"),
        _l("%(who)s reviewed the household %(what)s for the township"), "household"),
    "identification_confirmed": Action(
        _l("County confirmation"),
        _l("%(who)s confirmed the household %(what)s for the county"), "household"),
    "identification_returned": Action(
        _l("Identification sent back"),
        _l("%(who)s sent the identification of the household %(what)s back"), "household"),
    # household plans: measures, guarantees, shocks, exit and return decisions
    "plan_created": Action(_l("Plan drawn up"),
                           _l("%(who)s drew up the household plan %(what)s"), "plan"),
    "plan_updated": Action(_l("Plan edited"), _l("%(who)s edited the household plan %(what)s"),
                           "plan"),
    "measure_added": Action(_l("Measure added"),
                            _l("%(who)s added the measure %(what)s to a household plan"),
                            "plan"),
    "measure_updated": Action(_l("Measure edited"), _l("%(who)s edited the measure %(what)s"),
                              "plan"),
    "measure_moved": Action(_l("Measure status changed"),
                            _l("%(who)s changed the status of the measure %(what)s"), "plan"),
    "need_posted_from_measure": Action(
        _l("Need posted from a measure"),
        _l("%(who)s posted the need %(what)s from a plan's measure"), "plan"),
    "guarantees_checked": Action(
        _l("Guarantees checked"),
        _l("%(who)s checked the guarantees of the household %(what)s"), "plan"),
    "shock_recorded": Action(_l("Shock recorded"),
                             _l("%(who)s recorded a shock to the household %(what)s"), "plan"),
    "shock_resolved": Action(_l("Shock over"),
                             _l("%(who)s marked a shock to the household %(what)s as over"),
                             "plan"),
    "household_exited": Action(_l("Household out of poverty"),
                               _l("%(who)s recorded that the household %(what)s is out of poverty"),
                               "plan"),
    "household_monitored": Action(
        _l("Household monitored"),
        _l("%(who)s put the household %(what)s under monitoring"), "plan"),
    "household_returned_to_poverty": Action(
        _l("Household back in poverty"),
        _l("%(who)s recorded that the household %(what)s is back in poverty"), "plan"),
    # produce sales (``produce_listing_<status>``, ``produce_order_<status>``)
    "produce_listing_created": Action(_l("Produce listed"),
                                      _l("%(who)s listed the produce %(what)s"), "produce"),
    "produce_listing_updated": Action(_l("Produce listing edited"),
                                      _l("%(who)s edited the produce listing %(what)s"),
                                      "produce"),
    "produce_listing_draft": Action(_l("Produce listing back to draft"),
                                    _l("%(who)s put the produce listing %(what)s back to draft"),
                                    "produce"),
    "produce_listing_submitted": Action(
        _l("Produce listing submitted"),
        _l("%(who)s submitted the produce listing %(what)s for verification"), "produce"),
    "produce_listing_returned": Action(_l("Produce listing returned"),
                                       _l("%(who)s returned the produce listing %(what)s"),
                                       "produce"),
    "produce_listing_verified": Action(_l("Produce listing verified"),
                                       _l("%(who)s verified the produce listing %(what)s"),
                                       "produce"),
    "produce_listing_sold_out": Action(
        _l("Produce sold out"),
        _l("%(who)s marked the produce listing %(what)s sold out"), "produce"),
    "produce_listing_withdrawn": Action(_l("Produce listing withdrawn"),
                                        _l("%(who)s withdrew the produce listing %(what)s"),
                                        "produce"),
    "produce_order_ordered": Action(_l("Produce ordered"),
                                    _l("%(who)s placed the produce order %(what)s"), "produce"),
    "produce_order_handed_over": Action(
        _l("Produce handed over"),
        _l("%(who)s recorded the handover of the produce order %(what)s"), "produce"),
    "produce_order_received": Action(
        _l("Produce received"),
        _l("%(who)s confirmed the receipt of the produce order %(what)s"), "produce"),
    "produce_order_paid": Action(_l("Order paid"),
                                 _l("%(who)s recorded the payment of the produce order %(what)s"),
                                 "produce"),
    "produce_order_confirmed": Action(
        _l("Payment confirmed"),
        _l("%(who)s confirmed that the payment of the produce order %(what)s arrived"),
        "produce"),
    "produce_order_disputed": Action(_l("Order disputed"),
                                     _l("%(who)s disputed the produce order %(what)s"),
                                     "produce"),
    "produce_order_cancelled": Action(_l("Order cancelled"),
                                      _l("%(who)s cancelled the produce order %(what)s"),
                                      "produce"),
    # follow-ups of results
    "follow_up_recorded": Action(_l("Follow-up recorded"),
                                 _l("%(who)s recorded the follow-up %(what)s"), "match"),
    "certificate_issued": Action(_l("Certificate issued"),
                                 _l("%(who)s issued the certificate of contribution %(what)s"),
                                 "oversight"),
    # oversight and reports
    "spot_check_drawn": Action(_l("Spot check drawn"),
                               _l("%(who)s drew the sample of spot check %(what)s"),
                               "oversight"),
    "spot_check_finding": Action(_l("Spot check findings recorded"),
                                 _l("%(who)s recorded findings in spot check %(what)s"),
                                 "oversight"),
    "spot_check_draft_saved": Action(
        _l("Spot check draft saved"),
        _l("%(who)s saved the draft report of spot check %(what)s"), "oversight"),
    "spot_check_closed": Action(_l("Spot check closed"),
                                _l("%(who)s closed spot check %(what)s"), "oversight"),
    "spot_check_answered": Action(
        _l("Spot check answered"),
        _l("%(who)s answered the report of spot check %(what)s"), "oversight"),
    "report_snapshot_taken": Action(_l("Monthly report frozen"),
                                    _l("%(who)s froze the monthly report %(what)s"),
                                    "oversight"),
    "report_exported": Action(_l("Monthly report exported"),
                              _l("%(who)s exported the monthly report %(what)s"), "oversight"),
    "audit_trail_exported": Action(_l("Audit trail exported"),
                                   _l("%(who)s exported the audit trail"), "oversight"),
    # accounts and signing in
    "login": Action(_l("Signed in"), _l("%(who)s signed in"), "account"),
    "logout": Action(_l("Signed out"), _l("%(who)s signed out"), "account"),
    "login_failed": Action(_l("Sign-in failed"),
                           _l("A sign-in to the account %(what)s failed"), "account"),
    "login_throttled": Action(
        _l("Sign-in paused"),
        _l("Sign-in to the account %(what)s paused after repeated failures"), "account"),
    "login_refused_throttled": Action(
        _l("Sign-in refused while paused"),
        _l("A sign-in to the account %(what)s was refused: it is paused after repeated failures"),
        "account"),
    "login_refused_inactive": Action(
        _l("Sign-in to a disabled account refused"),
        _l("A sign-in to the disabled account %(what)s was refused"), "account"),
    "signed_out_everywhere": Action(_l("Signed out everywhere"),
                                    _l("%(who)s signed out everywhere"), "account"),
    "password_changed": Action(_l("Password changed"),
                               _l("%(who)s changed their password"), "account"),
    "password_reset": Action(_l("Password reset"),
                             _l("%(who)s reset the password of %(what)s"), "account"),
    "password_reset_requested": Action(
        _l("Password reset asked for"),
        _l("A password reset was asked for the account %(what)s"), "account"),
    "password_reset_by_email": Action(
        _l("Password set by e-mail"),
        _l("%(who)s set a new password through the link sent by e-mail"), "account"),
    "donor_registered": Action(_l("Donor registered"),
                               _l("%(who)s registered the donor organization %(what)s"),
                               "account"),
    "organization_resubmitted": Action(
        _l("Organization resubmitted"),
        _l("%(who)s resubmitted the organization %(what)s for verification"), "account"),
    "organization_verified": Action(_l("Organization verified"),
                                    _l("%(who)s verified the organization %(what)s"),
                                    "account"),
    "organization_rejected": Action(_l("Organization rejected"),
                                    _l("%(who)s rejected the organization %(what)s"),
                                    "account"),
    "user_created": Action(_l("Account created"), _l("%(who)s created the account %(what)s"),
                           "account"),
    "staff_villages_changed": Action(_l("Villages of staff changed"),
                                     _l("%(who)s changed the villages of %(what)s"), "account"),
    "user_activated": Action(_l("Account enabled"), _l("%(who)s enabled the account %(what)s"),
                             "account"),
    "user_deactivated": Action(_l("Account disabled"),
                               _l("%(who)s disabled the account %(what)s"), "account"),
    "user_unlocked": Action(_l("Sign-in pause lifted"),
                            _l("%(who)s lifted the sign-in pause of %(what)s"), "account"),
    "api_token_created": Action(_l("API token created"),
                                _l("%(who)s created the API token %(what)s"), "account"),
    "api_token_revoked": Action(_l("API token revoked"),
                                _l("%(who)s revoked the API token %(what)s"), "account"),
}  # fmt: skip

# The kinds of object an event is about (``AuditEvent.object_type``, the table's name).
OBJECT_KINDS: dict[str, LazyString] = {
    "need": _l("Need"),
    "resource": _l("Resource"),
    "match": _l("Match"),
    "objection": _l("Objection"),
    "household": _l("Household"),
    "user": _l("Account"),
    "organization": _l("Organization"),
    "api_token": _l("API token"),
    "spot_check": _l("Spot check"),
    "report_snapshot": _l("Monthly report"),
    "household_plan": _l("Household plan"),
    "plan_measure": _l("Plan measure"),
    "produce_listing": _l("Produce listing"),
    "produce_order": _l("Produce order"),
    "follow_up": _l("Follow-up"),
    "certificate": _l("Certificate of contribution"),
}
# "Who" for an event without an actor: the platform's own jobs (the command line), or someone
# not signed in (an objection, a request to reset a password).
NOBODY = "-"
ROLE_VALUES = frozenset(r.value for r in Role)


def is_page_view(code: str) -> bool:
    return code.endswith("_viewed")


def action_label(code: str) -> str:
    action = ACTIONS.get(code)
    return str(action.label) if action else code


# --- choosing events ---------------------------------------------------------------------


@dataclass(frozen=True)
class TrailFilter:
    """What the reader asked for; empty fields do not filter."""

    actor: str = ""  # a user name
    action: str = ""
    role: str = ""  # a Role value, or NOBODY
    region_path: str = ""
    kind: str = ""  # an object kind
    since: date | None = None  # Beijing days, both included
    until: date | None = None
    views: bool = False  # page views too

    def apply(self, query: sa.Select[Any]) -> sa.Select[Any]:
        if self.actor:
            query = query.where(
                AuditEvent.actor_id.in_(sa.select(User.id).where(User.username == self.actor))
            )
        if self.action:
            query = query.where(AuditEvent.action == self.action)
        elif not self.views:
            query = query.where(~AuditEvent.action.endswith("_viewed", autoescape=True))
        if self.role == NOBODY:
            query = query.where(AuditEvent.actor_id.is_(None))
        elif self.role:
            query = query.where(AuditEvent.actor_role == self.role)
        if self.region_path:
            query = query.where(AuditEvent.region_path.startswith(self.region_path,
                                                                  autoescape=True))  # fmt: skip
        if self.kind:
            query = query.where(AuditEvent.object_type == self.kind)
        if self.since:
            query = query.where(AuditEvent.created_at >= day_start_utc(self.since))
        if self.until:
            after = date.fromordinal(self.until.toordinal() + 1)
            query = query.where(AuditEvent.created_at < day_start_utc(after))
        return query


def region_choices(reader: User, limit: int = 300) -> list[Region]:
    """Regions the reader may filter by: their own and everything below, villages included
    while the list stays under ``limit`` (a county's), else down to townships (a city's)."""
    roots = list(reader.regions) if reader.role != Role.SUPERUSER else deployment_regions()
    if not roots:
        return []
    below = sa.select(Region).where(region_clause(reader, Region.path)).order_by(Region.path)
    if reader.role == Role.SUPERUSER:
        below = below.where(sa.or_(*(Region.path.startswith(r.path) for r in roots)))
    count = db.session.scalar(sa.select(sa.func.count()).select_from(below.subquery()))
    if (count or 0) > limit:
        below = below.where(Region.level != RegionLevel.VILLAGE)
    return list(db.session.scalars(below.limit(limit * 4)))


# --- reading events ----------------------------------------------------------------------


@dataclass
class Line:
    """One event as the page and the export show it."""

    event: AuditEvent
    who: str
    role: str
    username: str
    label: str
    what: str  # the object as text
    url: str | None  # the object's page, when the reader may open it
    region: str

    @property
    def when(self) -> datetime:
        return self.event.created_at

    def sentence(self) -> Markup:
        """The event as a sentence, the object linked when the reader may open it."""
        action = ACTIONS.get(self.event.action)
        who = escape(self.who)
        if self.role:
            who = Markup(escape(_("%(name)s (%(role)s)"))) % {"name": self.who, "role": self.role}
        who = Markup("<strong>{}</strong>").format(who)
        what: Markup = escape(self.what)
        if self.url:
            what = Markup('<a href="{}">{}</a>').format(self.url, self.what)
        if action is None:  # an unknown code: said as it is
            return Markup("{} <code>{}</code> {}").format(who, self.event.action, what)
        return Markup(escape(str(action.sentence))) % {"who": who, "what": what}

    def text(self) -> str:
        """The sentence without markup, for the export."""
        action = ACTIONS.get(self.event.action)
        who = _("%(name)s (%(role)s)", name=self.who, role=self.role) if self.role else self.who
        if action is None:
            return f"{who} {self.event.action} {self.what}".strip()
        return str(action.sentence) % {"who": who, "what": self.what}


def lines(reader: User, events: Iterable[AuditEvent]) -> list[Line]:
    """The events told for this reader, with every actor, object and region loaded in one
    query per kind."""
    events = list(events)
    actor_ids = {e.actor_id for e in events if e.actor_id}
    actors = _by_id(User, actor_ids)
    objects = _Objects(reader, events)
    regions = _regions([e.region_path for e in events])
    told = []
    for e in events:
        actor = actors.get(e.actor_id or 0)
        if actor is not None:
            who, username = actor.display_name or actor.username, actor.username
        elif e.actor_id:
            who, username = f"#{e.actor_id}", ""
        else:
            who, username = (_("The platform") if e.ip == "cli" else _("A visitor")), ""
        role = str(Role(e.actor_role).label) if e.actor_role in ROLE_VALUES else ""
        what, url = objects.describe(e)
        told.append(Line(event=e, who=who, role=role, username=username,
                         label=action_label(e.action), what=what, url=url,
                         region=regions.get(e.region_path, "")))  # fmt: skip
    return told


def _by_id(model: Any, ids: Iterable[int]) -> dict[int, Any]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {o.id: o for o in db.session.scalars(sa.select(model).where(model.id.in_(wanted)))}


def _regions(paths: Iterable[str]) -> dict[str, str]:
    codes = {p: p.strip("/").split("/")[-1] for p in set(paths) if p}
    if not codes:
        return {}
    found = {r.code: r for r in db.session.scalars(
        sa.select(Region).where(Region.code.in_(set(codes.values()))))}  # fmt: skip
    return {p: found[c].full_name for p, c in codes.items() if c in found}


def _quoted(title: str) -> str:
    return _("“%(title)s”", title=title)


class _Objects:
    """The objects of a page of events, loaded once per kind, told and linked for the
    reader."""

    def __init__(self, reader: User, events: list[AuditEvent]) -> None:
        self.reader = reader
        ids: dict[str, set[int]] = {}
        for e in events:
            if e.object_type and e.object_id:
                ids.setdefault(e.object_type, set()).add(e.object_id)
        self.objections = _by_id(Objection, ids.get("objection", ()))
        match_ids = ids.get("match", set()) | {o.match_id for o in self.objections.values()}
        self.matches = _by_id(Match, match_ids)
        self.visible_matches = set(db.session.scalars(
            matches_for(reader).where(Match.id.in_(match_ids)).with_only_columns(Match.id)
        )) if match_ids else set()  # fmt: skip
        self.needs = _by_id(Need, ids.get("need", ()))
        self.resources = _by_id(Resource, ids.get("resource", ()))
        self.households = _by_id(Household, ids.get("household", ()))
        self.users = _by_id(User, ids.get("user", ()))
        user_ids = set(self.users)
        self.managed_users = set(db.session.scalars(
            users_in_scope(reader).where(User.id.in_(user_ids)).with_only_columns(User.id)
        )) if user_ids and may_open("accounts.users") else set()  # fmt: skip
        self.organizations = _by_id(Organization, ids.get("organization", ()))
        self.tokens = _by_id(ApiToken, ids.get("api_token", ()))
        self.checks = _by_id(SpotCheck, ids.get("spot_check", ()))
        report_codes = {str((e.after or {}).get("region", "")) for e in events
                        if e.action.startswith("report_")}  # fmt: skip
        in_reports = sa.select(Region).where(Region.code.in_(report_codes))
        self.report_regions = (
            {r.code: r for r in db.session.scalars(in_reports)} if report_codes else {}
        )

    def describe(self, e: AuditEvent) -> tuple[str, str | None]:
        """The object as text, and its page when the reader may open it."""
        kind, oid, after = e.object_type, e.object_id or 0, e.after or {}
        if e.action.startswith("report_"):
            return self._report(after)
        if e.action == "personal_data_viewed":
            return _("%(n)s household(s)", n=len(after.get("households") or [])), None
        if e.action == "register_imported":
            return _(
                "%(households)s households, %(needs)s needs",
                households=after.get("households", 0),
                needs=after.get("needs", 0),
            ), None
        if kind in ("match", "objection"):
            return self._match(self.objections[oid].match_id if kind == "objection"
                               and oid in self.objections else oid, kind, oid)  # fmt: skip
        if kind == "need" and oid in self.needs:
            need = self.needs[oid]
            url = url_for("needs.detail", need_id=oid) if needs_policy.can_view(
                self.reader, need) else None  # fmt: skip
            return _quoted(need.title), url
        if kind == "resource" and oid in self.resources:
            resource = self.resources[oid]
            text = _quoted(resource.title)
            status = after.get("status") if e.action == "resource_status" else None
            if status in {s.value for s in ResourceStatus}:
                text = _("%(title)s, now %(status)s", title=text,
                         status=ResourceStatus(status).label)  # fmt: skip
            url = url_for("resources.detail", resource_id=oid) if resources_policy.can_view(
                self.reader, resource) else None  # fmt: skip
            return text, url
        if kind == "household" and oid in self.households:
            household = self.households[oid]
            text = _("%(name)s (%(village)s)", name=mask_name(household.head_name),
                     village=household.village.name)  # fmt: skip
            may = may_open("households.detail") and households_policy.can_read(
                self.reader, household)  # fmt: skip
            return text, url_for("households.detail", household_id=oid) if may else None
        if kind == "user":
            return self._user(e, oid)
        if kind == "organization" and oid in self.organizations:
            org = self.organizations[oid]
            may = may_open("accounts.organizations") and (
                accounts_policy.administers_organization(self.reader, org))  # fmt: skip
            url = url_for("accounts.organizations", status=org.status.value) if may else None
            return _quoted(org.name), url
        if kind == "api_token" and oid in self.tokens:
            token = self.tokens[oid]
            return _("%(name)s (starts with %(prefix)s)", name=_quoted(token.name),
                     prefix=token.prefix), None  # fmt: skip
        if kind == "spot_check" and oid in self.checks:
            check = self.checks[oid]
            may = policy.can_read_spot_check(self.reader, check)
            return f"#{oid}", url_for("oversight.spot_check", check_id=oid) if may else None
        if kind:
            return f"{OBJECT_KINDS.get(kind, kind)} #{oid}", None
        return "", None

    def _match(self, match_id: int, kind: str, oid: int) -> tuple[str, str | None]:
        match = self.matches.get(match_id)
        if match is None:
            return f"{OBJECT_KINDS.get(kind, kind)} #{oid}", None
        text = _("%(title)s (match #%(id)s)", title=_quoted(match.need.title), id=match.id)
        if match.id not in self.visible_matches:
            return text, None
        return text, url_for("matches.detail", match_id=match.id)

    def _user(self, e: AuditEvent, oid: int) -> tuple[str, str | None]:
        user = self.users.get(oid)
        if user is None:
            return (_("an unknown account") if not oid else f"#{oid}"), None
        text = _("%(name)s (%(username)s)", name=user.display_name or user.username,
                 username=user.username)  # fmt: skip
        return text, url_for("accounts.users") if oid in self.managed_users else None

    def _report(self, after: dict[str, Any]) -> tuple[str, str | None]:
        region = self.report_regions.get(str(after.get("region", "")))
        month = str(after.get("month", ""))
        if region is None:
            return month, None
        text = f"{month} · {region.full_name}"
        may = may_open("reports.month") and in_scope(self.reader, region)
        return text, url_for("reports.month", month=month, region=region.code) if may else None
