"""API schemas: what goes in and out, documented in the OpenAPI document.

One representation per kind of value, declared in the document: money is a decimal string in
yuan with two places (``"1200.00"``, exact, never a float), scores are numbers from 0 to 1
rounded to four places, dates are ``YYYY-MM-DD``. Every output field is always present
(``required``); the ones that may be empty say ``null``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar

from apiflask import Schema
from apiflask.fields import (
    Boolean,
    Date,
    Decimal,
    Dict,
    Enum,
    Float,
    Integer,
    List,
    Nested,
    Pluck,
    String,
)
from apiflask.validators import Length, OneOf, Range, Regexp
from marshmallow import missing, pre_dump
from marshmallow.utils import get_value

from marketplace.api import disclosure
from marketplace.followups import services as follow_ups
from marketplace.followups.models import FollowUpStatus
from marketplace.households.models import (
    IdentificationStatus,
    MemberHealth,
    MemberLabour,
    MemberRelation,
    SchoolStage,
    Sex,
)
from marketplace.matches.models import MatchStatus
from marketplace.needs.models import Need, NeedStatus
from marketplace.plans.models import Guarantee, MeasureStatus
from marketplace.produce.models import PRODUCE_CATEGORY_CODES, ListingStatus, OrderStatus
from marketplace.produce.policy import OUTCOME_LABELS
from marketplace.resources.models import Resource, ResourceKind, ResourceStatus
from marketplace.search.backend import Results
from marketplace.vocab import CATEGORIES, HouseholdStatus, LabourCapacity, PovertyCause
from matching.scoring import Scored

# Ids are PostgreSQL integers: a larger number cannot name a record (and must not reach the
# database, which would refuse it with an error).
MAX_ID = 2**31 - 1
MAX_QUANTITY = 100_000_000

# Text from a client never carries a NUL character (PostgreSQL refuses it in text columns).
NO_NUL = r"^[^\u0000]*$"
# Some visible text: at least one character that is neither white space nor NUL.
NOT_BLANK = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"


class WholeNumber(Integer):
    """A JSON integer as JSON Schema means it: 3 or 3.0, never "3", true or 3.5."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        integral = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if isinstance(value, bool) or not integral:
            raise self.make_error("invalid")
        return super()._deserialize(int(value), attr, data, **kwargs)


def money(**kwargs: Any) -> Decimal:
    return Decimal(
        places=2,
        as_string=True,
        required=True,
        metadata={
            "type": "string",
            "format": "decimal",
            "pattern": r"^-?[0-9]+\.[0-9]{2}$",
            "description": "Yuan, as a decimal string with two places (exact)",
            "example": "1200.00",
        },
        **kwargs,
    )


