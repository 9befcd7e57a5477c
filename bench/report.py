"""Markdown tables of the bench results, and the machine they were measured on."""
from __future__ import annotations

import os
import platform
import re
import time
from importlib import metadata
from typing import Any, Sequence

Row = Sequence[Any]
# The target for a release's AWS API calls, as a multiple of the floor (bench/floor.py).
API_CALLS_TARGET = 1.3
# At production settings: state transitions and Lambda invocations per release.
TARGETS = {"state_transitions": 30, "lambda_invocations": 18}


NUMBER = re.compile(r"^(–|\$?-?[\d,]+(\.\d+)?( / ([\d,]+|–))*)$")


def table(headers: Sequence[str], rows: Sequence[Row]) -> str:
    """A Markdown table; columns whose cells all read as numbers are right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    numeric = [bool(cells) and all(NUMBER.match(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        # Enough digits to compare rows, no more: 1,069 ms, 83.0 ms, 5.24 s, 0.515 s.
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": model or platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "moto": metadata.version("moto"),
        "boto3": metadata.version("boto3"),
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }


def machine_line(info: dict[str, Any]) -> str:
    load = f", load average {info['load_average'][0]} at start" if info.get("load_average") else ""
    return (f"{info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, moto {info['moto']}, "
            f"boto3 {info['boto3']}, {info['date']}{load}")


# -- releases -------------------------------------------------------------------------------------

def release_summary(releases: list[dict[str, Any]]) -> str:
    rows = []
    for r in releases:
        t = r["time"]
        waits = t["health_polls_s"] + t["traffic_holds_s"] + t["other_waits_s"]
        cost, per_thousand = f"${r['cost_usd']:.6f}", f"${r['cost_usd_per_1000_releases']:.2f}"
        rows.append((r["scenario"], r["state_transitions"], cost, per_thousand, r["lambda_invocations"], r["api_calls"],
                     t["total_s"], round(waits, 3), t["approval_wait_s"], t["overhead_s"], t["handlers_s"]))
    return table(("release", "state transitions", "cost", "per 1,000 releases", "Lambda invocations", "AWS API calls",
                  "wall s", "waits s", "approval s", "overhead s", "in handlers s"), rows)


def release_steps(releases: list[dict[str, Any]]) -> str:
    """Invocations / API calls / the calls' floor of each step, one column per scenario."""
    keys = sorted({key for r in releases for key in (*r["steps"], *r.get("api_calls_floor_by_step", {}))})
    rows = []
    for key in keys:
        cells = []
        for r in releases:
            step = r["steps"].get(key, {"invocations": 0, "api_calls": 0})
            floor = r.get("api_calls_floor_by_step", {}).get(key, "–")
            cells.append(f"{step['invocations']} / {step['api_calls']} / {floor}")
        rows.append((key, *cells))
    rows.append(("total", *(f"{r['lambda_invocations']} / {r['api_calls']} / {r.get('api_calls_floor', '–')}"
                            for r in releases)))
    return table(("step (invocations / API calls / floor)", *(r["scenario"] for r in releases)), rows)


def release_targets(releases: list[dict[str, Any]]) -> str:
    """The production-settings releases' transitions and invocations beside their targets, and what a
    longer hold adds: at most one loop (a Choice and the watch again) per time limit of the watch."""
    production = [r for r in releases if r.get("time_scale", 1) != 1]
    if not production:
        return ""
    rows, base = [], production[0]
    for r in production:
        rows.append((r["scenario"], f"1/{r['time_scale']}",
                     r["state_transitions"], "yes" if r["state_transitions"] <= TARGETS["state_transitions"] else "NO",
                     r["lambda_invocations"], "yes" if r["lambda_invocations"] <= TARGETS["lambda_invocations"] else "NO",
                     r["state_transitions"] - base["state_transitions"], r["lambda_invocations"] - base["lambda_invocations"]))
    return table(("release", "time scale", "state transitions", f"≤ {TARGETS['state_transitions']}",
                  "Lambda invocations", f"≤ {TARGETS['lambda_invocations']}",
                  f"transitions beyond the {base['scenario']}", "invocations beyond it"), rows)


def release_floor(releases: list[dict[str, Any]], target: float = API_CALLS_TARGET) -> str:
    """API calls against the floor (bench/floor.py, derived in docs/development.md) and the target."""
    rows = []
    for r in releases:
        ratio = r["api_calls"] / r["api_calls_floor"]
        rows.append((r["scenario"], r["api_calls"], r["api_calls_floor"], round(ratio, 2), "yes" if ratio <= target else "NO"))
    return table(("release", "AWS API calls", "floor", "× floor", f"≤ {target}×"), rows)


def release_operations(releases: list[dict[str, Any]]) -> str:
    operations = sorted({op for r in releases for op in r["api_calls_by_operation"]})
    rows = [(op, *(r["api_calls_by_operation"].get(op, 0) for r in releases)) for op in operations]
    rows.append(("total", *(r["api_calls"] for r in releases)))
    return table(("AWS API call", *(r["scenario"] for r in releases)), rows)


