"""Needs: posted by staff, reviewed by administrators, browsed by donors (masked)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from marketplace.needs.models import Need, NeedStatus
from marketplace.notifications.models import Notification
from tests.conftest import World

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _form(world: World, **changes: Any) -> dict[str, Any]:
    data = {
        "village": str(world.village.id),
        "household": str(world.household.id),
        "subcategory": "education.grant",
        "title": "孩子上高中需要助学金",
        "description": "家中两个孩子上学",
        "quantity": "1",
        "unit": "人",
        "estimated_value": "2000",
        "urgency": "3",
        "needed_by": (date.today() + timedelta(days=30)).isoformat(),
    }
    data.update(changes)
    return data


def _needs(db: Any) -> int:
    return db.session.scalar(sa.select(sa.func.count(Need.id)))


def test_staff_posts_a_need_and_admins_are_told(
    client: Any, db: Any, login: Any, world: World
) -> None:
    login(world.staff)
    response = client.post("/needs/new", data=_form(world))
    assert response.status_code == 302
    need = db.session.scalar(sa.select(Need).where(Need.title == "孩子上高中需要助学金"))
    assert need.status == NeedStatus.SUBMITTED and need.category == "education"
    told = db.session.scalars(
        sa.select(Notification.user_id).where(Notification.kind == "need_submitted")
    )
    assert world.admin.id in set(told) and world.huining_admin.id not in set(told)


def test_village_need_without_household(client: Any, db: Any, login: Any, world: World) -> None:
    login(world.staff)
    data = _form(world, household="0", subcategory="infrastructure.water", title="修建水窖")
    assert client.post("/needs/new", data=data).status_code == 302
    need = db.session.scalar(sa.select(Need).where(Need.title == "修建水窖"))
    assert need.household_id is None


def test_bad_need_input_changes_nothing(client: Any, db: Any, login: Any, world: World) -> None:
    login(world.staff)
    before = _needs(db)
    for changes in (
        {"quantity": "0"},
        {"quantity": "-3"},
        {"quantity": "1.5"},
        {"urgency": "7"},
        {"subcategory": "nonsense"},
        {"needed_by": (date.today() - timedelta(days=1)).isoformat()},
        {"title": ""},
    ):
        response = client.post("/needs/new", data=_form(world, **changes))
        assert response.status_code == 400, changes
    assert _needs(db) == before


def test_non_image_photo_is_refused(client: Any, db: Any, login: Any, world: World) -> None:
    import io

    login(world.staff)
    data = _form(world)
    data["photo"] = (io.BytesIO(b"<script>alert(1)</script>"), "photo.jpg")
    response = client.post("/needs/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "只能上传 JPEG、PNG 或 WebP 格式的照片" in response.data.decode()
    assert _needs(db) == 1


def test_photo_is_stored_outside_the_web_root(
    app: Any, client: Any, db: Any, login: Any, world: World
) -> None:
    import io
    from pathlib import Path

    from marketplace.attachments.models import Attachment

    login(world.staff)
    data = _form(world)
    data["photo"] = (io.BytesIO(PNG), "../../etc/passwd.png")
    assert (
        client.post("/needs/new", data=data, content_type="multipart/form-data").status_code == 302
    )
    stored = db.session.scalar(sa.select(Attachment))
    assert stored.stored_name.endswith(".png") and "passwd" not in stored.stored_name
    assert Path(app.config["INSTANCE_DIR"], "uploads", stored.stored_name).read_bytes() == PNG
    with client.get(f"/attachments/{stored.id}") as response:
        assert response.data == PNG


def test_oversized_photo_is_refused(
    app: Any, client: Any, db: Any, login: Any, world: World
) -> None:
    import io

    login(world.staff)
    data = _form(world)
    # A small cap keeps the upload in memory (a large body spools to a temporary file).
    saved, app.config["PHOTO_MAX_BYTES"] = app.config["PHOTO_MAX_BYTES"], 1024
    try:
        data["photo"] = (io.BytesIO(PNG + b"\x00" * 2048), "big.png")
        response = client.post("/needs/new", data=data, content_type="multipart/form-data")
    finally:
        app.config["PHOTO_MAX_BYTES"] = saved
    assert response.status_code == 413
    assert "孩子上高中需要助学金" in response.data.decode()  # the form comes back, input kept
    assert _needs(db) == 1


def test_verified_need_cannot_be_edited(client: Any, db: Any, login: Any, world: World) -> None:
    login(world.staff)
    response = client.post(f"/needs/{world.need.id}/edit", data=_form(world, title="改标题"))
    assert response.status_code == 409
    db.session.refresh(world.need)
    assert world.need.title == "需要一台洗衣机"


def test_review_return_edit_resubmit_verify(
    client: Any, app: Any, db: Any, login: Any, world: World
) -> None:
    login(world.staff)
    client.post("/needs/new", data=_form(world))
    need = db.session.scalar(sa.select(Need).where(Need.title == "孩子上高中需要助学金"))
    admin = app.test_client()
    admin.post("/login", data={"username": "admin", "password": "testpass123"})
    assert admin.post(f"/needs/{need.id}/return", data={"reason": ""}).status_code == 400
    assert (
        admin.post(f"/needs/{need.id}/return", data={"reason": "请补充学校证明"}).status_code == 302
    )
    db.session.refresh(need)
    assert need.status == NeedStatus.RETURNED and need.return_reason == "请补充学校证明"
    assert "请补充学校证明" in client.get(f"/needs/{need.id}").data.decode()
    client.post(f"/needs/{need.id}/edit", data=_form(world, description="已补充学校证明"))
    db.session.refresh(need)
    assert need.status == NeedStatus.SUBMITTED
    assert admin.post(f"/needs/{need.id}/verify", data={}).status_code == 302
    db.session.refresh(need)
    assert need.status == NeedStatus.VERIFIED
    assert admin.post(f"/needs/{need.id}/verify", data={}).status_code == 409


def test_staff_of_another_village_cannot_touch_a_need(
    client: Any, db: Any, login: Any, world: World
) -> None:
    world.need.status = NeedStatus.SUBMITTED
    db.session.commit()
    login(world.other_staff)
    assert client.get(f"/needs/{world.need.id}").status_code == 404
    assert client.post(f"/needs/{world.need.id}/withdraw").status_code == 404


def test_donor_browses_masked_needs_in_service_area(
    client: Any, db: Any, login: Any, world: World, make_household: Any, make_need: Any
) -> None:
    far = make_need(world.huining_village, make_household(world.huining_village),
                    title="会宁的需求")  # fmt: skip
    login(world.donor)
    page = client.get("/needs/browse").data.decode()
    assert "需要一台洗衣机" in page and "会宁的需求" not in page
    assert "张**" in page and "张三丰" not in page
    detail = client.get(f"/needs/{world.need.id}").data.decode()
    assert "张三丰" not in detail and world.household.head_id_number not in detail
    assert world.household.phone not in detail
    assert client.get(f"/needs/{far.id}").status_code == 200  # public, masked
    filtered = client.get("/needs/browse?category=education").data.decode()
    assert "需要一台洗衣机" not in filtered
    assert client.get("/needs/browse?urgency=banana&category=nope").status_code == 200
    assert client.get("/needs/browse?category=%00").status_code == 400


def test_pledge_through_the_page(client: Any, db: Any, login: Any, world: World) -> None:
    login(world.donor)
    data = {"resource": str(world.resource.id), "quantity": "1"}
    response = client.post(f"/needs/{world.need.id}/pledge", data=data)
    assert response.status_code == 302
    for bad in ("0", "-1", "2", "abc"):
        refused = client.post(f"/needs/{world.need.id}/pledge", data={**data, "quantity": bad})
        assert refused.status_code in (400, 409), bad


def test_category_is_suggested_while_typing(client: Any, db: Any, login: Any, world: World) -> None:
    login(world.staff)
    found = client.post("/needs/suggest-category", json={"text": "家里需要一台洗衣机"}).get_json()
    assert found["suggestions"][0]["code"] == "necessities.washer"
    assert found["suggestions"][0]["label"] == "洗衣机"
    assert client.post("/needs/suggest-category", data="not json").get_json() == {"suggestions": []}
    # The page loads the script (under its content's name: need-form.<hash>.js).
    assert re.search(
        r'src="/static/js/need-form\.[0-9a-f]+\.js"', client.get("/needs/new").data.decode()
    )
