"""Random spot checks: reproducible draws over a recorded population, the four checks, the
report and the administrators' answer."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from marketplace.attachments.services import attachments_of
from marketplace.errors import ServiceError
from marketplace.matches.models import Match, MatchStatus
from marketplace.oversight import spot_checks
from marketplace.oversight.models import Finding, SpotCheck
from tests.conftest import JINGYUAN, World

TODAY = date.today()


@given(st.lists(st.integers(1, 10_000), unique=True, min_size=1, max_size=60),
       st.integers(1, 20), st.integers(0, 2**40))  # fmt: skip
def test_draw_is_reproducible_and_within_the_population(pop: list[int], size: int,
                                                        seed: int) -> None:  # fmt: skip
    sample = spot_checks.draw(pop, size, seed)
    assert sample == spot_checks.draw(list(reversed(pop)), size, seed)
    assert set(sample) <= set(pop) and len(sample) == min(size, len(pop))
    assert sample == sorted(sample)


@pytest.fixture
def matches(db: Any, world: World, villages: Any, make_need: Any) -> list[int]:
    ids = []
    for n, village in enumerate(villages(JINGYUAN)[:12]):
        need = make_need(village, None, title=f"抽查需求{n}", subcategory="infrastructure.water")
        match = Match(need=need, resource=world.resource, quantity=1,
                      status=MatchStatus.APPROVED if n % 2 else MatchStatus.CONFIRMED)  # fmt: skip
        db.session.add(match)
        db.session.flush()
        ids.append(match.id)
    db.session.commit()
    return ids


def test_auditor_draws_and_redraws_the_same_sample(
    client: Any, db: Any, login: Any, world: World, matches: list[int], region: Any
) -> None:
    login(world.auditor)
    form = {"region": str(world.auditor.regions[0].id), "period_start": str(TODAY - timedelta(1)),
            "period_end": str(TODAY), "category": "", "match_status": "", "sample_size": "4",
            "seed": "20261122"}  # fmt: skip
    assert client.post("/oversight/spot-checks/new", data=form).status_code == 302
    assert client.post("/oversight/spot-checks/new", data=form).status_code == 302
    first, second = db.session.scalars(sa.select(SpotCheck).order_by(SpotCheck.id)).all()
    assert first.sample == second.sample and len(first.sample) == 4
    assert set(first.population) == set(matches)
    page = client.get(f"/oversight/spot-checks/{first.id}").data.decode()
    assert "20261122" in page and "抽样可复现" in page
    only_confirmed = spot_checks.create(world.auditor, region(JINGYUAN), TODAY, TODAY, "",
                                        "confirmed", 50, 1)  # fmt: skip
    assert len(only_confirmed.population) == 6
    assert all(db.session.get(Match, m).status == MatchStatus.CONFIRMED
               for m in only_confirmed.sample)  # fmt: skip


def test_findings_report_and_answer(
    app: Any, client: Any, db: Any, login: Any, world: World, matches: list[int], region: Any
) -> None:
    check = spot_checks.create(world.auditor, region(JINGYUAN), TODAY, TODAY, "", "", 2, 7)
    db.session.commit()
    login(world.auditor)
    item = check.items[0]
    data = {"people": "found", "project": "found", "funds": "not_found", "measures": "found",
            "note": "资金去向不明"}  # fmt: skip
    url = f"/oversight/spot-checks/{check.id}/items/{item.id}"
    assert client.post(url, data=data).status_code == 302
    db.session.refresh(item)
    assert item.funds == Finding.NOT_FOUND and item.note == "资金去向不明"
    report = f"/oversight/spot-checks/{check.id}/close"
    assert client.post(report, data={"text": "发现一户资金未落实"}).status_code == 302
    assert client.post(url, data=data).status_code == 409  # closed
    admin = app.test_client()
    admin.post("/login", data={"username": "admin", "password": "testpass123"})
    assert "发现一户资金未落实" in admin.get(f"/oversight/spot-checks/{check.id}").data.decode()
    answer = f"/oversight/spot-checks/{check.id}/answer"
    assert admin.post(answer, data={"text": "已责令整改"}).status_code == 302
    db.session.refresh(check)
    assert check.reply == "已责令整改"
    other = app.test_client()
    other.post("/login", data={"username": "huiningadmin", "password": "testpass123"})
    assert other.get(f"/oversight/spot-checks/{check.id}").status_code == 404


def test_bad_draws_are_refused(db: Any, world: World, matches: list[int], region: Any,
                               make_user: Any) -> None:  # fmt: skip
    for args in [(TODAY, TODAY - timedelta(1), "", "", 3, None), (TODAY, TODAY, "", "", 0, None),
                 (TODAY, TODAY, "nope", "", 3, None), (TODAY, TODAY, "", "flying", 3, None),
                 (TODAY - timedelta(30), TODAY - timedelta(20), "", "", 3, None)]:  # fmt: skip
        with pytest.raises(ServiceError):
            spot_checks.create(world.auditor, region(JINGYUAN), *args)
        db.session.rollback()
    with pytest.raises(ServiceError) as refused:
        spot_checks.create(world.admin, region(JINGYUAN), TODAY, TODAY, "", "", 3, None)
    assert refused.value.status == 403
    assert db.session.scalar(sa.select(sa.func.count(SpotCheck.id))) == 0


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def test_a_finding_may_carry_a_photo(client: Any, db: Any, login: Any, world: World,
                                     matches: list[int], region: Any) -> None:  # fmt: skip
    check = spot_checks.create(world.auditor, region(JINGYUAN), TODAY, TODAY, "", "", 2, 7)
    db.session.commit()
    login(world.auditor)
    item = check.items[0]
    url = f"/oversight/spot-checks/{check.id}/items/{item.id}"
    data = {"people": "found", "project": "found", "funds": "found", "measures": "not_found"}
    refused = client.post(url, data={**data, "photo": (io.BytesIO(b"MZ not an image"), "x.jpg")},
                          content_type="multipart/form-data")  # fmt: skip
    assert refused.status_code == 400
    db.session.refresh(item)
    assert item.measures == Finding.UNCHECKED  # nothing kept from the refused post
    saved = client.post(url, data={**data, "photo": (io.BytesIO(PNG), "site.png")},
                        content_type="multipart/form-data")  # fmt: skip
    assert saved.status_code == 302
    photos = attachments_of("match", item.match_id, spot_checks.photo_purpose(item))
    assert len(photos) == 1
    page = client.get(f"/oversight/spot-checks/{check.id}").get_data(as_text=True)
    assert f"/attachments/{photos[0].id}" in page
    served = client.get(f"/attachments/{photos[0].id}")
    assert served.data == PNG
    served.close()
    client.post("/logout")
    login(world.donor)  # a party to the match, but not to the check
    assert client.get(f"/attachments/{photos[0].id}").status_code == 404
    match_page = client.get(f"/matches/{item.match_id}").get_data(as_text=True)
    assert f"/attachments/{photos[0].id}" not in match_page
