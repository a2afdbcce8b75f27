"""The score stored with each pledge; the matching engine computes it (issue: matching)."""

from __future__ import annotations

from typing import Any

from marketplace.needs.models import Need
from marketplace.resources.models import Resource


def score_pair(need: Need, resource: Resource) -> tuple[float | None, dict[str, Any]]:
    return None, {}
