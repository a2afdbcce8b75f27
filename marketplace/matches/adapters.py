"""The one bridge from ORM rows to the matching library's plain data."""

from __future__ import annotations

from datetime import date

from marketplace.accounts.models import VerificationStatus
from marketplace.needs.models import Need, NeedStatus
from marketplace.resources.models import Resource, ResourceStatus
from matching.model import NeedView, ResourceView


def need_view(need: Need, prior_aid: int = 0, today: date | None = None) -> NeedView:
    household = need.household
    today = today or date.today()
    return NeedView(
        id=need.id,
        category=need.category,
        subcategory=need.subcategory,
        village_path=need.village.path,
        open_quantity=need.open_quantity,
        verified=need.status == NeedStatus.VERIFIED,
        household_status=household.status.value if household else None,
        household_causes=tuple(household.causes) if household else (),
        urgency=need.urgency,
        days_waiting=max((today - need.created_at.date()).days, 0),
        prior_aid=prior_aid,
        text=f"{need.title} {need.description}",
        lat=need.village.lat,
        lng=need.village.lng,
        household_id=household.id if household else None,
        household_labour=household.labour_capacity.value if household else None,
    )


def resource_view(resource: Resource) -> ResourceView:
    return ResourceView(
        id=resource.id,
        categories=tuple(resource.categories),
        service_paths=tuple(r.path for r in resource.service_area),
        remaining=resource.remaining,
        active=resource.status == ResourceStatus.ACTIVE,
        organization_verified=resource.organization.status == VerificationStatus.VERIFIED,
        valid_from=resource.valid_from,
        valid_until=resource.valid_until,
        eligible_statuses=tuple(resource.eligible_statuses),
        eligible_causes=tuple(resource.eligible_causes),
        text=f"{resource.title} {resource.description}",
        # The distance component scores a need by its village's distance from these centres.
        service_coords=tuple(
            (r.lat, r.lng) if r.lat is not None and r.lng is not None else None
            for r in resource.service_area
        ),
        per_household=resource.per_household,
        labour_required=resource.labour_required,
        priority_causes=tuple(resource.priority_causes),
        priority_statuses=tuple(resource.priority_statuses),
    )
