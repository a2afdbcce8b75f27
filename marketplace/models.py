"""Import every model so that metadata is complete (Alembic, create_all)."""

from marketplace.accounts.models import ApiToken, Organization, User, user_region
from marketplace.attachments.models import Attachment
from marketplace.audit.models import AuditEvent
from marketplace.facts import FactVersion
from marketplace.followups.models import Certificate, FollowUp
from marketplace.households.models import Household, HouseholdMember
from marketplace.jobs.models import JobRun
from marketplace.matches.models import Match, Objection
from marketplace.needs.models import Need
from marketplace.notifications.models import Notification
from marketplace.oversight.models import SpotCheck, SpotCheckItem
from marketplace.plans.models import GuaranteeCheck, Measure, Plan, Shock, StatusDecision
from marketplace.produce.models import (
    ProduceBudget,
    ProduceIncome,
    ProduceListing,
    ProduceOrder,
    listing_household,
)
from marketplace.regions.models import Region
from marketplace.reports.models import ReportSnapshot
from marketplace.resources.models import Resource, resource_service_area
from marketplace.search.models import SearchOutbox

__all__ = [
    "ApiToken",
    "Attachment",
    "AuditEvent",
    "Certificate",
    "FactVersion",
    "FollowUp",
    "GuaranteeCheck",
    "Household",
    "HouseholdMember",
    "JobRun",
    "Match",
    "Measure",
    "Need",
    "Notification",
    "Objection",
    "Organization",
    "Plan",
    "ProduceBudget",
    "ProduceIncome",
    "ProduceListing",
    "ProduceOrder",
    "Region",
    "ReportSnapshot",
    "Resource",
    "SearchOutbox",
    "Shock",
    "SpotCheck",
    "SpotCheckItem",
    "StatusDecision",
    "User",
    "listing_household",
    "resource_service_area",
    "user_region",
]
