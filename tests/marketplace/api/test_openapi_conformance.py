"""Schemathesis against the OpenAPI document the app serves: every operation, a few generated
requests each (valid, invalid, and valid about real records), sent with a staff member's, a
donor's and an administrator's token; schemathesis's default checks (no 5xx, documented status
codes, content types, headers and bodies, invalid input refused, valid input accepted, the
token not ignored, ...) must all pass. About 600 requests, 10 s."""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from marketplace.accounts.models import TokenScope
from marketplace.accounts.services import create_token
from tests.conftest import World

schemathesis = pytest.importorskip("schemathesis")
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.core.failures import FailureGroup  # noqa: E402

# Per operation and generation mode, each sent by every caller: the suite stays quick.
# SCHEMATHESIS_EXAMPLES=200 SCHEMATHESIS_RANDOM=1 for a longer, varied hunt.
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "5"))
DERANDOMIZE = not os.environ.get("SCHEMATHESIS_RANDOM")


@pytest.fixture
def scene(db: Any, world: World) -> dict[str, Any]:
    """The world plus one pledged match, so that generated requests also reach real objects."""
    from marketplace.matches import services as matches

    match = matches.pledge(world.donor, world.need, world.resource, 1)
    listing, order = _produce(world)
    tokens = {}
    for name, user in (("staff", world.staff), ("donor", world.donor), ("admin", world.admin)):
        _token, plain = create_token(user, f"schemathesis {name}", scope=TokenScope.WRITE)
        tokens[name] = {"Authorization": f"Bearer {plain}"}
    db.session.commit()
    return {
        "tokens": tokens,
        "ids": {
            "need_id": world.need.id,
            "resource_id": world.resource.id,
            "match_id": match.id,
            "household_id": world.household.id,
            "listing_id": listing.id,
            "order_id": order.id,
        },
    }


def _produce(world: World) -> tuple[Any, Any]:
    """A verified listing of the household, and an order of it by the donor's purchase."""
    from datetime import date
    from decimal import Decimal

    from marketplace.produce import services as produce
    from marketplace.resources.models import ResourceKind
    from marketplace.resources.services import create_resource

    listing = produce.create_listing(
        world.staff, world.village, world.household, product="荞麦", category="consumption.produce",
        quantity=500, unit="斤", price=Decimal("4.50"), available_from=date(2026, 1, 1),
    )  # fmt: skip
    produce.submit_listing(world.staff, listing)
    produce.verify_listing(world.admin, listing)
    purchase = create_resource(
        world.donor, capacity=10000, service_area=list(world.resource.service_area),
        kind=ResourceKind.PURCHASE, title="消费扶贫采购", description="", categories=[
            "consumption.produce"], unit="元", unit_value=Decimal(1), eligible_statuses=[],
        eligible_causes=[], valid_from=world.resource.valid_from,
        valid_until=world.resource.valid_until, delivery_deadline=None,
    )  # fmt: skip
    return listing, produce.place_order(world.donor, listing, purchase, 10)


def path_names(operation: Any) -> list[str]:
    return re.findall(r"{(\w+)}", operation.path)


def fuzz(
    operation: Any,
    mode: GenerationMode,
    callers: list[dict[str, str]],
    ids: dict[str, int] | None = None,
) -> Counter[int]:
    """Run one operation's generated requests in one generation mode (with the path's ids
    pinned to ``ids`` if given); the statuses answered."""
    statuses: Counter[int] = Counter()
    pinned = {name: ids[name] for name in path_names(operation)} if ids else None

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=DERANDOMIZE,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded time
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=pinned))
    def run(case: Any) -> None:
        for headers in callers:
            statuses[case.call_and_validate(headers=headers).status_code] += 1

    run()
    return statuses


def test_api_conforms_to_its_openapi_document(app: Any, db: Any, scene: dict[str, Any]) -> None:
    def served(environ: dict[str, Any], start_response: Any) -> Any:
        """The app as a server runs it: each request in a fresh app context (``g`` included),
        also the ones schemathesis sends again (without the token, for instance)."""
        with app.app_context():
            return app.wsgi_app(environ, start_response)

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", served)
    # The callers' tokens are sent as given: schemathesis neither drops nor invents them.
    schema.config.generation.update(with_security_parameters=False)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    callers = [scene["tokens"][name] for name in ("staff", "donor", "admin")]
    started = time.monotonic()
    answered: dict[str, Counter[int]] = {}
    failures: list[str] = []
    for operation in operations:
        answered[operation.label] = Counter()
        runs = [(GenerationMode.POSITIVE, None), (GenerationMode.NEGATIVE, None)]
        if path_names(operation):  # also valid requests about the scene's records
            runs.append((GenerationMode.POSITIVE, scene["ids"]))
        for mode, ids in runs:
            try:
                answered[operation.label] += fuzz(operation, mode, callers, ids)
            except (Exception, FailureGroup) as exc:  # every failure, then fail once
                failures.append(f"{operation.label} ({mode.value}, ids {ids}): {exc}")
    elapsed = time.monotonic() - started
    sent = sum(sum(c.values()) for c in answered.values())
    print(f"schemathesis: {len(operations)} operations, {sent} requests, {elapsed:.1f} s")
    for label, statuses in answered.items():
        print(f"  {label}: {dict(sorted(statuses.items()))}")
    assert not failures, "\n\n".join(failures)
    # Not only refusals: the reads answered with data, and the scene's match went through
    # approval (the administrator) and delivery (the donor).
    succeeded = {label for label, statuses in answered.items() if statuses[200] + statuses[201]}
    assert {
        "GET /api/v1/needs",
        "GET /api/v1/households",
        "GET /api/v1/search",
        "GET /api/v1/needs/{need_id}/suggestions",
        "POST /api/v1/matches/{match_id}/approve",
        "POST /api/v1/matches/{match_id}/deliver",
    } <= succeeded, answered
