"""精准识别, the seven steps as a workflow on the household: the village's staff propose it with
the village assessment, an administrator of its township reviews it, one of its county confirms
it; a level sends it back with a reason; every step audited; only confirmed households' needs
are verified. Every move goes through ``services.identify`` (the one transition function)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role, User
from marketplace.audit.models import AuditEvent
from marketplace.errors import ServiceError
from marketplace.extensions import db as _db
from marketplace.households import policy, services
from marketplace.households.models import Household
from marketplace.households.models import IdentificationStatus as S
from marketplace.needs import services as needs
from marketplace.needs.models import NeedStatus
from marketplace.timefmt import beijing_today
from tests.conftest import BAIYIN, World
from tests.pages import find_form, submit, submit_on
from tests.races import from_the_same_read


@pytest.fixture
def levels(world: World, make_user: Any, region: Any) -> dict[str, User]:
    """Who acts at each level for the world's household: its village's staff, an
    administrator of its township, of its county (the world's), of the city; and an
    administrator of another township of the same county."""
    township = world.village.parent
    other_township = next(t for t in township.parent.children if t.id != township.id and t.children)
    return {
        "staff": world.staff,
        "township": make_user(Role.ADMIN, [township], username="township"),
        "other_township": make_user(Role.ADMIN, [other_township], username="othertownship"),
        "county": world.admin,
        "city": make_user(Role.ADMIN, [region(BAIYIN)], username="city"),
    }


@pytest.fixture
def declared(make_household: Any, world: World) -> Household:
    return make_household(world.village, identification=S.DECLARED, head_name="王五")


def propose(actor: User, household: Household) -> None:
    services.identify(actor, household, "propose", assessed_on=date(2026, 3, 12),
                      assessment="村民代表大会评议通过，评分78分")  # fmt: skip


def page(household: Household) -> str:
    return f"/households/{household.id}"


def events(db: Any, household: Household) -> list[AuditEvent]:
    db.session.commit()
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(
                AuditEvent.object_id == household.id,
                AuditEvent.action.startswith("identification_"),
            )
            .order_by(AuditEvent.id)
        )
    )


def test_a_household_registered_by_hand_starts_declared(
    client: Any, db: Any, login: Any, world: World
) -> None:
    from tests.marketplace.households.test_register import _form

    login(world.staff)
    assert client.post("/households/new", data=_form(world.village.id)).status_code == 302
    created = db.session.scalar(sa.select(Household).where(Household.head_name == "李四海"))
    assert created.identification == S.DECLARED


def test_the_seven_steps_through_the_pages(
    client: Any, db: Any, login: Any, world: World, levels: dict[str, User], declared: Household
) -> None:
    """Each level presses the button its page offers, as the page posts it."""
    login(levels["staff"])
    html = client.get(page(declared)).data.decode()
    assert "已申报，待村评定" in html and "录入村评定结果并上报" in html
    proposing = f"/households/{declared.id}/propose"
    # The assessment's date and result are required, and not a day in the future.
    tomorrow = (beijing_today() + timedelta(days=1)).isoformat()
    refused = submit(client, proposing, {"assessed_on": tomorrow, "assessment": "评议通过"})
    assert refused.status_code == 400 and "日期不能晚于今天" in refused.data.decode()
    assert find_form(refused.data.decode()).field("assessment").value == "评议通过"
    assert (
        submit(client, proposing, {"assessed_on": "2026-03-12", "assessment": ""}).status_code
        == 400
    )
    done = submit(client, proposing, {"assessed_on": "2026-03-12",
                                      "assessment": "村民代表大会评议通过，评分78分"})  # fmt: skip
    assert done.status_code == 302
    db.session.refresh(declared)
    assert declared.identification == S.PROPOSED
    assert declared.village_assessed_on == date(2026, 3, 12)
    assert declared.village_assessment == "村民代表大会评议通过，评分78分"
    # Staff see no buttons of the levels above.
    html = client.get(page(declared)).data.decode()
    assert "/identification/" not in html and "村已评定，待乡镇审核" in html

    client.post("/logout")
    login(levels["county"])
    html = client.get(page(declared)).data.decode()
    assert "/identification/review" not in html and "/identification/confirm" not in html
    client.post("/logout")
    login(levels["township"])
    html = client.get(page(declared)).data.decode()
    review = f"/households/{declared.id}/identification/review"
    assert "/identification/confirm" not in html
    assert submit_on(client, html, action=review, page=page(declared)).status_code == 302
    db.session.refresh(declared)
    assert declared.identification == S.REVIEWED
    assert declared.identification_reviewed_by_id == levels["township"].id

    client.post("/logout")
    login(levels["county"])
    html = client.get(page(declared)).data.decode()
    confirm = f"/households/{declared.id}/identification/confirm"
    assert submit_on(client, html, action=confirm, page=page(declared)).status_code == 302
    db.session.refresh(declared)
    assert declared.identification == S.CONFIRMED
    assert declared.identification_confirmed_by_id == levels["county"].id
    html = client.get(page(declared)).data.decode()
    assert "县已确认" in html and "村评定" in html and "2026-03-12" in html

    trail = events(db, declared)
    assert [(e.action, e.before, e.actor_id) for e in trail] == [
        ("identification_proposed", {"identification": "declared"}, levels["staff"].id),
        ("identification_reviewed", {"identification": "proposed"}, levels["township"].id),
        ("identification_confirmed", {"identification": "reviewed"}, levels["county"].id),
    ]
    assert trail[0].after == {"identification": "proposed", "assessed_on": "2026-03-12"}
    assert "王五" not in str([e.after for e in trail])


def _at(household: Household, state: S, levels: dict[str, User]) -> None:
    """Bring a declared household to ``state`` through the workflow."""
    paths = {
        S.DECLARED: [],
        S.PROPOSED: ["propose"],
        S.REVIEWED: ["propose", "review"],
        S.CONFIRMED: ["propose", "review", "confirm"],
        S.RETURNED: ["propose", "send_back"],
    }
    for step in paths[state]:
        if step == "propose":
            propose(levels["staff"], household)
        else:
            actor = levels["county" if step == "confirm" else "township"]
            services.identify(actor, household, step, reason="材料不全")


# Who takes each step from each state, and the state it leads to (None: refused with 409).
ACTOR = {"propose": "staff", "review": "township", "confirm": "county"}
LEGAL = {
    (S.DECLARED, "propose"): S.PROPOSED,
    (S.RETURNED, "propose"): S.PROPOSED,
    (S.PROPOSED, "review"): S.REVIEWED,
    (S.PROPOSED, "send_back"): S.RETURNED,
    (S.REVIEWED, "confirm"): S.CONFIRMED,
    (S.REVIEWED, "send_back"): S.RETURNED,
    (S.CONFIRMED, "send_back"): S.RETURNED,
}
SEND_BACK_BY = {S.PROPOSED: "township", S.REVIEWED: "county", S.CONFIRMED: "city"}


@pytest.mark.parametrize(
    ("state", "step"),
    list(itertools.product(list(S), ["propose", "review", "confirm", "send_back"])),
)
def test_every_step_from_every_state(
    db: Any, world: World, levels: dict[str, User], declared: Household, state: S, step: str
) -> None:
    """The table of moves, each tried by someone entitled to the step: a legal one goes
    through (and is audited), any other is refused with 409 and changes nothing."""
    _at(declared, state, levels)
    db.session.commit()
    actor = levels[ACTOR.get(step) or SEND_BACK_BY.get(state, "county")]
    expected = LEGAL.get((state, step))
    before = len(events(db, declared))
    if expected is None:
        with pytest.raises(ServiceError) as refused:
            _take(actor, declared, step)
        assert refused.value.status == 409
        db.session.rollback()
        db.session.refresh(declared)
        assert declared.identification == state
        assert len(events(db, declared)) == before
        assert not policy.IDENTIFICATION.allows(declared, services.STEPS[step])
    else:
        _take(actor, declared, step)
        assert declared.identification == expected
        trail = events(db, declared)
        assert len(trail) == before + 1 and trail[-1].before == {"identification": state.value}


def _take(actor: User, household: Household, step: str) -> None:
    if step == "propose":
        propose(actor, household)
    else:
        services.identify(actor, household, step, reason="入户核查发现收入超标")


@pytest.mark.parametrize(
    ("state", "step", "who"),
    [
        (S.PROPOSED, "review", "county"),  # the county does not stand in for the township
        (S.PROPOSED, "review", "other_township"),
        (S.PROPOSED, "review", "staff"),
        (S.PROPOSED, "review", "city"),
        (S.REVIEWED, "confirm", "township"),
        (S.REVIEWED, "confirm", "city"),
        (S.DECLARED, "propose", "township"),
        (S.PROPOSED, "send_back", "county"),  # the township reviews it now
        (S.REVIEWED, "send_back", "township"),
        (S.CONFIRMED, "send_back", "township"),
        (S.CONFIRMED, "send_back", "staff"),
    ],
)
def test_each_step_belongs_to_its_level(
    db: Any, levels: dict[str, User], declared: Household, state: S, step: str, who: str
) -> None:
    _at(declared, state, levels)
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        _take(levels[who], declared, step)
    assert refused.value.status == 403
    db.session.rollback()
    db.session.refresh(declared)
    assert declared.identification == state
    may = policy.actions(levels[who], declared)
    assert not any(may[k] for k in ("propose", "review_identification",
                                    "confirm_identification", "send_back"))  # fmt: skip


def test_the_county_confirms_and_the_city_spot_checks(
    db: Any, levels: dict[str, User], declared: Household
) -> None:
    """Both may send a confirmed household back (市抽查 finds it wrongly identified)."""
    _at(declared, S.CONFIRMED, levels)
    for who in ("county", "city"):
        assert policy.can_send_back(levels[who], declared)
        services.identify(levels[who], declared, "send_back", reason="抽查发现家庭有营业房")
        assert declared.identification == S.RETURNED
        propose(levels["staff"], declared)
        services.identify(levels["township"], declared, "review")
        services.identify(levels["county"], declared, "confirm")


def test_who_reviewed_does_not_confirm(
    db: Any, world: World, make_user: Any, declared: Household, levels: dict[str, User]
) -> None:
    both = make_user(Role.ADMIN, [world.village.parent, world.village.parent.parent])
    propose(levels["staff"], declared)
    services.identify(both, declared, "review")
    assert not policy.can_confirm_identification(both, declared)
    with pytest.raises(ServiceError) as refused:
        services.identify(both, declared, "confirm")
    assert refused.value.status == 403 and declared.identification == S.REVIEWED
    services.identify(levels["county"], declared, "confirm")
    assert declared.identification == S.CONFIRMED


def test_sending_back_needs_a_reason_and_shows_it(
    client: Any, db: Any, login: Any, levels: dict[str, User], declared: Household
) -> None:
    propose(levels["staff"], declared)
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        services.identify(levels["township"], declared, "send_back", reason="  ")
    assert refused.value.status == 400
    db.session.rollback()
    login(levels["township"])
    html = client.get(page(declared)).data.decode()
    back = f"/households/{declared.id}/identification/send_back"
    # The box is required in the browser; posted empty anyway, the answer is a Chinese 400.
    empty = submit_on(client, html, {"reason": ""}, action=back, page=page(declared))
    assert empty.status_code == 400 and "退回农户时请填写原因" in empty.data.decode()
    db.session.refresh(declared)
    assert declared.identification == S.PROPOSED
    done = submit_on(client, html, {"reason": "家庭人口与户口本不符"}, action=back,
                     page=page(declared))  # fmt: skip
    assert done.status_code == 302
    db.session.refresh(declared)
    assert declared.identification == S.RETURNED
    assert declared.identification_reason == "家庭人口与户口本不符"
    assert events(db, declared)[-1].after == {"identification": "returned",
                                              "reason": "家庭人口与户口本不符"}  # fmt: skip
    client.post("/logout")
    login(levels["staff"])
    html = client.get(page(declared)).data.decode()
    assert "退回原因" in html and "家庭人口与户口本不符" in html
    # Corrected and proposed again: the reason goes.
    propose(levels["staff"], declared)
    assert declared.identification == S.PROPOSED and declared.identification_reason == ""


def test_a_raced_step_is_refused_with_409(
    app: Any, db: Any, levels: dict[str, User], declared: Household, make_user: Any
) -> None:
    """Two administrators of the township act on the same reading: the first reviews, the
    second's send-back finds the household moved on."""
    colleague = make_user(Role.ADMIN, [declared.village.parent], username="colleague")
    propose(levels["staff"], declared)
    db.session.commit()
    ids = (levels["township"].id, colleague.id, declared.id)

    def read_as(n: int) -> Any:
        return lambda: (_db.session.get(User, ids[n]), _db.session.get(Household, ids[2]))

    first, second = from_the_same_read(
        app,
        (read_as(0), lambda loaded: services.identify(*loaded, "review")),
        (read_as(1), lambda loaded: services.identify(*loaded, "send_back", reason="不符")),
    )
    assert first is None
    assert second is not None and second.status == 409
    assert second.message == policy.IDENTIFICATION.raced
    db.session.refresh(declared)
    assert declared.identification == S.REVIEWED and declared.identification_reason == ""


def test_only_confirmed_households_needs_are_verified(
    client: Any, db: Any, login: Any, world: World, levels: dict[str, User],
    declared: Household, make_need: Any,
) -> None:  # fmt: skip
    need = make_need(world.village, declared, status=NeedStatus.SUBMITTED, title="需要一头牛")
    village_need = make_need(world.village, status=NeedStatus.SUBMITTED, title="村道硬化")
    login(levels["county"])
    html = client.get(f"/needs/{need.id}").data.decode()
    assert f"/needs/{need.id}/verify" not in html  # no button while the household is not confirmed
    # The review queue lists it, without Verify (the rule the service applies) and says why;
    # it can still be returned. Both needs show their urgency in words.
    queue = client.get("/needs/review").data.decode()
    verify = f"/needs/{need.id}/verify"
    assert verify not in queue and f"/needs/{village_need.id}/verify" in queue
    card = queue.split(f'href="/needs/{need.id}"', 1)[1].split('class="card mb-2"', 1)[0]
    assert "户未经县级确认" in card and f"/households/{declared.id}#identification" in card
    assert f"/needs/{need.id}/return" in card and "紧急程度：" in card
    # Posted anyway (the form's token, another address): a clear Chinese 409.
    sent = find_form(queue, action=f"/needs/{need.id}/return", page="/needs/review").data()
    sent.pop("reason", None)
    refused = client.post(verify, data=sent)
    assert refused.status_code == 409
    assert "该户的精准识别尚未经县级确认" in refused.data.decode()
    db.session.refresh(need)
    assert need.status == NeedStatus.SUBMITTED
    # A village-wide need is not held back.
    html = client.get(f"/needs/{village_need.id}").data.decode()
    assert f"/needs/{village_need.id}/verify" in html
    # Once the county has confirmed the household, its need is verified.
    _at(declared, S.CONFIRMED, levels)
    db.session.commit()
    html = client.get(f"/needs/{need.id}").data.decode()
    assert submit_on(client, html, action=verify, page=f"/needs/{need.id}").status_code == 302
    db.session.refresh(need)
    assert need.status == NeedStatus.VERIFIED
    # Sent back by the city's spot check: its other needs wait again.
    services.identify(levels["city"], declared, "send_back", reason="抽查不符")
    other = make_need(world.village, declared, status=NeedStatus.SUBMITTED, title="需要饲料")
    with pytest.raises(ServiceError) as gate:
        needs.verify_need(levels["county"], other)
    assert gate.value.status == 409 and gate.value.message == needs.NOT_IDENTIFIED


def test_each_level_finds_what_waits_for_it(
    client: Any, db: Any, login: Any, levels: dict[str, User], declared: Household,
    make_household: Any, world: World,
) -> None:  # fmt: skip
    """/households/identification lists the households waiting for the reader's step."""
    proposed = make_household(world.village, identification=S.DECLARED, head_name="赵六")
    reviewed = make_household(world.village, identification=S.DECLARED, head_name="钱七")
    _at(proposed, S.PROPOSED, levels)
    _at(reviewed, S.REVIEWED, levels)
    db.session.commit()
    waiting = {
        "staff": {declared.register_number},
        "township": {proposed.register_number},
        "other_township": set(),
        "county": {reviewed.register_number},
        "city": set(),
    }
    numbers = {h.register_number for h in (declared, proposed, reviewed, world.household)}
    for who, expected in waiting.items():
        client.post("/logout")
        login(levels[who])
        html = client.get("/households/identification").data.decode()
        assert {n for n in numbers if n in html} == expected, who
    client.post("/logout")
    login(world.auditor)
    assert client.get("/households/identification").status_code == 403


def _told(db: Any, kind: str) -> dict[int, list[Any]]:
    from marketplace.notifications.models import Notification

    db.session.flush()
    found: dict[int, list[Any]] = {}
    for n in db.session.scalars(sa.select(Notification).where(Notification.kind == kind)):
        found.setdefault(n.user_id, []).append(n)
    return found


def test_each_step_tells_whose_turn_it_is(
    client: Any, db: Any, login: Any, world: World, levels: dict[str, User],
    declared: Household, make_user: Any,
) -> None:  # fmt: skip
    """Proposed: the township's administrators are told; reviewed: the county's; sent back:
    the staff who proposed it, with the reason. A step taken marks the handover it answers as
    read; no name or ID card number goes into a notification."""
    colleague = make_user(Role.STAFF, [world.village], username="colleague")
    propose(levels["staff"], declared)
    told = _told(db, "identification_proposed")
    assert set(told) == {levels["township"].id}  # not the county, the city, another township
    note = told[levels["township"].id][0]
    assert note.link == f"/households/{declared.id}#identification"
    assert note.params == {"number": declared.register_number,
                           "village": declared.village.full_name}  # fmt: skip
    db.session.commit()
    login(levels["township"])
    inbox = client.get("/notifications/").data.decode()
    assert f"农户{declared.register_number}" in inbox and "请审核" in inbox
    assert declared.head_name not in inbox

    services.identify(levels["township"], declared, "review")
    told = _told(db, "identification_reviewed")
    assert set(told) == {levels["county"].id}
    db.session.refresh(note)
    assert note.read_at is not None  # the township's task is done

    services.identify(levels["county"], declared, "send_back", reason="家庭人口与户口本不符")
    told = _told(db, "identification_returned")
    assert set(told) == {levels["staff"].id}  # who proposed it, not their colleague
    assert colleague.id not in told
    assert told[levels["staff"].id][0].params["reason"] == "家庭人口与户口本不符"
    db.session.commit()
    client.post("/logout")
    login(levels["staff"])
    inbox = client.get("/notifications/").data.decode()
    assert "退回" in inbox and "家庭人口与户口本不符" in inbox
    reviewed = _told(db, "identification_reviewed")[levels["county"].id][0]
    db.session.refresh(reviewed)
    assert reviewed.read_at is not None  # the county's task is gone with the household


def test_a_household_no_one_proposed_goes_back_to_its_village_staff(
    db: Any, world: World, levels: dict[str, User], make_household: Any, make_user: Any
) -> None:
    """Carried over confirmed (the migration, the demo's before the trail): the city's spot
    check sends it back to the village's staff, every one of them."""
    colleague = make_user(Role.STAFF, [world.village], username="colleague")
    household = make_household(world.village, identification=S.CONFIRMED, head_name="孙八")
    services.identify(levels["city"], household, "send_back", reason="抽查不符")
    told = _told(db, "identification_returned")
    assert set(told) == {world.staff.id, colleague.id}
    assert told[world.staff.id][0].params["reason"] == "抽查不符"
