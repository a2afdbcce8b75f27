"""Ranked, explained suggestions: best resources for a need, best needs for a resource."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from matching import text
from matching.constraints import allowed
from matching.model import NeedView, ResourceView
from matching.scoring import Scored, Weights, score


def _validate_limit(limit: int) -> None:
    if not isinstance(limit, int) or limit < 1:
        raise ValueError("limit must be a positive integer")


def _top(scored: list[Scored], limit: int, key_id: str) -> list[Scored]:
    # Most points first; equal points by lowest id, so the same data always gives the same
    # order whatever the order it came in.
    scored.sort(key=lambda s: (-s.points, getattr(s, key_id)))
    return scored[:limit]


def resources_for_need(
    need: NeedView,
    resources: Sequence[ResourceView],
    weights: Weights,
    today: date,
    limit: int = 10,
) -> list[Scored]:
    _validate_limit(limit)
    candidates = [r for r in resources if allowed(need, r, today)]
    if not candidates:
        return []
    sims = text.similarities(text.encode([need.text]), text.encode([r.text for r in candidates]))
    scored = [score(need, r, weights, float(s)) for r, s in zip(candidates, sims, strict=True)]
    return _top(scored, limit, "resource_id")


def needs_for_resource(
    resource: ResourceView,
    needs: Sequence[NeedView],
    weights: Weights,
    today: date,
    limit: int = 10,
) -> list[Scored]:
    _validate_limit(limit)
    candidates = [n for n in needs if allowed(n, resource, today)]
    if not candidates:
        return []
    sims = text.similarities(
        text.encode([resource.text]), text.encode([n.text for n in candidates])
    )
    scored = [score(n, resource, weights, float(s)) for n, s in zip(candidates, sims, strict=True)]
    return _top(scored, limit, "need_id")
