"""Two requests acting on what they both read: the race a compare-and-set on the status refuses.

``from_the_same_read(app, first, second)`` runs each side as a request of its own (a thread
with its own app context and database session): both read, then the first acts and commits,
then the second acts on its reading, by now out of date. Each side is a pair of callables,
``read()`` returning what the request loaded and ``act(loaded)``; the answer is what each act
raised (a ServiceError, or None when it went through and was committed).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from marketplace.errors import ServiceError
from marketplace.extensions import db

Side = tuple[Callable[[], Any], Callable[[Any], None]]


def from_the_same_read(
    app: Any, first: Side, second: Side
) -> tuple[ServiceError | None, ServiceError | None]:
    both_read = threading.Barrier(2, timeout=30)
    first_done = threading.Event()
    outcomes: dict[int, ServiceError | None] = {}
    failures: list[BaseException] = []

    def request(n: int, side: Side) -> None:
        read, act = side
        try:
            with app.app_context():
                try:
                    loaded = read()
                    both_read.wait()
                    if n == 1:
                        assert first_done.wait(timeout=30), "the first request never finished"
                    try:
                        act(loaded)
                        db.session.commit()
                        outcomes[n] = None
                    except ServiceError as refused:
                        db.session.rollback()
                        outcomes[n] = refused
                finally:
                    db.session.remove()
        except BaseException as exc:  # reported in the test's own thread below
            failures.append(exc)
        finally:
            if n == 0:
                first_done.set()

    threads = [threading.Thread(target=request, args=(n, s)) for n, s in enumerate((first, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    if failures:
        raise failures[0]
    return outcomes[0], outcomes[1]
