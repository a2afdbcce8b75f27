"""API schemas: what goes in and out, documented in the OpenAPI document.

One representation per kind of value, declared in the document: money is a decimal string in
yuan with two places (``"1200.00"``, exact, never a float), scores are numbers from 0 to 1
rounded to four places, dates are ``YYYY-MM-DD``. Every output field is always present
(``required``); the ones that may be empty say ``null``.
"""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import Boolean, Date, Decimal, Dict, Float, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range, Regexp

from marketplace.vocab import CATEGORIES

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


def score(**kwargs: Any) -> Float:
    return Float(
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
    type = search_arg("need (default) or resource")
    category = search_arg("A category or subcategory")
    region = search_arg("A region's 12-digit code: that region and below")
    kind = search_arg("The kind of resource (goods, money, jobs, ...)")
    urgency = search_arg("1, 2 or 3")
    sort = search_arg("relevance (default) or newest")
    page = search_arg("The page, from 1 (anything else means 1)")


# --- outputs --------------------------------------------------------------------------------


class HouseholdBrief(Schema):
    id = Integer(required=True)
    name = String(
        required=True, metadata={"description": "Masked (张*) unless the caller may see it"}
    )
    status = String(required=True)
    causes = List(String(), required=True)


class NeedOut(Schema):
    id = Integer(required=True)
    title = String(required=True)
    description = String(required=True)
    category = String(required=True)
    subcategory = String(required=True)
    village = String(required=True)
    village_code = String(required=True)
    quantity = Integer(required=True)
    open_quantity = Integer(required=True)
    unit = String(required=True)
    estimated_value = money()
    urgency = Integer(required=True)
    needed_by = Date(required=True, allow_none=True)
    status = String(required=True)
    household = Nested(HouseholdBrief, required=True, allow_none=True)


class ResourceOut(Schema):
    id = Integer(required=True)
    title = String(required=True)
    description = String(required=True)
    kind = String(required=True)
    organization = String(required=True)
    categories = List(String(), required=True)
    capacity = Integer(required=True, allow_none=True, metadata={"description": "null: unlimited"})
    remaining = Integer(required=True, allow_none=True, metadata={"description": "null: unlimited"})
    unit = String(required=True)
    unit_value = money()
    service_area = List(String(), required=True, metadata={"description": "Region codes"})
    eligible_statuses = List(String(), required=True)
    eligible_causes = List(String(), required=True)
    valid_from = Date(required=True)
    valid_until = Date(required=True)
    delivery_deadline = Date(required=True, allow_none=True)
    status = String(required=True)


class MatchOut(Schema):
    id = Integer(required=True)
    need_id = Integer(required=True)
    resource_id = Integer(required=True)
    quantity = Integer(required=True)
    status = String(required=True)
    score = score(allow_none=True)
    household = String(required=True, allow_none=True, metadata={"description": "Masked name"})
    village = String(required=True)
    received_quantity = Integer(required=True, allow_none=True)
    satisfaction = Integer(required=True, allow_none=True)
    feedback = String(required=True)


class HouseholdOut(Schema):
    id = Integer(required=True)
    register_number = String(required=True)
    name = String(required=True)
    id_number = String(required=True)
    phone = String(required=True)
    village = String(required=True)
    member_count = Integer(required=True)
    primary_cause = String(required=True)
    other_causes = List(String(), required=True)
    status = String(required=True)
    labour_capacity = String(required=True)


class SuggestionOut(Schema):
    id = Integer(required=True, metadata={"description": "The suggested resource (or need)"})
    title = String(required=True)
    score = score()
    components = Dict(keys=String(), values=Float(), required=True,
                      metadata={"description": "Each component's score, 0 to 1"})  # fmt: skip
    explanations = List(String(), required=True)


class SearchHit(Schema):
    type = String(required=True, metadata={"description": "need or resource"})
    id = Integer(required=True)
    title = String(required=True)
    highlight = String(required=True, metadata={"description": "HTML, escaped, <b> around matches"})


class SearchOut(Schema):
    total = Integer(required=True)
    total_capped = Boolean(required=True, metadata={"description": "true: total is a lower bound"})
    page = Integer(required=True)
    notes = List(String(), required=True, metadata={"description": "Filters ignored, and why"})
    facets = Dict(keys=String(), values=Dict(keys=String(), values=Integer()), required=True,
                  metadata={"description": 'Counts by "category" and "kind"'})  # fmt: skip
    hits = List(Nested(SearchHit), required=True)


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
