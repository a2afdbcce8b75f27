"""Consumers: threads inside ``marketplace serve`` (the embedded store), or the process of
``marketplace worker`` (scale-out); and the command's listing of the periodic tasks."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Flask
from huey.consumer import Consumer

from marketplace.jobs.engine import consumer_for, runs_in_process
from marketplace.jobs.models import JobRun
from marketplace.jobs.runner import jobs_of
from marketplace.timefmt import beijing_text

log = logging.getLogger("marketplace.jobs")


def start_in_process(app: Flask) -> Consumer | None:
    """Start the consumer's scheduler and workers as threads of this process, when the
    settings say so (JOBS_IN_PROCESS; by default with the embedded store only)."""
    if not runs_in_process(app):
        return None
    jobs = jobs_of(app)
    workers = int(app.config.get("JOBS_WORKERS", 2))
    consumer = consumer_for(jobs.huey, workers, embedded=True)
    consumer.start()
    log.info("jobs: %s worker threads in this process (store: %s)", workers, jobs.kind)
    return consumer


def run_worker(app: Flask, workers: int, *, periodic: bool = True) -> None:
    """Run a consumer in this process until Ctrl-C (or SIGTERM) stops it."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    jobs = jobs_of(app)
    consumer_for(jobs.huey, workers, embedded=False, periodic=periodic).run()


def _at(moment: datetime | None) -> str:
    return beijing_text(moment) if moment else "-"


def describe_run(run: JobRun) -> str:
    counts = ", ".join(f"{k} {v}" for k, v in (run.counts or {}).items())
    parts = [run.name, run.outcome.value, counts, run.message]
    return " · ".join(p for p in parts if p)


def overview_lines(app: Flask) -> list[str]:
    """One line per periodic task: name, schedule, last run, outcome, result, next run
    (Beijing time)."""
    rows = [("task", "schedule", "last run", "outcome", "result", "next run")]
    for row in jobs_of(app).overview():
        last = row.last
        result = ""
        if last is not None:
            result = ", ".join(f"{k} {v}" for k, v in (last.counts or {}).items())
            result = result or last.message
        rows.append(
            (
                row.job.name,
                row.schedule.text,
                _at(last.started_at) if last else "never",
                last.outcome.value if last else "-",
                result or "-",
                _at(row.next_run),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.append("Times are Beijing time (UTC+8); schedules: the JOBS_SCHEDULE_* settings.")
    return lines