# -- cleanup --------------------------------------------------------------------------------------

def cleanup_table(cleanups: list[dict[str, Any]]) -> str:
    operations = sorted({op for c in cleanups for op in c["api_calls_by_operation"]})
    target = cleanups[0]["discovery_target"] if cleanups else "-"
    rows = []
    for c in cleanups:
        calls = c["api_calls_by_operation"]
        rows.append((c["services"], c["cleanup_s"], c["api_calls"], *(calls.get(op, 0) for op in operations),
                     c["discovery_calls"], c["setup_s"]))
    return table(("services in cluster", "CleanUp s", "API calls", *operations,
                  f"finding what to delete (target ≤ {target})", "cluster set-up in moto s"), rows)


# -- cold start -----------------------------------------------------------------------------------

def cold_asset(cold: dict[str, Any]) -> str:
    rows = []
    for key, what in (("asset", "code asset: the cutover_steps package"), ("layer", "package layer: PyYAML")):
        built = cold.get(key)
        if built:
            shipped = "with hash-checked bytecode" if built.get("bytecode") else "sources only"
            rows.append((f"{what}, {shipped}", built["files"], built["bytes"], built["zipped_bytes"]))
    return table(("Lambda code", "files", "bytes", "zipped bytes"), rows)


def cold_imports(cold: dict[str, Any]) -> str:
    """Each handler's cold import beside the boto3-only handler's, as a ratio against the target."""
    imports, target = cold["imports"], cold["target_ratio"]
    baseline = cold["baseline"]
    rows = [("(boto3 only)", baseline, *_times(imports[baseline]), 1.0, "")]
    for key, module in cold["handlers"].items():
        ratio = cold["ratios"][key]
        rows.append((key, module, *_times(imports[module]), ratio, "yes" if ratio <= target else "NO"))
    variants = (("traced", "with cutover:traceAwsCalls", "(opt-in)"),
                ("layer_sources_only", "with the PyYAML layer without bytecode", "(before)"))
    for key, what, note in variants:
        variant = cold.get(key)
        if variant:
            module = variant["module"]
            rows.append((f"{module} {what}", module, *_times(variant),
                         round(variant["cpu_median_ms"] / imports[baseline]["cpu_median_ms"], 2), note))
    return table(("step", "module", f"CPU ms, median of {cold['repeats']}", "wall ms, median", "min", "max",
                  "× boto3 only (CPU)", f"≤ {target}×"), rows)


def _times(stats: dict[str, float]) -> tuple[float, float, float, float]:
    return stats["cpu_median_ms"], stats["median_ms"], stats["min_ms"], stats["max_ms"]


def cold_profile(cold: dict[str, Any]) -> str:
    profile = cold.get("profile")
    if not profile:
        return ""
    rows = list(profile["self_ms_by_package"].items())
    return table((f"import {profile['module']}: self time by package", "ms"), rows)


# -- the whole report -----------------------------------------------------------------------------

def render(results: dict[str, Any]) -> str:
    parts = ["# Cutover benchmarks", "", f"Measured on {machine_line(results['machine'])}.", ""]
    if results.get("releases"):
        parts += ["## One release through the local engine", "",
                  "State transitions are StateEntered events of the execution history (Standard workflows bill "
                  "each; $0.025 per 1,000; Lambda and API charges not included). Waits are Wait states and the health "
                  "polls and holds inside their steps; overhead is wall time minus the waits and the approval wait.", "",
                  release_summary(results["releases"]), ""]
        targets = release_targets(results["releases"])
        if targets:
            parts += ["At production settings (50 % for 60 s, alarms and health looked at every 10 s), every "
                      "duration divided by the time scale, the waiting steps' time limits included (less the "
                      "margin each keeps): the counts depend on the durations' ratios only. A hold costs the same "
                      "at any length within one loop (a Choice and the watch again) per time limit of the watch.",
                      "", targets, ""]
        parts += [release_floor(results["releases"]), "",
                  release_steps(results["releases"]), "",
                  release_operations(results["releases"]), ""]
        uncounted = sorted({c for r in results["releases"] for c in r.get("uncounted_clients", [])})
        if uncounted:
            parts += [f"Not counted: calls on handler clients made after counting began ({', '.join(uncounted)}).", ""]
    if results.get("cleanup"):
        parts += ["## CleanUp at scale", "",
                  "Finding what to delete is one tag-filtered GetResources query (pages of 100 resources) and one "
                  "DescribeServices per 10 versions found: it grows with the obsolete versions, not the cluster. "
                  "moto pages both as AWS does.", "",
                  cleanup_table(results["cleanup"]), ""]
    if results.get("cold_start"):
        parts += ["## Cold start", "", cold_asset(results["cold_start"]), "", cold_imports(results["cold_start"]), ""]
        profile = cold_profile(results["cold_start"])
        if profile:
            parts += [profile, ""]
    return "\n".join(parts)
