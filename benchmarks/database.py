"""The benchmarks' database: filled with ``marketplace synth`` up to the size a benchmark asks
for, once (a rerun finds it filled and adds nothing)."""

from __future__ import annotations

import sys
import time


def fill_to(households: int, resources: int) -> int:
    """Synthesise households (one need each) until there are ``households`` needs, and the
    resources with the first fill; inside an app context, after the migrations. The households
    added."""
    import sqlalchemy as sa

    from marketplace.extensions import db
    from marketplace.needs.models import Need
    from marketplace.synth import synthesize

    have = db.session.scalar(sa.select(sa.func.count(Need.id))) or 0
    if have >= households:
        return 0
    start = time.perf_counter()
    synthesize(households - have, resources if have == 0 else 0)
    db.session.commit()
    print(f"synthesised {households - have:,} households in "
          f"{time.perf_counter() - start:.0f} s", file=sys.stderr)  # fmt: skip
    return households - have
