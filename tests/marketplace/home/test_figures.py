"""The home page and the dashboards count "open needs" and "public resources" as donors and
search see them: the same definitions, not a looser copy."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from marketplace.home.services import dashboard_figures, headline_figures
from tests.conftest import World


def test_headline_figures_count_what_donors_can_see(db: Any, world: World) -> None:
    before = headline_figures()
    assert before["open_needs"] == 1 and before["resources"] == 1
    world.need.open_quantity = 0  # verified but nothing left open: not an open need
    world.resource.valid_until = date.today() - timedelta(days=1)  # validity over: not public
    world.resource.valid_from = world.resource.valid_until - timedelta(days=30)
    db.session.commit()
    after = headline_figures()
    assert after["open_needs"] == 0 and after["resources"] == 0
    assert dashboard_figures(world.donor)["open_needs"] == 0
