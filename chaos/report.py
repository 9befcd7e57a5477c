"""The matrix's report: chaos/results/report.json (everything) and report.md (for people)."""
from __future__ import annotations

import json
import os
from typing import Any

from chaos.matrix import EVENTS, FAULTS, SLOW_STOP

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
# The whole matrix must fit a laptop's lunch break: 15 minutes on 2 CPUs.
BUDGET_SECONDS = 15 * 60


def _mark(result: dict[str, Any] | None) -> str:
    if result is None:
        return "—"
    first = result.get("first") or {}
    outcome = {"SUCCEEDED": "ok", "FAILED": "undone", "ABORTED": "stopped", "TIMED_OUT": "timed out"}.get(first.get("status"), "?")
    return f"{'✗ ' if result['broken'] else ''}{outcome} {result['seconds']:.0f}s"


def markdown(run: dict[str, Any]) -> str:
    results = run["cells"]
    by = {(r["state"], r["fault"]): r for r in results}
    failing = [r for r in results if r["broken"]]
    cpu = sum(r.get("cpu_seconds", 0) for r in results)
    lines = [
        "# Fault matrix", "",
        f"{len(results)} of {run['planned']} cells run, {len(failing)} failing; {run.get('wall_seconds', 0):.0f} s wall clock with "
        f"{run['workers']} worker processes ({run['cpus']} CPUs, load average {run['load']} when it started"
        f"{'; the machine was shared, so this is pessimistic' if run['load'] > run['cpus'] else ''}). "
        f"The cells used {cpu:.0f} CPU seconds in all ({cpu / max(1, run['cpus']):.0f} s spread over the CPUs). "
        f"Budget: {BUDGET_SECONDS // 60} minutes on 2 CPUs for the whole matrix"
        + (f": {'within' if run.get('wall_seconds', 0) <= BUDGET_SECONDS else 'over'} it." if run["command"] == "python -m chaos" and run["planned"] == len(results) else "."),
        f"Command: `{run['command']}`" + (f" (seed {run['seed']})" if run.get("seed") is not None else ""), "",
        "Each cell is one release of `web` 2 over a live `web` 1 through the local engine and the real definition, "
        "with the fault; then the invariants are read from the account; then the same release is started again "
        "without the fault and must converge to success. A cell's mark: how the first release ended "
        "(ok, undone, stopped), its time, and ✗ when an invariant broke.", "",
    ]
    states = list(dict.fromkeys(r["state"] for r in results if r["step"]))
    kinds = (*FAULTS, SLOW_STOP)
    lines += ["| state | step | " + " | ".join(kinds) + " |", "|---|---|" + "---|" * len(kinds)]
    for state in states:
        step = next(r["step"] for r in results if r["state"] == state)
        lines.append(f"| {state} | {step} | " + " | ".join(_mark(by.get((state, f))) for f in kinds) + " |")
    phases = list(dict.fromkeys(r["state"] for r in results if not r["step"]))
    if phases:
        lines += ["", "| phase | " + " | ".join(EVENTS) + " |", "|---|" + "---|" * len(EVENTS)]
        lines += [f"| {p} | " + " | ".join(_mark(by.get((p, e))) for e in EVENTS) + " |" for p in phases]
    known = run.get("known_failures") or {}
    if known:
        lines += ["", "## Known failures", "", "Cells expected to break an invariant until the release is fixed "
                  "(left out of the test suite's sample, still run here):", ""]
        lines += [f"- `{cell}`: {why}" for cell, why in sorted(known.items())]
    lines += ["", "## Broken invariants", ""]
    if not failing:
        lines.append("None.")
    for r in failing:
        lines += [f"### {r['id']}", "", f"{r['description']}.", "", f"Reproduce: `{r['reproduce']}`", ""]
        lines += [f"- {b}" for b in r["broken"]] + [""]
    return "\n".join(lines) + "\n"


def write(run: dict[str, Any], directory: str = RESULTS) -> tuple[str, str]:
    os.makedirs(directory, exist_ok=True)
    paths = os.path.join(directory, "report.json"), os.path.join(directory, "report.md")
    with open(paths[0], "w", encoding="utf-8") as f:
        json.dump(run, f, indent=1, default=str)
    with open(paths[1], "w", encoding="utf-8") as f:
        f.write(markdown(run))
    return paths
