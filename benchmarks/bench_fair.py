"""Fair allocation speed (issue 12): fair mode against the maximum-score mode and the greedy
baseline, in one run, on the same candidate pairs, every resource limited to one unit per
household. Run: python -m benchmarks.bench_fair [--needs N] [--resources M] [--group village|
township]. Prints a Markdown table, times as ratios against greedy measured in the same run."""

from __future__ import annotations

import argparse
import time

from benchmarks import synthetic
from matching.allocation import Problem, greedy, optimal
from matching.fair import fair
from matching.scoring import Weights

TODAY = synthetic.TODAY


def build(needs: int, resources: int) -> tuple[Problem, dict[int, str], dict[int, str], float]:
    alloc_needs = synthetic.needs(needs, seed=21)
    alloc_res = synthetic.resources(resources, seed=22)
    weights = Weights()
    start = time.perf_counter()
    need_col, resource_col, points_col = synthetic.candidate_pairs(alloc_needs, alloc_res, weights)
    # Households: consecutive needs of one village, one to three needs each.
    household: dict[int, int | None] = {}
    last: dict[str, tuple[int, int]] = {}
    for n in alloc_needs:
        h, size = last.get(n.village_path, (-1, 3))
        if size >= 1 + n.id % 3:
            h, size = n.id, 0
        last[n.village_path] = (h, size + 1)
        household[n.id] = h
    village = {n.id: n.village_path for n in alloc_needs}
    township = {n.id: n.village_path.rstrip("/").rsplit("/", 1)[0] for n in alloc_needs}
    problem = Problem.from_arrays(
        need_col, resource_col, points_col / 10_000, points=points_col,
        need_quantity={n.id: n.open_quantity for n in alloc_needs},
        capacity={r.id: r.remaining for r in alloc_res}, village_of=village,
        household_of=household, per_household={r.id: 1 for r in alloc_res},
    )  # fmt: skip
    return problem, village, township, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--needs", type=int, default=100_000)
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--group", choices=["village", "township"], default="village")
    args = parser.parse_args()
    problem, village, township, pairs_s = build(args.needs, args.resources)
    groups = village if args.group == "village" else township
    runs = []
    modes = (("greedy baseline", lambda: greedy(problem)),
             ("maximum score (min-cost flow)", lambda: optimal(problem)),
             ("fair mode (maximum + 2 flows)", lambda: fair(problem, groups)))  # fmt: skip
    for name, fn in modes:
        start = time.perf_counter()
        out = fn()
        runs.append((name, time.perf_counter() - start, out))
    base = runs[0][1]
    fair_result = runs[2][2]
    print(f"{args.needs:,} needs x {args.resources:,} resources, {problem.need_ids.size:,} "
          f"candidate pairs (built in {pairs_s:.0f} s), one unit per household, groups: "
          f"{args.group}")  # fmt: skip
    print()
    print("| mode | s | x greedy | total score |")
    print("|---|---:|---:|---:|")
    for name, seconds, out in runs:
        total = out.allocation.total_score if hasattr(out, "allocation") else out.total_score
        print(f"| {name} | {seconds:.2f} | {seconds / base:.2f} | {total:,.1f} |")
    print()
    lost = fair_result.score_lost
    print(f"fair total {fair_result.allocation.total_score:,.1f} against the maximum "
          f"{fair_result.maximum.total_score:,.1f}: {lost:,.1f} lost "
          f"({100 * lost / max(fair_result.maximum.total_score, 1e-9):.2f} %); "
          f"{len(fair_result.groups):,} (resource, group) shares; "
          f"{len(fair_result.unserved):,} eligible needs left without")  # fmt: skip


if __name__ == "__main__":
    main()
