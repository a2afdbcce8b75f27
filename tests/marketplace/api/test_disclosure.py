"""The one place the API decides how personal data goes out (marketplace.api.disclosure): what
the output schemas show of a household, to whom, and the audit event of an unmasked view."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import g

from marketplace.api import schemas
from marketplace.audit.models import AuditEvent
from marketplace.extensions import login_manager
from tests.conftest import World


@pytest.fixture
def bare_need(make_need: Any, world: World) -> Any:
    return make_need(world.village)


@pytest.fixture(autouse=True)
def own_request(app: Any, db: Any, world: World, bare_need: Any) -> Any:
    """Each test in a request of its own, with its own ``g`` (the reader set below must not
    outlive the test), as under a server."""
    with app.app_context(), app.test_request_context():
        yield


def read_as(user: Any) -> None:
    """The reader of the answers dumped next (Flask-Login's user of this request)."""
    g._login_user = user if user is not None else login_manager.anonymous_user()


def views(db: Any) -> list[Any]:
    return [
        e.after["households"]
        for e in db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "personal_data_viewed")
        )
    ]


def test_one_readers_view_never_serves_another(db: Any, world: World) -> None:
    """In one request (one ``g``), the staff's unmasked view is not reused for the auditor or
    the public, and each dump of a list discloses its households once."""
    household = world.household
    read_as(world.staff)
    shown = schemas.HouseholdOut(many=True).dump([household])
    assert shown[0]["name"] == household.head_name and shown[0]["phone"] == household.phone
    read_as(world.auditor)
    masked = schemas.HouseholdOut().dump(household)
    assert masked["name"] == "张**" and masked["id_number"] != household.head_id_number
    read_as(None)
    assert schemas.HouseholdBrief().dump(household)["name"] == "张**"
    assert views(db) == [[household.id]]


def test_a_personal_field_dumped_alone_discloses_on_the_spot(db: Any, world: World) -> None:
    """A household brief dumped outside an answer that disclosed it still follows the rule, and
    an unmasked view is still audited."""
    read_as(world.admin)
    assert schemas.HouseholdBrief().dump(world.household)["name"] == world.household.head_name
    assert views(db) == [[world.household.id]]
    read_as(world.donor)
    assert schemas.HouseholdBrief().dump(world.household)["name"] == "张**"
    assert views(db) == [[world.household.id]]


def test_answers_without_households_disclose_nothing(db: Any, world: World, bare_need: Any) -> None:
    read_as(world.staff)
    assert schemas.NeedOut(many=True).dump([bare_need])[0]["household"] is None
    assert schemas.MatchOut(many=True).dump([]) == []
    assert views(db) == []
