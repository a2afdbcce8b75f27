"""The roster of a household (家庭成员) on its page: added, edited and removed by the village's
staff through forms posted as the page renders them; sex and birth date read from the ID card
number; bad input refused at its field with the input kept; names, ID numbers, birth dates and
health masked for readers without the right and audited for those with it."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.demo import id_number
from marketplace.households import services
from marketplace.households.models import (
    HouseholdMember,
    MemberHealth,
    MemberLabour,
    MemberRelation,
    SchoolStage,
    Sex,
)
from marketplace.privacy import mask_id_number, mask_name
from tests.conftest import World
from tests.pages import find_form, forms_of, submit, submit_on

# A daughter born 12 May 2008: the 17th digit (2) is even, so the card says female.
DAUGHTER = id_number("620421000000", date(2008, 5, 12), 2)
SON = id_number("620421000000", date(1995, 3, 1), 13)


def page(household: Any) -> str:
    return f"/households/{household.id}"


def add_page(household: Any) -> str:
    return f"/households/{household.id}/members/new"


def person(**changes: Any) -> dict[str, Any]:
    """What staff type for the daughter, by the form's field names."""
    typed = {
        "relation": "daughter",
        "name": "张小花",
        "id_number": DAUGHTER,
        "labour": "none",
        "health": "healthy",
        "disability_grade": "",
        "schooling": "senior",
        "in_school": "y",
        "skills": "",
    }
    typed.update(changes)
    return typed


def roster(db: Any, household: Any) -> list[HouseholdMember]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(HouseholdMember)
            .where(HouseholdMember.household_id == household.id)
            .order_by(HouseholdMember.id)
        )
    )


def add_head(client: Any, world: World, **typed: Any) -> Any:
    """The add form as it first opens: the head, with the household's name and number."""
    defaults = {"labour": "strong", "health": "healthy", "schooling": "junior"}
    return submit(client, add_page(world.household), {**defaults, **typed})


def test_the_head_first_then_a_daughter(client: Any, db: Any, login: Any, world: World) -> None:
    login(world.staff)
    html = client.get(page(world.household)).data.decode()
    assert "名册中还没有成员" in html and add_page(world.household) in html
    form = find_form(client.get(add_page(world.household)).data.decode())
    # The head comes first, with the household's own name and ID card number.
    assert form.field("relation").value == "head"
    assert form.field("name").value == world.household.head_name
    assert form.field("id_number").value == world.household.head_id_number
    assert add_head(client, world).status_code == 302

    response = submit(client, add_page(world.household), person())
    assert response.status_code == 302
    head, daughter = roster(db, world.household)
    assert head.relation == MemberRelation.HEAD and head.name == world.household.head_name
    assert head.birth_date == date(1970, int(head.id_number[10:12]), int(head.id_number[12:14]))
    assert daughter.relation == MemberRelation.DAUGHTER and daughter.id_number == DAUGHTER
    assert daughter.sex == Sex.FEMALE and daughter.birth_date == date(2008, 5, 12)
    assert daughter.labour == MemberLabour.NONE and daughter.schooling == SchoolStage.SENIOR
    assert daughter.in_school and not daughter.working_away
    assert head.sex == (Sex.MALE if int(head.id_number[16]) % 2 else Sex.FEMALE)
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "member_added").order_by(AuditEvent.id)
    ).all()
    assert [e.after for e in events] == [
        {"member": head.id, "relation": "head"},
        {"member": daughter.id, "relation": "daughter"},
    ]
    assert all(e.object_type == "household" and e.object_id == world.household.id for e in events)

    html = client.get(page(world.household)).data.decode()
    assert "张小花" in html and DAUGHTER in html and "之女" in html and "高中" in html
    assert "名册已录 2 / 3 人" in html


@pytest.mark.parametrize(
    ("typed", "field", "message"),
    [
        ({"id_number": DAUGHTER[:-1] + ("0" if DAUGHTER[-1] != "0" else "1")}, "id_number",
         "身份证号码无效"),
        ({"id_number": "12345"}, "id_number", "身份证号码应为17位数字"),
        ({"health": "disabled"}, "disability_grade", "请选择残疾等级"),
        ({"disability_grade": "2"}, "disability_grade", "只有残疾才有等级"),
        ({"schooling": "illiterate"}, "in_school", "请选择在校生就读的学段"),
        ({"name": ""}, "name", "此项为必填项"),
        ({"relation": "head"}, "id_number", "户主的姓名和身份证号以本户登记为准"),
    ],
)  # fmt: skip
def test_bad_member_input_is_refused_at_its_field_and_kept(
    client: Any, db: Any, login: Any, world: World, typed: dict[str, Any], field: str, message: str
) -> None:
    login(world.staff)
    response = submit(client, add_page(world.household), person(**typed))
    assert response.status_code == 400
    html = response.data.decode()
    assert message in html
    # The message sits at its field, and what was typed is still there.
    form = find_form(html)
    control = form.field(field)
    after = html.split(f'name="{field}"', 1)[1]
    assert "invalid-feedback" in after.split('name="', 1)[0], (field, control)
    if typed.get("name", "x") != "":
        assert form.field("name").value == "张小花"
    assert roster(db, world.household) == []


