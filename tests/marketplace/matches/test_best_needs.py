"""Best needs for a resource (resource page, suggestions API) come from the array scorer over
columns read from the database: the same needs, points and explanations as the library's
per-candidate ranking of the ORM's views."""

from __future__ import annotations

import random
import re
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from marketplace.matches.adapters import resource_view
from marketplace.matches.models import Match, MatchStatus
from marketplace.matches.scoring import candidate_needs, need_views, suggest_needs, weights
from marketplace.resources.models import Resource
from marketplace.vocab import HouseholdStatus, LabourCapacity, PovertyCause
from matching.rank import needs_for_resource
from matching.scoring import Scored
from tests.conftest import JINGYUAN, World


def library(resource: Resource, limit: int = 10) -> list[Scored]:
    """The library's answer over the ORM's views of every candidate."""
    views = need_views(candidate_needs(resource))
    return needs_for_resource(resource_view(resource), views, weights(), date.today(), limit)


def same_as_library(resource: Resource, limit: int = 10) -> list[int]:
    found = [s for _n, s in suggest_needs(resource, limit)]
    assert found == library(resource, limit)
    return [s.need_id for s in found]


def test_varied_needs_rank_as_the_library_ranks_them(
    db: Any, world: World, villages: Any, make_household: Any, make_need: Any,
    make_resource: Any, region: Any,
) -> None:  # fmt: skip
    """Households of every status, cause and labour, village needs, prior aid, ages and
    urgencies, texts; resources plain, eligible-only, favouring, needing labour, scarce."""
    rng = random.Random(3)
    places = villages(JINGYUAN)[:6]
    titles = ["洗衣机一台", "需要洗衣机", "冬季棉被", "家里缺冰箱", "洗衣机坏了，急需更换"]
    made = []
    for _i in range(60):
        village = rng.choice(places)
        household = None
        if rng.random() < 0.8:
            household = make_household(
                village, status=rng.choice(list(HouseholdStatus)),
                primary_cause=rng.choice(list(PovertyCause)),
                other_causes=rng.sample(["illness", "capital", "skills"], rng.randint(0, 2)),
                labour_capacity=rng.choice(list(LabourCapacity)),
            )  # fmt: skip
        need = make_need(village, household, title=rng.choice(titles),
                         urgency=rng.randint(1, 3), quantity=rng.randint(1, 3))  # fmt: skip
        need.created_at = need.created_at - timedelta(days=rng.randrange(150))
        made.append(need)
    for need in rng.sample([n for n in made if n.household_id], 15):
        status = rng.choice([MatchStatus.CONFIRMED, MatchStatus.PROPOSED, MatchStatus.REJECTED])
        db.session.add(Match(need=need, resource=world.resource, quantity=1, status=status))
    db.session.commit()
    area = [region(JINGYUAN)]
    resources = [
        world.resource,
        make_resource(world.org, area, categories=["necessities"], title="家电"),
        make_resource(world.org, area, eligible_statuses=["monitored"], title="洗衣机"),
        make_resource(world.org, area, eligible_causes=["illness"], title="洗衣机"),
        make_resource(world.org, area, labour_required=True, title="洗衣机"),
        make_resource(
            world.org, area, priority_causes=["capital"], priority_statuses=["poor"], title="洗衣机"
        ),
        make_resource(world.org, [places[0]], capacity=1, title="洗衣机"),
    ]
    for resource in resources:
        ranked = same_as_library(resource, 10)
        assert ranked
        assert same_as_library(resource, 200)  # every candidate, points and explanations
    aided = {m.need.household_id for m in db.session.scalars(sa.select(Match))}
    everything = library(world.resource, 200)
    assert any(s.explanations[5].code == "aided_before" for s in everything)
    assert {s.need_id for s in everything} >= {n.id for n in made if n.household_id in aided}


def test_resource_page_and_api_show_the_librarys_needs(
    client: Any, db: Any, login: Any, world: World, villages: Any, make_household: Any,
    make_need: Any,
) -> None:  # fmt: skip
    for i, village in enumerate(villages(JINGYUAN)[:4]):
        for urgency in (1, 3):
            make_need(village, make_household(village), title=f"洗衣机{i}", urgency=urgency)
    expected = [s.need_id for s in library(world.resource, 10)]
    login(world.donor)
    api = client.get(f"/api/v1/resources/{world.resource.id}/suggestions?limit=10").get_json()
    assert [s["id"] for s in api] == expected
    page = client.get(f"/resources/{world.resource.id}").data.decode()
    panel = page.split("推荐需求", 1)[1].split("</ul>", 1)[0]
    assert [int(i) for i in re.findall(r'href="/needs/(\d+)"', panel)] == expected
    assert len(expected) == 9  # world's need and the eight made here


def test_every_demo_resource_ranks_as_the_library_ranks(db: Any) -> None:
    from marketplace.demo import load_demo

    load_demo()
    db.session.commit()
    resources = db.session.scalars(sa.select(Resource).order_by(Resource.id)).all()
    assert resources
    ranked = [same_as_library(resource, 10) for resource in resources]
    assert any(ranked)


def test_kept_candidates_follow_every_change_that_moves_the_ranking(
    db: Any, world: World, villages: Any, make_household: Any, make_need: Any,
    make_resource: Any, region: Any,
) -> None:  # fmt: skip
    """The candidates' columns are kept until a fact changes (scoring.kept_need_columns): read
    again they are the same entry; a new need, prior aid, a household's status, a need met or a
    need left uncommitted each show at once, and every answer is the library's."""
    from marketplace.matches.scoring import kept_need_columns

    places = villages(JINGYUAN)[:3]
    households = [make_household(v) for v in places]
    needs = [make_need(v, h, urgency=1) for v, h in zip(places, households, strict=True)]
    favouring = make_resource(world.org, [region(JINGYUAN)], priority_statuses=["monitored"],
                              title="洗衣机")  # fmt: skip
    for resource in (world.resource, favouring):
        same_as_library(resource)
        assert kept_need_columns(resource) is kept_need_columns(resource)  # kept, not re-read
    kept = kept_need_columns(world.resource)

    urgent = make_need(places[0], make_household(places[0]), urgency=3, title="急需洗衣机")
    assert kept_need_columns(world.resource) is not kept
    assert same_as_library(world.resource)[0] == urgent.id

    # Prior aid read from a kept entry before is read again once a match is committed.
    db.session.add(Match(need=urgent, resource=world.resource, quantity=1,
                         status=MatchStatus.CONFIRMED))  # fmt: skip
    db.session.commit()
    assert same_as_library(world.resource)[0] != urgent.id

    households[2].status = HouseholdStatus.MONITORED
    db.session.commit()
    assert same_as_library(favouring)[0] == needs[2].id

    needs[2].open_quantity = 0  # met
    db.session.commit()
    assert needs[2].id not in same_as_library(favouring)

    # Changes not yet committed are this session's own: never kept, never served from a
    # kept entry.
    pending = needs[0]
    pending.urgency = 3
    db.session.flush()
    assert same_as_library(world.resource)[0] == pending.id
    db.session.rollback()
    assert same_as_library(world.resource)
