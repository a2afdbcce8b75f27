"""The index follows every change (create, verify, edit, withdraw, delete, organization
status) through the outbox, and a crash between commit and indexing loses nothing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from marketplace.needs.models import Need
from marketplace.search import services
from marketplace.search.backend import SearchQuery
from marketplace.search.models import SearchOutbox
from tests.conftest import World


def test_outbox_follows_create_verify_edit_withdraw_delete(
    app: Any, client: Any, db: Any, login: Any, world: World
) -> None:
    services.rebuild()
    assert services.search(SearchQuery(text="洗衣机")).total == 1  # the world's need
    login(world.staff)
    client.post("/needs/new", data={
        "village": str(world.village.id), "household": "0", "subcategory": "infrastructure.water",
        "title": "修建人畜饮水水窖", "description": "", "quantity": "2", "unit": "座",
        "estimated_value": "10000", "urgency": "2",
    })  # fmt: skip
    assert services.search(SearchQuery(text="水窖")).total == 0  # not verified yet
    need = db.session.scalar(sa.select(Need).where(Need.title == "修建人畜饮水水窖"))
    admin = app.test_client()
    admin.post("/login", data={"username": "admin", "password": "testpass123"})
    admin.post(f"/needs/{need.id}/verify", data={})
    assert [h.id for h in services.search(SearchQuery(text="水窖")).hits] == [need.id]
    client.post(f"/needs/{need.id}/withdraw")
    assert services.search(SearchQuery(text="水窖")).total == 0
    # A change committed without a sync (a crash, a script): the outbox keeps it.
    world.need.title = "需要一台冰箱"
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(SearchOutbox.id))) > 0
    assert services.search(SearchQuery(text="冰箱")).total == 0
    result = app.test_cli_runner().invoke(args=["search", "sync"])
    assert result.exit_code == 0
    assert services.search(SearchQuery(text="冰箱")).total == 1
    again = app.test_cli_runner().invoke(args=["search", "sync"])
    assert "0 documents" in again.output
    db.session.delete(world.need)
    db.session.commit()
    services.sync()
    assert services.search(SearchQuery(text="冰箱")).total == 0


def test_unverifying_an_organization_removes_its_resources(db: Any, world: World) -> None:
    from marketplace.accounts.models import VerificationStatus

    services.rebuild()
    assert services.search(SearchQuery(text="洗衣机", type="resource")).total == 1
    world.org.status = VerificationStatus.REJECTED
    db.session.commit()
    services.sync()
    assert services.search(SearchQuery(text="洗衣机", type="resource")).total == 0