def test_the_roster_refuses_the_head_twice_a_person_twice_and_more_than_the_household(
    client: Any, db: Any, login: Any, world: World, make_household: Any
) -> None:
    login(world.staff)
    assert add_head(client, world).status_code == 302
    # The head's number under another relation.
    refused = submit(client, add_page(world.household),
                     person(id_number=world.household.head_id_number, name="张三丰"))  # fmt: skip
    assert refused.status_code == 400 and "这是户主的身份证号" in refused.data.decode()
    # A second head.
    second = submit(client, add_page(world.household), person(relation="head"))
    assert second.status_code == 400 and "成员名册中已有户主" in second.data.decode()
    assert submit(client, add_page(world.household), person()).status_code == 302
    # The same person again.
    again = submit(client, add_page(world.household), person(name="张小花"))
    assert again.status_code == 400 and "此人已在本户成员名册中" in again.data.decode()
    # Someone who is the head of another household.
    other = make_household(world.village, head_name="李四")
    typed = person(relation="son", name="李四", id_number=other.head_id_number)
    elsewhere = submit(client, add_page(world.household), typed)
    assert elsewhere.status_code == 400
    assert "此人已在某一户的家庭成员名册中" in elsewhere.data.decode()
    assert submit(client, add_page(world.household),
                  person(relation="son", name="张大山", id_number=SON, labour="strong",
                         in_school="", schooling="junior")).status_code == 302  # fmt: skip
    # Three people, three members: the roster is full, and the page offers no more.
    assert len(roster(db, world.household)) == 3
    html = client.get(page(world.household)).data.decode()
    assert add_page(world.household) not in html
    full = client.post(
        add_page(world.household),
        data=person(
            relation="son", name="张二山", id_number=id_number("620421000000", date(1997, 1, 1), 15)
        ),
    )
    assert full.status_code == 400 and "名册已全部登记" in full.data.decode()
    # Nor may the household's number of members fall below its roster.
    edit = f"/households/{world.household.id}/edit"
    fewer = submit(client, edit, {"member_count": "2"})
    assert fewer.status_code == 400 and "家庭成员名册已登记 3 人" in fewer.data.decode()


def test_editing_and_removing_a_member(client: Any, db: Any, login: Any, world: World) -> None:
    login(world.staff)
    add_head(client, world)
    submit(client, add_page(world.household), person())
    _head, daughter = roster(db, world.household)
    daughter_id = daughter.id
    edit = f"/households/{world.household.id}/members/{daughter.id}/edit"
    form = find_form(client.get(edit).data.decode())
    assert form.field("name").value == "张小花" and form.field("schooling").selected == ["senior"]
    response = submit(client, edit, {"schooling": "college", "health": "disabled",
                                     "disability_grade": "3", "skills": "电商"})  # fmt: skip
    assert response.status_code == 302
    db.session.refresh(daughter)
    assert daughter.schooling == SchoolStage.COLLEGE and daughter.health == MemberHealth.DISABLED
    assert daughter.disability_grade == 3 and daughter.skills == "电商"
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "member_updated"))
    changed = ["disability_grade", "health", "schooling", "skills"]
    assert event.after == {"member": daughter.id, "fields": changed}
    assert "张小花" not in str(event.after)

    html = client.get(page(world.household)).data.decode()
    remove = f"/households/{world.household.id}/members/{daughter_id}/remove"
    assert submit_on(client, html, action=remove, page=page(world.household)).status_code == 302
    assert [m.relation for m in roster(db, world.household)] == [MemberRelation.HEAD]
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "member_removed"))
    assert event.after == {"member": daughter_id, "relation": "daughter"}


def test_the_heads_row_follows_the_household(
    client: Any, db: Any, login: Any, world: World
) -> None:
    """A typo in the head's name corrected on the household's form reaches the roster."""
    login(world.staff)
    add_head(client, world)
    edit = f"/households/{world.household.id}/edit"
    assert submit(client, edit, {"head_name": "张三峰"}).status_code == 302
    (head,) = roster(db, world.household)
    assert head.name == "张三峰" and head.id_number == world.household.head_id_number


