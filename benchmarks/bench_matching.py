"""Matching speed: suggestions from the array indexes, the pure-Python scorer beside them,
optimal allocation against greedy, and index memory. Run: python -m benchmarks.bench_matching
[--needs N] [--resources M] [--alloc-needs N] [--alloc-resources M]. Prints a Markdown table."""

from __future__ import annotations

import argparse
import gc
import resource as rlimit
import time
from statistics import quantiles

from benchmarks import synthetic
from matching.allocation import Problem, greedy, optimal, optimal_lp
from matching.index import NeedIndex, ResourceIndex
from matching.rank import needs_for_resource
from matching.scoring import Weights

TODAY = synthetic.TODAY


def p95(samples: list[float]) -> float:
    return quantiles(samples, n=20)[18] if len(samples) >= 20 else max(samples)


def rss_mb() -> float:
    return rlimit.getrusage(rlimit.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--needs", type=int, default=1_000_000)
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--alloc-needs", type=int, default=100_000)
    parser.add_argument("--alloc-resources", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--only", choices=["suggestions", "allocation"], default=None)
    args = parser.parse_args()
    weights = Weights()
    rows: list[tuple[str, float, str]] = []
    if args.only != "allocation":
        suggestions(args, weights, rows)
    if args.only != "suggestions":
        allocation(args, weights, rows)
    print("| measurement | ms (p95 or single run) | notes |")
    print("|---|---:|---|")
    for name, ms, note in rows:
        print(f"| {name} | {ms:,.1f} | {note} |")


def suggestions(args: argparse.Namespace, weights: Weights, rows: list) -> None:  # type: ignore[type-arg]

    all_resources = synthetic.resources(args.resources)
    rindex = ResourceIndex()
    start = time.perf_counter()
    rindex.add_many(all_resources)
    build_r = time.perf_counter() - start
    probe_needs = synthetic.needs(args.queries, seed=9)
    rindex.top(probe_needs[0], weights, TODAY, 20)  # warm
    samples = [
        t for n in probe_needs for t in timed(lambda n=n: rindex.top(n, weights, TODAY, 20), 1)
    ]
    rows.append((f"top-20 resources for a need, {args.resources:,} resources", p95(samples),
                 f"index built in {build_r:.1f} s"))  # fmt: skip

    before = rss_mb()
    all_needs = synthetic.needs(args.needs)
    gc.collect()
    nindex = NeedIndex()
    start = time.perf_counter()
    nindex.add_many(all_needs)
    build_n = time.perf_counter() - start
    memory = rss_mb() - before
    start = time.perf_counter()
    for n in synthetic.needs(1000, seed=11):
        nindex.add(n.__class__(**{**n.__dict__, "id": args.needs + n.id}))
    incremental_ms = (time.perf_counter() - start) / 1000 * 1000
    probes = synthetic.resources(args.queries, seed=12)
    nindex.top(probes[0], weights, TODAY, 20)
    samples = [t for r in probes for t in timed(lambda r=r: nindex.top(r, weights, TODAY, 20), 1)]
    rows.append((f"top-20 needs for a resource, {args.needs:,} needs", p95(samples),
                 f"bulk build {build_n:.0f} s; one more need {incremental_ms:.2f} ms; "
                 f"peak RSS growth {memory:,.0f} MB (needs + index)"))  # fmt: skip

    # The pure-Python scorer on the same question, over a 100k slice (the full million would
    # take minutes): the ratio is what the arrays buy.
    slice_needs = all_needs[:100_000]
    small = NeedIndex()
    small.add_many(slice_needs)
    python_ms = timed(lambda: needs_for_resource(probes[0], slice_needs, weights, TODAY, 20), 3)
    index_ms = timed(lambda: small.top(probes[0], weights, TODAY, 20), 20)
    ratio = min(python_ms) / min(index_ms)
    note = f"array index {min(index_ms):.1f} ms: {ratio:.0f}x faster"
    rows.append(("pure-Python scorer, 100,000 needs (same query)", min(python_ms), note))


def allocation(args: argparse.Namespace, weights: Weights, rows: list) -> None:  # type: ignore[type-arg]
    alloc_needs = synthetic.needs(args.alloc_needs, seed=21)
    alloc_res = synthetic.resources(args.alloc_resources, seed=22)
    start = time.perf_counter()
    need_col, resource_col, points_col = synthetic.candidate_pairs(alloc_needs, alloc_res, weights)
    problem = Problem.from_arrays(
        need_col, resource_col, points_col / 10_000, points=points_col,
        need_quantity={n.id: n.open_quantity for n in alloc_needs},
        capacity={r.id: r.remaining for r in alloc_res},
        village_of={n.id: n.village_path for n in alloc_needs},
        village_cap=None,
    )  # fmt: skip
    pairs = problem.scores
    pairs_s = time.perf_counter() - start
    start = time.perf_counter()
    best = optimal(problem)
    optimal_s = time.perf_counter() - start
    start = time.perf_counter()
    base = greedy(problem)
    greedy_s = time.perf_counter() - start
    rows.append((f"optimal allocation (OR-Tools min-cost flow), {args.alloc_needs:,} x "
                 f"{args.alloc_resources:,} ({len(pairs):,} pairs)", optimal_s * 1000,
                 f"total {best.total_score:,.1f} vs greedy {base.total_score:,.1f} "
                 f"({greedy_s:.1f} s); candidate pairs built in {pairs_s:.0f} s"))  # fmt: skip
    if len(pairs) <= 300_000:
        start = time.perf_counter()
        check = optimal_lp(problem)
        rows.append(("same allocation as a linear programme (HiGHS)",
                     (time.perf_counter() - start) * 1000,
                     f"total {check.total_score:,.1f}"))  # fmt: skip


if __name__ == "__main__":
    main()