class Score(Float):
    """A score from 0 to 1, sent rounded to four places."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return super()._serialize(None if value is None else round(value, 4), attr, obj, **kwargs)


def score(**kwargs: Any) -> Score:
    return Score(
        required=True,
        metadata={"description": "0 to 1, rounded to four places", "example": 0.8125},
        **kwargs,
    )


def text_in(max_length: int, *, blank: bool = True, **kwargs: Any) -> String:
    """A text input: bounded, without NUL; ``blank=False`` asks for some visible text."""
    pattern = NO_NUL if blank else NOT_BLANK
    message = "Enter some text, without NUL characters."
    return String(validate=[Length(max=max_length), Regexp(pattern, error=message)], **kwargs)


# --- errors ---------------------------------------------------------------------------------


class ErrorOut(Schema):
    status = Integer(required=True, metadata={"description": "The HTTP status code"})
    message = String(required=True, metadata={"description": "What went wrong (Chinese first)"})


class ValidationErrorOut(ErrorOut):
    detail = Dict(
        metadata={
            "description": "The fields refused, by location: "
            '{"json": {"quantity": ["Must be greater than or equal to 1 ..."]}}'
        }
    )


# --- queries --------------------------------------------------------------------------------


class PageIn(Schema):
    limit = Integer(load_default=50, validate=Range(1, 200))
    offset = Integer(load_default=0, validate=Range(0, 1_000_000))


class NeedQuery(PageIn):
    category = String(
        load_default=None,
        validate=OneOf(list(CATEGORIES)),
        metadata={"description": "A category or subcategory: its needs only"},
    )


class SuggestionQuery(Schema):
    limit = Integer(load_default=10, validate=Range(1, 50))


def search_arg(description: str) -> String:
    # Any text but NUL (refused with 400 before the search runs).
    return String(validate=Regexp(NO_NUL), metadata={"description": description})


class SearchQueryIn(Schema):
    """The search takes every value: what it does not know it ignores, with a note."""

    q = search_arg("Words to find (at most 200 characters are used)")
    type = search_arg("need (default), resource or listing (produce on sale)")
    category = search_arg("A category or subcategory")
    region = search_arg("A region's 12-digit code: that region and below")
    kind = search_arg("The kind of resource (goods, money, jobs, ...)")
    urgency = search_arg("1, 2 or 3")
    sort = search_arg("relevance (default) or newest")
    page = search_arg("The page, from 1 (anything else means 1)")


# --- outputs --------------------------------------------------------------------------------
# The handlers return the records (or, for a computed answer, a small dataclass) and these
# schemas say what of them goes out; personal data only through ``Personal`` fields.


def enum_value(vocabulary: type[enum.Enum], **kwargs: Any) -> Enum:
    """A closed vocabulary, sent as its value (and listed in the document)."""
    return Enum(vocabulary, by_value=String, required=True, **kwargs)


class Personal(String):
    """A household's name, ID card number or phone as the reader may see it: in full where the
    reader has the right (an audited view), masked otherwise; see ``disclosure``.

    ``household`` is the path to the household from the object dumped (the object itself if
    not given); null when there is none."""

    def __init__(self, part: str, *, household: str | None = None, **kwargs: Any) -> None:
        super().__init__(required=True, **kwargs)
        self.part = part
        self.household = household

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        household = obj if self.household is None else get_value(obj, self.household)
        return None if household is None else disclosure.shown(household, self.part)


class Discloses(Schema):
    """An answer with households' personal data: the households of the whole answer are
    disclosed at once before it is dumped, so that a list leaves one audit event naming those
    the reader sees in full (in the order shown), none if the reader sees them masked."""

    households_at: ClassVar[str | None] = None  # the path to the household; None: the object
    with_members: ClassVar[bool] = False  # the households' rosters are in the answer too

    @pre_dump(pass_collection=True)
    def disclose_households(self, data: Any, many: bool, **_kwargs: Any) -> Any:
        items = data if many else [data]
        path = self.households_at
        found = items if path is None else [get_value(item, path) for item in items]
        disclosure.disclose([h for h in found if h is not None], members=self.with_members)
        return data


class HouseholdBrief(Schema):
    id = Integer(required=True)
    name = Personal("name", metadata={"description": "Masked (张*) unless the caller may see it"})
    status = enum_value(HouseholdStatus)
    causes = List(String(), required=True)


class NeedOut(Discloses):
    households_at = "household"

    id = Integer(required=True)
    title = String(required=True)
    description = String(required=True)
    category = String(required=True)
    subcategory = String(required=True)
    village = String(required=True, attribute="village.full_name")
    village_code = String(required=True, attribute="village.code")
    quantity = Integer(required=True)
    open_quantity = Integer(required=True)
    unit = String(required=True)
    estimated_value = money()
    urgency = Integer(required=True)
    needed_by = Date(required=True, allow_none=True)
    status = enum_value(NeedStatus)
    household = Nested(HouseholdBrief, required=True, allow_none=True)


class RegionCode(Schema):
    code = String(required=True)


class ResourceOut(Schema):
    id = Integer(required=True)
    title = String(required=True)
    description = String(required=True)
    kind = enum_value(ResourceKind)
    organization = String(required=True, attribute="organization.name")
    categories = List(String(), required=True)
    capacity = Integer(required=True, allow_none=True, metadata={"description": "null: unlimited"})
    remaining = Integer(required=True, allow_none=True, metadata={"description": "null: unlimited"})
    unit = String(required=True)
    unit_value = money()
    service_area = Pluck(RegionCode, "code", many=True, required=True,
                         metadata={"description": "Region codes"})  # fmt: skip
    eligible_statuses = List(String(), required=True)
    eligible_causes = List(String(), required=True)
    per_household = Integer(required=True, allow_none=True,
                            metadata={"description": "The most units one household may receive, "
                                      "over all its needs; null: no limit"})  # fmt: skip
    labour_required = Boolean(required=True, metadata={
        "description": "Only households with a member able to work"})  # fmt: skip
    priority_statuses = List(String(), required=True, metadata={
        "description": "Household statuses favoured in the ranking (not a condition)"})  # fmt: skip
    priority_causes = List(String(), required=True, metadata={
        "description": "Poverty causes favoured in the ranking (not a condition)"})  # fmt: skip
    valid_from = Date(required=True)
    valid_until = Date(required=True)
    delivery_deadline = Date(required=True, allow_none=True)
    status = enum_value(ResourceStatus)


class FollowUpOutcome(Schema):
    effective = Boolean(required=True, metadata={
        "description": "Still working: employed, alive, running, in use?"})  # fmt: skip
    producing = Boolean(required=True, allow_none=True, metadata={
        "description": "Livestock, industry: producing? null: not asked"})  # fmt: skip
    # The amount answered (a monthly wage, or the income since the last check), and the
    # income counted for the period the check covers; null where not asked or not given.
    amount = money(allow_none=True)
    income = money(allow_none=True)


class FollowUpOut(Schema):
    """A follow-up of results (跟踪问效): staff's notes are not given (personal data)."""

    months = Integer(required=True, metadata={"description": "Months after the help arrived"})
    questions = String(required=True, metadata={
        "description": "jobs, training, livestock, industry or goods"})  # fmt: skip
    due_on = Date(required=True)
    status = enum_value(FollowUpStatus)
    overdue = Boolean(required=True)
    visited_on = Date(required=True, allow_none=True)
    outcome = Nested(FollowUpOutcome, required=True, allow_none=True,
                     metadata={"description": "null until recorded"})  # fmt: skip


