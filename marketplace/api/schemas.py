"""API schemas: what goes in and out, documented in the OpenAPI document."""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Date, Decimal, Dict, Float, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range

from marketplace.vocab import CATEGORIES


class PageIn(Schema):
    limit = Integer(load_default=50, validate=Range(1, 200))
    offset = Integer(load_default=0, validate=Range(0, 1_000_000))


class NeedQuery(PageIn):
    category = String(load_default=None, validate=OneOf(list(CATEGORIES)))


class HouseholdBrief(Schema):
    id = Integer()
    name = String(metadata={"description": "Masked (张*) unless the caller may see it"})
    status = String()
    causes = List(String())


class NeedOut(Schema):
    id = Integer()
    title = String()
    description = String()
    category = String()
    subcategory = String()
    village = String()
    village_code = String()
    quantity = Integer()
    open_quantity = Integer()
    unit = String()
    estimated_value = Decimal(as_string=True)
    urgency = Integer()
    needed_by = Date(allow_none=True)
    status = String()
    household = Nested(HouseholdBrief, allow_none=True)


class ResourceOut(Schema):
    id = Integer()
    title = String()
    description = String()
    kind = String()
    organization = String()
    categories = List(String())
    capacity = Integer(allow_none=True)
    remaining = Integer(allow_none=True)
    unit = String()
    unit_value = Decimal(as_string=True)
    service_area = List(String())
    eligible_statuses = List(String())
    eligible_causes = List(String())
    valid_from = Date()
    valid_until = Date()
    delivery_deadline = Date(allow_none=True)
    status = String()


class MatchOut(Schema):
    id = Integer()
    need_id = Integer()
    resource_id = Integer()
    quantity = Integer()
    status = String()
    score = Decimal(as_string=True, allow_none=True)
    household = String(allow_none=True)
    village = String()
    received_quantity = Integer(allow_none=True)
    satisfaction = Integer(allow_none=True)
    feedback = String()


class HouseholdOut(Schema):
    id = Integer()
    register_number = String()
    name = String()
    id_number = String()
    phone = String()
    village = String()
    member_count = Integer()
    primary_cause = String()
    other_causes = List(String())
    status = String()
    labour_capacity = String()


class PledgeIn(Schema):
    resource_id = Integer(required=True)
    quantity = Integer(required=True, strict=True, validate=Range(1, 100_000_000))


class ReasonIn(Schema):
    reason = String(load_default="", validate=Length(max=500))


class DeliverIn(Schema):
    note = String(load_default="", validate=Length(max=2000))


class ConfirmIn(Schema):
    received_quantity = Integer(required=True, strict=True, validate=Range(1, 100_000_000))
    received_on = Date(required=True)
    satisfaction = Integer(required=True, strict=True, validate=Range(1, 5))
    feedback = String(load_default="", validate=Length(max=2000))


class SuggestionQuery(Schema):
    limit = Integer(load_default=10, validate=Range(1, 50))


class SuggestionOut(Schema):
    id = Integer(metadata={"description": "The suggested resource (or need)"})
    title = String()
    score = Float()
    components = Dict(keys=String(), values=Float())
    explanations = List(String())
