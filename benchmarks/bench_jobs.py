"""Enqueue-to-start latency of a background job, on the embedded store (SQLite file) and on
Redis, with the machine under load, beside a baseline measured in the same run: handing the
same call to a waiting thread through a ``queue.Queue`` (the floor of any hand-off).

    python -m benchmarks.bench_jobs [--jobs 200] [--load 2] [--redis redis://127.0.0.1:6379/14]

The consumer is the one ``marketplace serve`` starts (``consumer_for``, threads, the same
settings), over the store the settings name. "Under load": ``--load`` processes spin on the
CPU meanwhile (the machine has as many cores), and jobs are enqueued at random intervals.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import queue
import random
import tempfile
import threading
import time
from statistics import median, quantiles
from typing import Any


def _spin(stop: Any) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    cuts = quantiles(samples, n=100)
    return median(samples) * 1000, cuts[94] * 1000, cuts[98] * 1000


def _baseline(jobs: int) -> list[float]:
    inbox: queue.Queue[float | None] = queue.Queue()
    seen: list[float] = []

    def worker() -> None:
        while (sent := inbox.get()) is not None:
            seen.append(time.perf_counter() - sent)

    thread = threading.Thread(target=worker)
    thread.start()
    for _ in range(jobs):
        inbox.put(time.perf_counter())
        time.sleep(random.uniform(0.005, 0.03))
    inbox.put(None)
    thread.join()
    return seen


def _through_store(url: str, name: str, jobs: int) -> list[float]:
    from marketplace.jobs.engine import build_huey, consumer_for

    huey = build_huey({"JOBS_URL": url, "JOBS_NAME": name})
    seen: list[float] = []
    done = threading.Event()

    @huey.task(name="probe")
    def probe(sent: float) -> None:
        seen.append(time.time() - sent)
        if len(seen) >= jobs:
            done.set()

    consumer = consumer_for(huey, workers=2, embedded=True, periodic=False)
    consumer.start()
    try:
        time.sleep(1.5)  # the workers are polling
        for _ in range(jobs):
            probe(time.time())
            time.sleep(random.uniform(0.005, 0.03))
        done.wait(120)
    finally:
        consumer.stop(graceful=True)
        huey.flush()
    return seen


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--load", type=int, default=2, help="CPU-spinning processes meanwhile")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()
    random.seed(7)
    stop = multiprocessing.Event()
    spinners = [multiprocessing.Process(target=_spin, args=(stop,)) for _ in range(args.load)]
    for spinner in spinners:
        spinner.start()
    try:
        folder = tempfile.mkdtemp(prefix="fupin-jobs-bench-")
        runs = {
            "baseline (queue.Queue to a thread)": _baseline(args.jobs),
            "embedded (SQLite store)": _through_store(
                f"sqlite:///{os.path.join(folder, 'jobs.db')}", "bench", args.jobs
            ),
            "Redis": _through_store(args.redis, f"bench-{os.getpid()}", args.jobs),
        }
    finally:
        stop.set()
        for spinner in spinners:
            spinner.join()
    base = median(runs["baseline (queue.Queue to a thread)"]) * 1000
    print(f"{args.jobs} jobs, {args.load} spinning processes, {os.cpu_count()} cores")
    print("| queue | p50 ms | p95 ms | p99 ms | p50 / baseline |")
    print("|---|---:|---:|---:|---:|")
    for label, samples in runs.items():
        p50, p95, p99 = _percentiles(samples)
        print(f"| {label} | {p50:.2f} | {p95:.2f} | {p99:.2f} | {p50 / base:.0f}x |")


if __name__ == "__main__":
    main()
