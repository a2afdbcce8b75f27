"""Fixtures shared by the match tests: an approved match, and one browser per user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from marketplace.matches import services
from marketplace.matches.models import Match
from tests.conftest import PASSWORD, World


@pytest.fixture
def approved(db: Any, world: World) -> Match:
    match = services.pledge(world.donor, world.need, world.resource, 1)
    services.approve(world.admin, match)
    db.session.commit()
    return match


@pytest.fixture
def client_of(app: Any) -> Callable[[str], Any]:
    """A test client of its own signed in as the user named: several users side by side."""

    def signed_in(username: str) -> Any:
        client = app.test_client()
        client.post("/login", data={"username": username, "password": PASSWORD})
        return client

    return signed_in