class FollowUps(List):
    """A match's follow-ups, read from marketplace.followups (matches know nothing of them)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Nested(FollowUpOut), required=True, **kwargs)

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        return follow_ups.answer(obj)


class MatchOut(Discloses):
    households_at = "need.household"

    id = Integer(required=True)
    need_id = Integer(required=True)
    resource_id = Integer(required=True)
    quantity = Integer(required=True)
    status = enum_value(MatchStatus)
    score = score(allow_none=True)
    household = Personal("name", household="need.household", allow_none=True,
                         metadata={"description": "Masked name"})  # fmt: skip
    village = String(required=True, attribute="need.village.full_name")
    received_quantity = Integer(required=True, allow_none=True)
    satisfaction = Integer(required=True, allow_none=True)
    feedback = String(required=True)
    follow_ups = FollowUps(
        metadata={"description": "Follow-ups of results, scheduled once the household confirmed"}
    )


class MemberOut(Schema):
    """One person of a household's roster, as the reader may see them (see Roster)."""

    id = Integer(required=True)
    relation = enum_value(MemberRelation)
    name = String(required=True, metadata={"description": "Masked (张*) unless the caller may"})
    id_number = String(required=True, metadata={
        "description": "Masked unless the caller may see it; empty when not recorded"})  # fmt: skip
    sex = enum_value(Sex, allow_none=True, metadata={"description": "From the ID card number"})
    birth_date = Date(required=True, allow_none=True, metadata={
        "description": "From the ID card number; null unless the caller may see it"})  # fmt: skip
    labour = enum_value(MemberLabour, allow_none=True, metadata={
        "description": "Labour capacity; null: not recorded"})  # fmt: skip
    health = enum_value(MemberHealth, allow_none=True, metadata={
        "description": "null unless the caller may see it"})  # fmt: skip
    disability_grade = Integer(required=True, allow_none=True, metadata={
        "description": "1 (most severe) to 4; null unless the caller may see it"})  # fmt: skip
    schooling = enum_value(SchoolStage, allow_none=True, metadata={
        "description": "The stage reached, or a pupil's; null: not recorded"})  # fmt: skip
    in_school = Boolean(required=True)
    skills = String(required=True)
    working_away = Boolean(required=True)


class Roster(List):
    """A household's members, masked by the reader's rights in the answer's one disclosure."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Nested(MemberOut), required=True, **kwargs)

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        return disclosure.shown_members(obj)


class ResponsibleOut(Schema):
    name = String(required=True, metadata={"description": "The responsible cadre (帮扶责任人)"})
    phone = String(required=True, metadata={
        "description": "Masked unless the caller may see personal data; empty: none"})  # fmt: skip


class MeasureOut(Schema):
    """One measure of the household's plan (一户一策)."""

    id = Integer(required=True)
    cause = enum_value(PovertyCause, metadata={"description": "The cause it answers"})
    category = String(required=True, metadata={"description": "Its need sub-category"})
    title = String(required=True)
    target = String(required=True)
    due_on = Date(required=True)
    status = enum_value(MeasureStatus)
    responsible = Nested(ResponsibleOut, required=True)
    needs = List(Integer(), required=True, metadata={"description": "Needs posted from it"})


