"""Hard constraints: a pairing that breaks any of these is never suggested, pledged or allocated."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from matching.model import NeedView, ResourceView


class Violation(StrEnum):
    NEED_NOT_OPEN = "need_not_open"
    RESOURCE_INACTIVE = "resource_inactive"
    ORGANIZATION_UNVERIFIED = "organization_unverified"
    OUT_OF_VALIDITY = "out_of_validity"
    NO_CAPACITY = "no_capacity"
    CATEGORY = "category"
    SERVICE_AREA = "service_area"
    STATUS = "status"
    CAUSE = "cause"
    LABOUR = "labour"


def category_fits(need: NeedView, resource: ResourceView) -> bool:
    """The resource serves the need's exact sub-category or its whole top category."""
    return need.subcategory in resource.categories or need.category in resource.categories


def in_service_area(need: NeedView, resource: ResourceView) -> bool:
    return any(need.village_path.startswith(path) for path in resource.service_paths)


def able_to_work(need: NeedView) -> bool:
    """Someone in the household can work, or it is not known to be otherwise: only a household
    recorded as without labour ("none") is kept from jobs and training; a village-wide need or
    an unknown capacity is not."""
    return need.household_labour != "none"


def violations(need: NeedView, resource: ResourceView, today: date) -> list[Violation]:
    """Every hard constraint the pairing breaks, in a fixed order (empty: allowed)."""
    found: list[Violation] = []
    if not need.verified or need.open_quantity <= 0:
        found.append(Violation.NEED_NOT_OPEN)
    if not resource.active:
        found.append(Violation.RESOURCE_INACTIVE)
    if not resource.organization_verified:
        found.append(Violation.ORGANIZATION_UNVERIFIED)
    if not resource.valid_from <= today <= resource.valid_until:
        found.append(Violation.OUT_OF_VALIDITY)
    if resource.remaining is not None and resource.remaining <= 0:
        found.append(Violation.NO_CAPACITY)
    if not category_fits(need, resource):
        found.append(Violation.CATEGORY)
    if not in_service_area(need, resource):
        found.append(Violation.SERVICE_AREA)
    # Eligibility is about households: a village-wide need meets it only when none is set.
    if resource.eligible_statuses and need.household_status not in resource.eligible_statuses:
        found.append(Violation.STATUS)
    if resource.eligible_causes and not set(need.household_causes) & set(resource.eligible_causes):
        found.append(Violation.CAUSE)
    if resource.labour_required and not able_to_work(need):
        found.append(Violation.LABOUR)
    return found


def allowed(need: NeedView, resource: ResourceView, today: date) -> bool:
    return not violations(need, resource, today)