def test_only_the_villages_staff_keep_the_roster(
    client: Any, db: Any, login: Any, world: World, make_user: Any
) -> None:
    login(world.staff)
    add_head(client, world)
    (head,) = roster(db, world.household)
    edit = f"/households/{world.household.id}/members/{head.id}/edit"
    remove = f"/households/{world.household.id}/members/{head.id}/remove"
    client.post("/logout")
    login(world.other_staff)  # another village: as if the household did not exist
    assert client.get(add_page(world.household)).status_code == 404
    assert client.get(edit).status_code == 404
    assert client.post(remove).status_code == 404
    client.post("/logout")
    login(world.admin)  # administrators read the roster but do not keep it
    assert client.get(add_page(world.household)).status_code == 403
    assert client.post(remove).status_code == 403
    html = client.get(page(world.household)).data.decode()
    assert edit not in html and remove not in html
    assert len(roster(db, world.household)) == 1
    with pytest.raises(services.ServiceError) as refused:
        services.add_member(world.admin, world.household, **{
            **person(), "in_school": True, "disability_grade": None})  # fmt: skip
    assert refused.value.status == 403


def test_the_roster_is_masked_for_readers_without_the_right_and_audited_for_the_others(
    client: Any, db: Any, login: Any, world: World
) -> None:
    login(world.staff)
    add_head(client, world)
    submit(client, add_page(world.household), person(health="serious", labour="lost"))
    head, daughter = roster(db, world.household)
    client.post("/logout")
    login(world.auditor)
    html = client.get(page(world.household)).data.decode()
    assert "张小花" not in html and DAUGHTER not in html and "2008-05-12" not in html
    assert mask_name("张小花") in html and mask_id_number(DAUGHTER) in html
    assert "患有大病" not in html  # health is personal data too
    assert "丧失劳动力" in html and "之女" in html  # labour and relation are not
    assert forms_of(html) == [f for f in forms_of(html) if "members" not in f.action]
    client.post("/logout")
    before = db.session.scalar(sa.select(sa.func.max(AuditEvent.id)))
    login(world.admin)
    html = client.get(page(world.household)).data.decode()
    assert "张小花" in html and DAUGHTER in html and "患有大病" in html and "2008-05-12" in html
    db.session.commit()
    event = db.session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.action == "personal_data_viewed", AuditEvent.id > before
        )
    )
    assert event.after == {"households": [world.household.id], "members": [head.id, daughter.id]}


def test_the_households_labour_comes_from_the_roster(
    client: Any, db: Any, login: Any, world: World, make_resource: Any, region: Any
) -> None:
    """Jobs and training need someone able to work: the roster says whether anyone is, and
    the household's own field stands only while the roster records nobody's labour."""
    from marketplace.matches.adapters import need_view
    from marketplace.matches.scoring import candidate_need_views
    from marketplace.resources.models import ResourceKind
    from matching.constraints import Violation, violations
    from tests.conftest import JINGYUAN

    jobs = make_resource(world.org, [region(JINGYUAN)], kind=ResourceKind.JOBS,
                         categories=["necessities.washer"], labour_required=True)  # fmt: skip

    def labour() -> tuple[str, str | None]:
        db.session.expire_all()
        from marketplace.matches.adapters import resource_view

        view = need_view(world.need)
        listed = {v.id: v for v in candidate_need_views(jobs)}
        assert listed[world.need.id].household_labour == view.household_labour
        found = violations(view, resource_view(jobs), date.today())
        return view.household_labour or "", "labour" if Violation.LABOUR in found else None

    assert labour() == ("full", None)  # the household's field, no roster yet
    login(world.staff)
    add_head(client, world, labour="lost", health="serious")
    assert labour() == ("none", "labour")  # nobody in the roster can work
    submit(client, add_page(world.household), person(labour="none"))
    assert labour() == ("none", "labour")
    # A grandparent of 70 who still farms counts: no working-age limit.
    old = id_number("620421000000", date(1955, 2, 2), 21)
    submit(client, add_page(world.household), person(
        relation="grandparent", name="张老汉", id_number=old, labour="weak", in_school="",
        schooling="primary"))  # fmt: skip
    assert labour() == ("weak", None)
    # The household's form no longer asks: the roster decides, and says so.
    edit = f"/households/{world.household.id}/edit"
    form = find_form(client.get(edit).data.decode())
    assert "labour_capacity" not in form.names
    assert submit(client, edit, {"head_name": world.household.head_name}).status_code == 302
    assert labour() == ("weak", None)
    assert "由家庭成员名册得出" in client.get(page(world.household)).data.decode()