class GuaranteeStateOut(Schema):
    guarantee = enum_value(Guarantee)
    met = Boolean(required=True, allow_none=True, metadata={"description": "null: never checked"})
    checked_on = Date(required=True, allow_none=True, metadata={
        "description": "The day of the latest check"})  # fmt: skip


class PlanOut(Schema):
    """The household's plan: its goal, measures, the 两不愁三保障 guarantees and the risk."""

    goal = String(required=True, metadata={"description": "Empty while no plan is written"})
    target_year = Integer(required=True, allow_none=True)
    measures = List(Nested(MeasureOut), required=True)
    guarantees = List(Nested(GuaranteeStateOut), required=True, metadata={
        "description": "Each guarantee's latest check"})  # fmt: skip
    at_risk = Boolean(required=True, metadata={
        "description": "Out of poverty (or monitored) with income near the line or a shock "
        "still open (防返贫)"})  # fmt: skip


class HouseholdPlan(Nested):
    """The household's plan as the reader may see it, worked out for the whole answer at once
    (``disclosure.plans``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(PlanOut, required=True, **kwargs)

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        return disclosure.plan_of(obj)


class HouseholdOut(Discloses):
    with_members = True

    @pre_dump(pass_collection=True)
    def summarise_plans(self, data: Any, many: bool, **_kwargs: Any) -> Any:
        disclosure.plans(data if many else [data])
        return data

    id = Integer(required=True)
    register_number = String(required=True)
    name = Personal("name")
    id_number = Personal("id_number")
    phone = Personal("phone")
    village = String(required=True, attribute="village.full_name")
    member_count = Integer(required=True)
    primary_cause = enum_value(PovertyCause)
    other_causes = List(String(), required=True)
    status = enum_value(HouseholdStatus)
    labour_capacity = enum_value(LabourCapacity, metadata={
        "description": "From the roster when it records anyone's labour"})  # fmt: skip
    identification = enum_value(IdentificationStatus, metadata={
        "description": "精准识别: only confirmed households' needs are verified"})  # fmt: skip
    members = Roster(metadata={"description": "The roster, the head first"})
    plan = HouseholdPlan(metadata={"description": "一户一策: the plan, masked like the rest"})


@dataclass(frozen=True)
class Suggestion:
    """A suggested resource (for a need) or need (for a resource), scored."""

    item: Need | Resource
    scored: Scored


class Explanations(List):
    """The reasons of a score, in the reader's words (those without wording are left out)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(String(), **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        # Imported here: the scorer brings NumPy and SciPy, which starting the app need not pay.
        from marketplace.matches.scoring import explain

        words = [explain({"component": e.component, "code": e.code, "params": e.params})
                 for e in value]  # fmt: skip
        return super()._serialize([w for w in words if w], attr, obj, **kwargs)


class SuggestionOut(Schema):
    id = Integer(required=True, attribute="item.id",
                 metadata={"description": "The suggested resource (or need)"})  # fmt: skip
    title = String(required=True, attribute="item.title")
    score = score(attribute="scored.score")
    components = Dict(keys=String(), values=Float(), required=True, attribute="scored.components",
                      metadata={"description": "Each component's score, 0 to 1"})  # fmt: skip
    points = Integer(required=True, attribute="scored.points",
                     metadata={"description": "The score in points out of 10,000"})  # fmt: skip
    component_points = Dict(
        keys=String(), values=Integer(), required=True, attribute="scored.component_points",
        metadata={"description": "Each component's points; they sum exactly to points"},
    )  # fmt: skip
    explanations = Explanations(required=True, attribute="scored.explanations")


@dataclass(frozen=True)
class Found:
    """What a search found, on the page asked, with the filters it ignored."""

    results: Results
    page: int
    notes: list[str]


class SearchHit(Schema):
    type = String(required=True, metadata={"description": "need, resource or listing"})
    id = Integer(required=True)
    title = String(required=True)
    highlight = String(required=True, metadata={"description": "HTML, escaped, <b> around matches"})


