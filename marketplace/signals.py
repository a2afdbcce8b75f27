"""Announcements that packages lower in the layering make for packages above them to act on.

A lower package cannot import a higher one; it sends a signal instead, and the higher one
connects to it when imported (search keeps its index in step this way)."""

from __future__ import annotations

from typing import Any

from blinker import NamedSignal, Namespace

_signals = Namespace()

# Sent with need_id= and resource_id= when approving or releasing a match changed a need's open
# quantity and a resource's remaining capacity by a bulk update (no ORM change to see).
capacity_changed = _signals.signal("capacity-changed")

# Sent with record= after a Workflow moved a record's status by a compare-and-set (a bulk
# update the ORM does not see as a change).
status_moved = _signals.signal("status-moved")

# Sent with user= and need= by ``needs.services.get_need``: a receiver returning True lets the
# user open a need that is neither public nor in their scope (a donor who pledged to it).
need_viewing = _signals.signal("need-viewing")

# Pages of a lower package that show what a higher one knows: sent while the page is drawn
# (with the page's object and the viewer, user= possibly None), each receiver returns a dict
# of template context. The need page shows the pledge form and the best resources, the
# resource page its matches and the best needs, the household page the help it has had.
need_page = _signals.signal("need-page")
resource_page = _signals.signal("resource-page")
household_page = _signals.signal("household-page")
# A page of needs (needs=, user=) drawn as a list: the donors' browse page shows how far
# help has gone towards each.
need_list_page = _signals.signal("need-list-page")


# Long work a page hands to the background (an import's confirmation, an allocation over a
# city, a report export, a search rebuild): sent with name=, actor=, params= (plain values, no
# personal data) and subject=; the job engine's receiver records the run, enqueues it once the
# request commits, and returns the run's id, whose page shows the progress and the result.
work_requested = _signals.signal("work-requested")


def start_work(name: str, actor: Any, subject: str = "", **params: Any) -> int:
    """Hand long work to the background; the id of its run (``/jobs/<id>`` shows it)."""
    answers = [run_id for _r, run_id in work_requested.send(
        name=name, actor=actor, params=params, subject=subject) if run_id]  # fmt: skip
    if len(answers) != 1:
        raise RuntimeError(f"work {name!r} needs the job engine (marketplace.jobs) loaded")
    return int(answers[0])


def granted(signal: NamedSignal, **kwargs: Any) -> bool:
    """Whether any receiver of a permission signal said yes."""
    return any(answer for _receiver, answer in signal.send(**kwargs))


def page_context(signal: NamedSignal, **kwargs: Any) -> dict[str, Any]:
    """The template context every receiver of a page signal returns, merged."""
    merged: dict[str, Any] = {}
    for _receiver, context in signal.send(**kwargs):
        merged.update(context or {})
    return merged
