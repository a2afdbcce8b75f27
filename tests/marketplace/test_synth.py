"""``marketplace synth`` fills a realistic synthetic province, usable by the engine."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from marketplace.households.models import Household
from marketplace.matches.scoring import suggest_needs
from marketplace.needs.models import Need
from marketplace.resources.models import Resource


def test_synth_command(app: Any, db: Any) -> None:
    result = app.test_cli_runner().invoke(args=["synth", "--households", "60", "--resources", "12"])
    assert result.exit_code == 0, result.output
    assert "households: 60" in result.output
    assert db.session.scalar(sa.select(sa.func.count(Household.id))) == 60
    assert db.session.scalar(sa.select(sa.func.count(Need.id))) == 60
    resources = db.session.scalars(sa.select(Resource)).all()
    assert len(resources) == 12 and all(r.service_area for r in resources)
    for resource in resources:
        for need, scored in suggest_needs(resource, limit=3):
            assert any(need.village.path.startswith(a.path) for a in resource.service_area)
            assert 0 <= scored.score <= 1
    bad = app.test_cli_runner().invoke(args=["synth", "--households", "0"])
    assert bad.exit_code != 0
