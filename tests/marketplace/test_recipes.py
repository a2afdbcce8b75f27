"""What the recipes in docs/development.md ask for, checked: a role, a resource kind or a report
figure added half-way fails here and names what is missing."""

from __future__ import annotations

from typing import Any

from flask_babel import force_locale

from marketplace.accounts.forms import UserCreateForm
from marketplace.accounts.policy import SCOPE_LEVELS
from marketplace.reports.exports import COLUMN_LABELS
from marketplace.reports.figures import COUNTS
from marketplace.resources.forms import ResourceForm
from marketplace.resources.models import ResourceKind
from marketplace.roles import Role
from tests.pages import forms_of


def _groups_of(role: Role) -> set[str]:
    groups = ("ADMINS", "EDITORS", "REGION_READERS", "PERSONAL_DATA", "OVERSIGHT", "AUDITORS")
    return {g for g in groups if role in getattr(Role, g)}


def test_every_role_has_a_label_groups_and_a_scope(app: Any) -> None:
    for role in Role:
        assert role.label != role.value, f"{role}: declare its label (roles.py)"
        if role not in (Role.DONOR, Role.SUPERUSER):
            assert _groups_of(role), f"{role}: which named groups does it join? (roles.py)"
            assert role in SCOPE_LEVELS, f"{role}: add it to accounts.policy.SCOPE_LEVELS"
    assert Role.SUPERUSER in Role.ADMINS and Role.DONOR not in Role.REGION_READERS
    with app.test_request_context():
        offered = {c.value for c in UserCreateForm().role.choices}
    assert offered == {r.value for r in SCOPE_LEVELS}


def test_every_resource_kind_is_offered_where_kinds_are_chosen(
    app: Any, client: Any, login: Any, world: Any
) -> None:
    with app.test_request_context():
        posting = {c.value for c in ResourceForm().kind.choices}
    for kind in ResourceKind:
        assert kind.label != kind.value, f"{kind}: declare its label (resources/models.py)"
        assert kind.value in posting, f"{kind}: the posting form does not offer it"
    login(world.donor)
    page = client.get("/resources/new").data.decode()
    kinds = next(f for f in forms_of(page) if "kind" in f.names).field("kind")
    assert {k.value for k in ResourceKind} <= set(kinds.options)
    ignored = "未知的资源类型，已忽略。"  # what search says of a kind it does not know
    assert ignored in client.get("/search?q=x&type=resource&kind=nonsense").data.decode()
    for kind in ResourceKind:
        page = client.get(f"/search?q=x&type=resource&kind={kind.value}").data.decode()
        assert ignored not in page, f"{kind}: the search filter refuses it"


def test_every_report_figure_has_a_label_and_shows_on_the_month_page(
    app: Any, client: Any, login: Any, world: Any
) -> None:
    for name in COUNTS:
        assert name in COLUMN_LABELS, f"{name}: label it in reports.exports.COLUMN_LABELS"
    login(world.admin)
    page = client.get("/reports/").data.decode()
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        missing = [name for name, label in COLUMN_LABELS.items() if str(label) not in page]
    assert missing == [], "the month page (templates/reports/month.html) does not show these"
