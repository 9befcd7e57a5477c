"""`python -m bench`: run the benchmarks, write bench/results/bench.{md,json}, print the Markdown."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

# The handlers' logger takes its level when first imported; the bench imports some handlers
# before any engine sets it, and their INFO lines would bury the report.
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from bench import cleanup_scale, cold_start, release_costs, report, steady_state  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
PARTS = ("releases", "steady", "cleanup", "cold_start")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", choices=PARTS, action="append", help="run only this part (repeatable)")
    parser.add_argument("--sizes", default=",".join(map(str, cleanup_scale.SIZES)),
                        help="cluster sizes for the cleanup bench (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=cold_start.REPEATS, help="fresh imports per module")
    parser.add_argument("--out", default=RESULTS, help="folder for bench.md and bench.json")
    args = parser.parse_args(argv)
    parts = args.only or PARTS

    began = time.perf_counter()
    results: dict = {"machine": report.machine()}
    if "releases" in parts:
        results["releases"] = release_costs.run()
    if "steady" in parts:
        results["steady"] = steady_state.timed_run()
    if "cleanup" in parts:
        results["cleanup"] = cleanup_scale.run(tuple(int(s) for s in args.sizes.split(",") if s))
    if "cold_start" in parts:
        results["cold_start"] = cold_start.run(args.repeats)
    results["bench_seconds"] = round(time.perf_counter() - began, 1)

    markdown = report.render(results) + (steady_state.render(results["steady"]) if "steady" in results else "")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "bench.md"), "w", encoding="utf-8") as f:
        f.write(markdown)
    with open(os.path.join(args.out, "bench.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    print(markdown)
    print(f"(bench took {results['bench_seconds']} s; results in {os.path.relpath(args.out)}/)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
