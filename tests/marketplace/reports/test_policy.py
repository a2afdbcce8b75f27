"""reports/policy.py: who reads and who freezes a region's monthly report (role x region
scope), and the report page offering the freeze button exactly then, until it is frozen."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from marketplace.accounts.models import Role, User
from marketplace.errors import ServiceError
from marketplace.reports import policy, services
from tests.conftest import BAIYIN, HUINING, JINGYUAN, PASSWORD, World
from tests.pages import forms_of

SEPTEMBER = date(2026, 9, 1)

# (role, the account's region) -> the regions whose report it reads, and freezes.
TABLE = [
    ((Role.ADMIN, JINGYUAN), {JINGYUAN}, {JINGYUAN}),
    ((Role.ADMIN, BAIYIN), {BAIYIN, JINGYUAN, HUINING}, {BAIYIN, JINGYUAN, HUINING}),
    ((Role.SUPERUSER, None), {BAIYIN, JINGYUAN, HUINING}, {BAIYIN, JINGYUAN, HUINING}),
    ((Role.AUDITOR, BAIYIN), {BAIYIN, JINGYUAN, HUINING}, set()),
    ((Role.STAFF, "village"), set(), set()),  # a village of 靖远县: not the county's report
    ((Role.DONOR, None), set(), set()),
]


@pytest.mark.parametrize(("who", "reads", "freezes"), TABLE)
def test_who_reads_and_freezes_which_report(
    db: Any, region: Any, villages: Any, who: tuple[Role, str | None], reads: set[str],
    freezes: set[str],
) -> None:  # fmt: skip
    role, code = who
    scope = [] if code is None else villages(JINGYUAN)[:1] if code == "village" else [region(code)]
    user = User(id=1, role=role, regions=scope)
    for target in (BAIYIN, JINGYUAN, HUINING):
        assert policy.can_read(user, region(target)) is (target in reads), target
        assert policy.can_freeze(user, region(target)) is (target in freezes), target


def _freeze_buttons(app: Any, username: str, month: str) -> int:
    browser = app.test_client()
    browser.post("/login", data={"username": username, "password": PASSWORD})
    html = browser.get(f"/reports/?month={month}").get_data(as_text=True)
    return sum(1 for f in forms_of(html) if f.action.endswith("/reports/freeze"))


def test_the_freeze_button_shows_to_administrators_until_frozen(
    app: Any, db: Any, world: World, region: Any
) -> None:
    assert _freeze_buttons(app, "admin", "2026-09") == 1
    assert _freeze_buttons(app, "auditor", "2026-09") == 0
    services.take_snapshot(world.admin, region(JINGYUAN), SEPTEMBER)
    db.session.commit()
    assert _freeze_buttons(app, "admin", "2026-09") == 0


def test_the_service_refuses_a_freeze_the_policy_refuses(
    db: Any, world: World, region: Any
) -> None:
    for actor, target in ((world.auditor, JINGYUAN), (world.admin, HUINING)):
        with pytest.raises(ServiceError) as refused:
            services.take_snapshot(actor, region(target), SEPTEMBER)
        assert refused.value.status == 403
    services.take_snapshot(None, region(HUINING), SEPTEMBER)  # the command line: any region