class SearchOut(Schema):
    total = Integer(required=True, attribute="results.total")
    total_capped = Boolean(required=True, attribute="results.capped",
                           metadata={"description": "true: total is a lower bound"})  # fmt: skip
    page = Integer(required=True)
    notes = List(String(), required=True, metadata={"description": "Filters ignored, and why"})
    facets = Dict(keys=String(), values=Dict(keys=String(), values=Integer()), required=True,
                  attribute="results.facets",
                  metadata={"description": 'Counts by "category" and "kind"'})  # fmt: skip
    hits = List(Nested(SearchHit), required=True, attribute="results.hits")


# --- actions --------------------------------------------------------------------------------


class PledgeIn(Schema):
    resource_id = WholeNumber(required=True, validate=Range(1, MAX_ID))
    quantity = WholeNumber(required=True, validate=Range(1, MAX_QUANTITY))


class ReasonIn(Schema):
    reason = text_in(500, blank=False, required=True)


class DeliverIn(Schema):
    note = text_in(2000, load_default="")


class ConfirmIn(Schema):
    received_quantity = WholeNumber(required=True, validate=Range(1, MAX_QUANTITY))
    received_on = Date(required=True)
    satisfaction = WholeNumber(required=True, validate=Range(1, 5))
    feedback = text_in(2000, load_default="")


# --- produce sales (消费扶贫) ----------------------------------------------------------------
# Listings and orders carry no household: the village and the product only, whoever reads.


class ProduceQuery(PageIn):
    category = String(
        load_default=None,
        validate=OneOf(PRODUCE_CATEGORY_CODES),
        metadata={"description": "A produce category (consumption.*): its listings only"},
    )


class ProduceListingOut(Schema):
    id = Integer(required=True)
    product = String(required=True)
    category = String(required=True)
    village = String(required=True, attribute="village.full_name")
    village_code = String(required=True, attribute="village.code")
    cooperative = String(
        required=True,
        allow_none=True,
        metadata={"description": "The village cooperative selling; null: a household"},
    )
    quantity = Integer(required=True)
    remaining = Integer(required=True, metadata={"description": "Units not yet ordered"})
    unit = String(required=True)
    price = money()  # yuan per unit
    available_from = Date(required=True)
    quality_notes = String(required=True)
    status = enum_value(ListingStatus)


class ProduceOrderOut(Schema):
    id = Integer(required=True)
    listing_id = Integer(required=True)
    product = String(required=True, attribute="listing.product")
    village = String(required=True, attribute="listing.village.full_name")
    resource_id = Integer(required=True, metadata={"description": "The purchase resource paying"})
    organization = String(required=True, attribute="organization.name")
    quantity = Integer(required=True)
    unit = String(required=True, attribute="listing.unit")
    price = money()
    amount = money()  # quantity x price
    status = enum_value(OrderStatus)
    paid_on = Date(required=True, allow_none=True)
    payment_reference = String(required=True)
    payment_received_on = Date(
        required=True,
        allow_none=True,
        metadata={"description": "When the household received the payment (its staff say)"},
    )
    dispute_reason = String(required=True)
    decision_reason = String(required=True)
    cancel_reason = String(required=True)
    score = score(allow_none=True)


class ProduceOrderIn(Schema):
    resource_id = WholeNumber(required=True, validate=Range(1, MAX_ID), metadata={
        "description": "One of your organization's active purchase resources"})  # fmt: skip
    quantity = WholeNumber(required=True, validate=Range(1, MAX_QUANTITY))


class PaymentIn(Schema):
    paid_on = Date(required=True)
    reference = text_in(100, blank=False, required=True, metadata={
        "description": "The transfer's reference, for the household's staff to check"})  # fmt: skip


class HandOverIn(Schema):
    note = text_in(2000, load_default="", metadata={
        "description": "What was handed over (weighed, to whom)"})  # fmt: skip


class PaymentReceivedIn(Schema):
    received_on = Date(required=True, metadata={
        "description": "When the household received the payment (Beijing day)"})  # fmt: skip


class ResolveIn(Schema):
    outcome = String(required=True, validate=OneOf(sorted(OUTCOME_LABELS)), metadata={
        "description": "A disputed handover: received, hand_over_again or cancelled; a disputed "
        "payment: confirmed or pay_again"})  # fmt: skip
    reason = text_in(500, blank=False, required=True)
