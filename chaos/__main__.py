"""`make chaos`: run the fault matrix (or the cells named in CELLS, or a seeded sample) and write the report.

python -m chaos [--cells ID,ID…] [--sample SEED] [--workers N] [--out DIR]
Exit 0 when no cell broke an invariant, 1 otherwise.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import time

from chaos import matrix, report
from chaos.run import baseline, run_and_say


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default=os.environ.get("CELLS", ""), help="comma-separated cell ids (default: all)")
    parser.add_argument("--sample", type=int, nargs="?", const=-1, default=None,
                        help="run the sampled subset chosen by this seed (no value: a new seed)")
    # A cell spends about two thirds of its time waiting (polls, holds, the data plane's ticks, the
    # undo's wait for a late step): two workers per CPU, and one more, keep the CPUs busy.
    parser.add_argument("--workers", type=int, default=int(os.environ.get("CHAOS_WORKERS", 2 * (os.cpu_count() or 1) + 1)))
    parser.add_argument("--out", default=report.RESULTS)
    parser.add_argument("--list", action="store_true", help="print the cells and exit")
    args = parser.parse_args(argv)

    started = time.time()
    load = os.getloadavg()[0]
    # Workers are fresh processes (spawn), made before this one runs anything: no engine, mock or
    # thread is inherited; each runs its cells one after the other, each cell in a new engine.
    with multiprocessing.get_context("spawn").Pool(max(1, args.workers), maxtasksperchild=20) as pool:
        plain = pool.apply(baseline)
        if plain["status"] != "SUCCEEDED":
            print(f"a release with no fault did not succeed ({plain['status']}): the matrix has no map", file=sys.stderr)
            return 1
        definition = matrix.load_definition()
        states = matrix.lambda_states(definition)
        cells = matrix.cells(definition, plain["entered"], plain["config"])
        seed, left_out = None, []
        if args.cells:
            wanted = set(args.cells.split(","))
            unknown = wanted - {c.id for c in cells}
            if unknown:
                print(f"--cells: no cell {sorted(unknown)}; `python -m chaos --list` lists them", file=sys.stderr)
                return 2
            cells = [c for c in cells if c.id in wanted]
        else:
            cells = matrix.diagonal(cells)
        if args.sample is not None and not args.cells:
            seed = args.sample if args.sample >= 0 else random.randrange(10_000)
            drawn, known = matrix.seeded_sample(cells, seed, plain["entered"], states, definition)
            left_out = sorted({c.step for c in cells if c.step} - {c.step for c in cells if c.step and c.id not in known})
            cells = drawn
            print(f"sampled subset, seed {seed} (again: python -m chaos --sample {seed}); "
                  f"{len(known)} cells known to fail are left out (make chaos runs them)"
                  + (f"; no cell of {left_out} can be drawn" if left_out else ""), flush=True)
        if args.list:
            print("\n".join(f"{c.id}: {c.describe()}" for c in cells))
            return 0
        print(f"{len(cells)} cells on {args.workers} worker processes", flush=True)
        known = {c.id: why for c in cells if (why := matrix.known_failure(c, plain["entered"], states, definition))}
        command = "python -m chaos" + (f" --cells {args.cells}" if args.cells else f" --sample {seed}" if seed is not None else "")
        run = {"command": command, "seed": seed, "workers": args.workers, "cpus": os.cpu_count(), "load": round(load, 1),
               "baseline": plain, "lambda_states": states, "planned": len(cells), "known_failures": known, "steps_left_out": left_out, "cells": []}
        # The report is rewritten as each cell ends, so an interrupted run still says what it found.
        for result in pool.imap_unordered(run_and_say, [(c, states) for c in cells]):
            run["cells"].append(result)
            run["wall_seconds"] = round(time.time() - started, 1)
            report.write(run, args.out)
    results = run["cells"]
    paths = report.write(run, args.out)
    failing = [r for r in results if r["broken"]]
    print(f"{len(results)} cells, {len(failing)} failing, {run['wall_seconds']:.0f} s; report: {paths[1]}")
    for r in failing:
        print(f"FAIL {r['id']}: {r['broken'][0]}\n     reproduce: {r['reproduce']}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
