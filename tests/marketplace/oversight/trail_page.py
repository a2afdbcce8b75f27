"""Read the events the audit trail page shows (its list, not its filters)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class ShownEvent:
    action: str  # the code, from the row's data-action
    sentence: str  # what a reader reads
    meta: str  # time, region, user name, address
    links: list[str] = field(default_factory=list)  # hrefs inside the sentence
    times: list[str] = field(default_factory=list)  # <time datetime> values


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[ShownEvent] = []
        self.part: str | None = None
        self.depth = 0

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in attrs_list}
        classes = attrs.get("class", "").split()
        if tag == "li" and "audit-event" in classes:
            self.events.append(ShownEvent(attrs.get("data-action", ""), "", ""))
        elif self.events and tag == "p" and "audit-sentence" in classes:
            self.part = "sentence"
        elif self.events and tag == "p" and "audit-meta" in classes:
            self.part = "meta"
        elif self.part == "sentence" and tag == "a":
            self.events[-1].links.append(attrs.get("href", ""))
        elif self.part == "meta" and tag == "time":
            self.events[-1].times.append(attrs.get("datetime", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.part = None

    def handle_data(self, data: str) -> None:
        if self.part == "sentence":
            self.events[-1].sentence += data
        elif self.part == "meta":
            self.events[-1].meta += " ".join(data.split()) + " "


def events_shown(html: str) -> list[ShownEvent]:
    reader = _Reader()
    reader.feed(html)
    for e in reader.events:
        e.sentence = e.sentence.strip()
        e.meta = " ".join(e.meta.split())
    return reader.events


def actions_shown(html: str) -> list[str]:
    return [e.action for e in events_shown(html)]
