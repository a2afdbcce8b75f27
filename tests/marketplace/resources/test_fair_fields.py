"""The resource's fairness fields (issue 12) as the donor meets them: the most per household
(goods: 1 unless changed), "needs someone able to work" (jobs and training: ticked) and the
causes and statuses to favour, on the rendered form with their defaults by kind, refused at
their field, kept, shown on the resource page and in the API; and migration 0010's values for
resources that existed before it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from marketplace import create_app
from marketplace.extensions import db as _db
from marketplace.resources.models import Resource
from tests.conftest import JINGYUAN, World, base_config
from tests.marketplace.resources.conftest import (
    NEW,
    assert_kept,
    errors_at,
    form_on,
    posted_id,
    resource_count,
    typing,
)
from tests.marketplace.test_migrations import _postgres_schema

LIMIT_ERROR = "每户最多可得数量必须是大于零的整数；留空表示不限。"


def test_the_form_shows_the_fields_with_the_goods_defaults(
    client: Any, db: Any, login: Any, world: World
) -> None:
    login(world.donor)
    page = client.get(NEW).data.decode()
    form = form_on(page, NEW)
    assert form.field("kind").value == "goods"
    assert form.field("per_household").value == "1"
    assert not form.field("labour_required").checked
    statuses, causes = form.field("priority_statuses"), form.field("priority_causes")
    assert statuses.multiple and causes.multiple and not statuses.selected
    assert "monitored" in statuses.options and "disability" in causes.options
    # Labelled in Chinese, with the help that says what the defaults are, and the priorities
    # told apart from eligibility.
    for words in ("每户最多可得", "物资默认每户 1 个单位", "需要有劳动能力的成员",
                  "就业岗位和技能培训默认勾选", "优先照顾的农户状态", "优先照顾的致贫原因",
                  "这是优先照顾，不是申请条件"):  # fmt: skip
        assert words in page, words


@pytest.mark.parametrize(
    ("kind", "limit", "labour"),
    [("goods", "1", False), ("jobs", "", True), ("training", "", True), ("money", "", False)],
)
def test_defaults_by_kind_as_posted(
    client: Any, db: Any, login: Any, world: World, region: Any, kind: str, limit: str,
    labour: bool,
) -> None:  # fmt: skip
    login(world.donor)
    url = f"{NEW}?kind={kind}"
    form = form_on(client.get(url).data.decode(), url)
    assert form.field("kind").value == kind
    assert form.field("per_household").value == limit
    assert form.field("labour_required").checked is labour
    typed = typing([region(JINGYUAN)], kind=kind, title=f"资源：{kind}")
    typed.pop("per_household", None)
    resource = db.session.get(Resource, posted_id(client.post(NEW, data=form.data(**typed))))
    assert resource.per_household == (int(limit) if limit else None)
    assert resource.labour_required is labour
    assert resource.priority_statuses == [] and resource.priority_causes == []


def test_chosen_values_are_kept_shown_and_given_by_the_api(
    client: Any, db: Any, login: Any, world: World, region: Any
) -> None:
    login(world.donor)
    form = form_on(client.get(NEW).data.decode(), NEW)
    typed = typing(
        [region(JINGYUAN)], per_household="2", labour_required="y",
        priority_statuses=["monitored"], priority_causes=["illness", "disability"],
    )  # fmt: skip
    resource = db.session.get(Resource, posted_id(client.post(NEW, data=form.data(**typed))))
    assert (resource.per_household, resource.labour_required) == (2, True)
    assert resource.priority_statuses == ["monitored"]
    assert resource.priority_causes == ["illness", "disability"]
    detail = client.get(f"/resources/{resource.id}").data.decode()
    assert "每户最多可得" in detail and "2 台" in detail
    assert "只面向有劳动能力成员的农户" in detail
    assert "优先照顾（不是申请条件）" in detail and "监测户" in detail and "因病" in detail
    out = client.get(f"/api/v1/resources/{resource.id}").get_json()
    assert (out["per_household"], out["labour_required"]) == (2, True)
    assert out["priority_statuses"] == ["monitored"]
    assert out["priority_causes"] == ["illness", "disability"]
    # The edit form shows what was stored; emptying the limit means no limit.
    edit = f"/resources/{resource.id}/edit"
    again = form_on(client.get(edit).data.decode(), edit)
    assert again.field("per_household").value == "2" and again.field("labour_required").checked
    assert again.field("priority_causes").selected == ["illness", "disability"]
    sent = again.data(per_household="")
    for unticked in ("labour_required", "priority_statuses", "priority_causes"):
        sent.pop(unticked, None)  # as the browser sends a control left empty: not at all
    assert client.post(edit, data=sent).status_code == 302
    db.session.expire_all()
    resource = db.session.get(Resource, resource.id)
    assert (resource.per_household, resource.labour_required) == (None, False)
    detail = client.get(f"/resources/{resource.id}").data.decode()
    assert "每户不限" in detail and "不要求" in detail and "无优先照顾对象" in detail


@pytest.mark.parametrize(
    ("value", "message"),
    [("0", LIMIT_ERROR), ("-2", LIMIT_ERROR), ("100000001", LIMIT_ERROR),
     ("1.5", "不是有效的整数。"), ("一", "不是有效的整数。")],
)  # fmt: skip
def test_a_bad_limit_is_refused_at_its_field(
    client: Any, db: Any, login: Any, world: World, region: Any, value: str, message: str
) -> None:
    login(world.donor)
    form = form_on(client.get(NEW).data.decode(), NEW)
    before = resource_count(db)
    sent = form.data(**typing([region(JINGYUAN)], per_household=value))
    response = client.post(NEW, data=sent)
    assert response.status_code == 400
    page = response.data.decode()
    assert errors_at(page, "per_household") == [message]
    assert_kept(page, NEW, sent, except_=("per_household",))
    assert resource_count(db) == before


def test_a_bad_priority_is_refused_at_its_field(
    client: Any, db: Any, login: Any, world: World, region: Any
) -> None:
    login(world.donor)
    form = form_on(client.get(NEW).data.decode(), NEW)
    before = resource_count(db)
    response = client.post(
        NEW, data=form.data(**typing([region(JINGYUAN)], priority_causes=["bribes"]))
    )
    assert response.status_code == 400
    assert errors_at(response.data.decode(), "priority_causes") == ["不是有效的选择。"]
    assert resource_count(db) == before


# --- migration 0010 on resources that existed before it -----------------------------------


def _engine_options(url: str) -> Iterator[dict[str, Any] | None]:
    if url.startswith("postgresql"):
        with _postgres_schema(url) as options:
            yield options
    else:
        yield None


def _existing_rows_get_their_kinds_defaults(url: str) -> None:
    config = base_config(url)
    for options in _engine_options(url):
        if options:
            config["SQLALCHEMY_ENGINE_OPTIONS"] = options
        app = create_app(config)
        with app.app_context():
            upgrade(revision="0009")
            now, today = "2026-12-01 00:00:00+00:00", date.today()
            with _db.engine.begin() as conn:
                conn.execute(sa.text(
                    "INSERT INTO organization (id, name, kind, contact_name, contact_phone, "
                    "description, status, status_reason, created_at, updated_at) VALUES "
                    "(1, '测试企业', 'enterprise', '', '', '', 'verified', '', :now, :now)"
                ), {"now": now})  # fmt: skip
                for n, kind in enumerate(["goods", "money", "jobs", "training", "service"], 1):
                    conn.execute(sa.text(
                        "INSERT INTO resource (id, organization_id, kind, title, description, "
                        "categories, unit, unit_value, eligible_statuses, eligible_causes, "
                        "valid_from, valid_until, status, created_at, updated_at) VALUES "
                        "(:id, 1, :kind, :kind, '', '[]', '台', 0, '[]', '[]', :start, :end, "
                        "'active', :now, :now)"
                    ), {"id": n, "kind": kind, "now": now, "start": today,
                        "end": today + timedelta(days=30)})  # fmt: skip
            upgrade()
            with _db.engine.connect() as conn:
                rows = conn.execute(sa.text(
                    "SELECT kind, per_household, labour_required, priority_causes, "
                    "priority_statuses FROM resource ORDER BY id"
                )).all()  # fmt: skip
            _db.engine.dispose()
        got = {kind: (limit, bool(labour)) for kind, limit, labour, *_ in rows}
        assert got == {
            "goods": (1, False), "money": (None, False), "jobs": (None, True),
            "training": (None, True), "service": (None, False),
        }  # fmt: skip
        for *_, causes, statuses in rows:
            assert causes in ([], "[]") and statuses in ([], "[]")


def test_migration_gives_existing_resources_their_kinds_defaults_sqlite(tmp_path: Any) -> None:
    _existing_rows_get_their_kinds_defaults(f"sqlite:///{tmp_path / 'before.db'}")


@pytest.mark.postgres
def test_migration_gives_existing_resources_their_kinds_defaults_postgres(pg_url: str) -> None:
    _existing_rows_get_their_kinds_defaults(pg_url)


def test_the_kind_defaults_script_is_same_origin(client: Any, login: Any, world: World) -> None:
    """The page's CSP allows no inline script: the defaults travel as JSON data and the code
    that applies them is a static file."""
    login(world.donor)
    page = client.get("/resources/new").data.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, flags=re.S)
    inline = [attrs for attrs, body in scripts if body.strip() and "application/json" not in attrs]
    assert inline == []
    assert re.search(r'/static/js/resource-form\.[0-9a-f]{10}\.js"', page)  # with its hash
    served = client.get("/static/js/resource-form.js")
    assert served.status_code == 200 and b"kind-defaults" in served.data
    served.close()
