"""ResourceIndex.copy: a copy changed while the original goes on answering (the warm index of
the app publishes copies, so that its readers never see a change half made)."""

from __future__ import annotations

from matching.index import ResourceIndex
from matching.scoring import Weights
from tests.matching.test_matching import (
    BAIYIN,
    COUNTIES,
    JINGYUAN_WASHERS,
    TODAY,
    need,
    resource,
    village_path,
)


def test_a_copy_changes_without_changing_the_original() -> None:
    original = ResourceIndex()
    original.add_many([JINGYUAN_WASHERS, resource(3, (BAIYIN,), ("necessities.washer",))])
    washer = need(1, village_path("靖远县"))
    before = [s.resource_id for s in original.top(washer, Weights(), TODAY, 5)]
    assert sorted(before) == [1, 3]

    copy = original.copy()
    copy.remove(1)
    copy.add(resource(3, (BAIYIN,), ("necessities.washer",), remaining=0))  # ran out
    for n in range(4, 1100):  # past the columns' first capacity: they grow in the copy only
        copy.add(resource(n, (f"{BAIYIN}{COUNTIES['会宁县']}/",), ("necessities.washer",)))
    assert copy.top(washer, Weights(), TODAY, 5) == []
    assert len(copy) == 1 + 1096
    assert [s.resource_id for s in original.top(washer, Weights(), TODAY, 5)] == before
    assert len(original) == 2
