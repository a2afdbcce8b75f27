"""Pausing, resuming and closing a resource through the buttons of its page; moves the state does
not allow are refused with 409 and change nothing. (A colleague of the poster: test_editing;
everyone else: test_visibility.)"""

from __future__ import annotations

from typing import Any

from marketplace.resources.models import ResourceStatus
from tests.conftest import World
from tests.marketplace.resources.conftest import audited
from tests.pages import find_form, forms_of, submit_on

CONFLICT = "该操作与记录的当前状态冲突。"


def buttons(page: str) -> dict[str, str]:
    """The status buttons of a resource page: label -> where the form posts."""
    found = {}
    for form in forms_of(page):
        for action in ("/pause", "/activate", "/close"):
            if form.method == "post" and form.action.endswith(action):
                found[form.button().text] = form.action
    return found


def test_pause_resume_and_close_through_the_buttons(
    app: Any, client: Any, db: Any, login: Any, world: World
) -> None:
    resource = world.resource
    url = f"/resources/{resource.id}"
    login(world.donor)
    page = client.get(url).data.decode()
    assert buttons(page) == {"暂停": f"{url}/pause", "关闭": f"{url}/close"}
    assert f"{url}/edit" in page
    response = submit_on(client, page, action=f"{url}/pause", page=url)
    assert response.status_code == 302 and response.headers["Location"] == url
    db.session.refresh(resource)
    assert resource.status == ResourceStatus.PAUSED
    page = client.get(url).data.decode()
    assert "已保存。" in page and "未公开" in page
    assert buttons(page) == {"恢复": f"{url}/activate", "关闭": f"{url}/close"}
    assert f"{url}/edit" in page  # a paused resource may still be corrected
    assert app.test_client().get(url).status_code == 404  # no longer public
    submit_on(client, page, action=f"{url}/activate", page=url)
    db.session.refresh(resource)
    assert resource.status == ResourceStatus.ACTIVE
    assert app.test_client().get(url).status_code == 200
    page = client.get(url).data.decode()
    close = find_form(page, f"{url}/close")
    assert close.button("关闭").attrs.get("data-confirm")  # the page asks before closing
    submit_on(client, page, action=f"{url}/close", page=url)
    db.session.refresh(resource)
    assert resource.status == ResourceStatus.CLOSED
    page = client.get(url).data.decode()
    assert buttons(page) == {} and f"{url}/edit" not in page
    moves = [(e.before, e.after) for e in audited(db, "resource_status", resource)]
    assert moves == [
        ({"status": "active"}, {"status": "paused"}),
        ({"status": "paused"}, {"status": "active"}),
        ({"status": "active"}, {"status": "closed"}),
    ]


def test_moves_the_state_does_not_allow_are_refused(
    client: Any, db: Any, login: Any, world: World
) -> None:
    resource = world.resource
    url = f"/resources/{resource.id}"
    login(world.donor)
    refused = {
        ResourceStatus.ACTIVE: ["activate"],
        ResourceStatus.PAUSED: ["pause"],
        ResourceStatus.CLOSED: ["pause", "activate", "close"],
        ResourceStatus.EXPIRED: ["pause", "activate", "close"],
    }
    for status, actions in refused.items():
        resource.status = status
        db.session.commit()
        for action in actions:
            response = client.post(f"{url}/{action}")
            assert response.status_code == 409, (status, action)
            assert CONFLICT in response.data.decode(), (status, action)
            db.session.refresh(resource)
            assert resource.status == status, (status, action)
    assert audited(db, "resource_status", resource) == []
    assert client.post(f"{url}/reopen").status_code == 404  # no such action
