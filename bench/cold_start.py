"""Cold start of the step functions: each handler's import in a fresh process beside a boto3-only handler's.

The asset and the package layer are built by the code the stack bundles with (cutover.definition.step_code):
the `cutover_steps` package with the stack's excludes and its hash-checked bytecode, then zipped, and
PyYAML's and the pinned AWS SDK's pure-Python modules with theirs. Every module, the boto3-only
handler included, is imported in a fresh interpreter of the runtime's Python (when the machine has
one, else this one) from that copy, as Lambda imports a handler: the environment is the stack's
(tracing as the stack sets it), nothing is written back (/var/task and /opt are read-only), PyYAML
and boto3 come from the layer as built, and Powertools from the venv, as from its public layer. The samples of all modules are interleaved, so a busy moment of a
shared machine weighs on each alike.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from cutover.definition import step_code
from cutover_steps.registry import STEPS

REPEATS = 5
PROFILE_TOP = 8
# The target: a handler's cold import costs at most this many times a boto3-only handler's.
TARGET_RATIO = 1.5
BASELINE = "boto3_only"
BASELINE_SOURCE = '''"""A Lambda handler that imports boto3 and nothing else."""
import boto3


def handler(event, context):
    return {"regions": boto3.session.Session().get_available_regions("ecs")}
'''
# Wall and CPU seconds of the import alone (the interpreter's own start is the same for every module).
IMPORT_PROBE = (
    "import importlib, time\n"
    "wall, cpu = time.perf_counter(), time.process_time()\n"
    "importlib.import_module({module!r})\n"
    "print(time.perf_counter() - wall, time.process_time() - cpu)\n"
)


def build_asset(target: str) -> dict[str, Any]:
    """Build the asset into `target` as the stack does; return its file count and bytes, the zipped
    bytes, and whether bytecode ships."""
    return _measured(target, step_code.build(target))


def build_layer(target: str) -> dict[str, Any]:
    """Build the package layer into `target` as the stack does (its modules under `target`/python)."""
    return _measured(target, step_code.build_layer(target))


def without_bytecode(layer: str, target: str) -> None:
    """A copy of the layer as it shipped before it carried bytecode."""
    shutil.copytree(layer, target, ignore=shutil.ignore_patterns("__pycache__"))


def _measured(target: str, compiled: bool) -> dict[str, Any]:
    files, size = 0, 0
    archive = target.rstrip("/") + ".zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(Path(target).rglob("*")):
            if path.is_file():
                zipped.write(path, path.relative_to(target))
                files += 1
                size += path.stat().st_size
    return {"files": files, "bytes": size, "zipped_bytes": os.path.getsize(archive), "bytecode": compiled}


def add_baseline(asset: str) -> None:
    """The boto3-only handler, beside the steps and compiled the same way."""
    source = os.path.join(asset, f"{BASELINE}.py")
    Path(source).write_text(BASELINE_SOURCE, encoding="utf-8")
    python = step_code.runtime_python()
    if python:
        # By the runtime's Python, as the steps' bytecode is.
        subprocess.run([python, "-c", "import py_compile, sys; py_compile.compile(sys.argv[1], "
                        "invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH, doraise=True)", source],
                       check=True, capture_output=True)


def _interpreter() -> str:
    """The runtime's Python when the machine has one (it reads the shipped bytecode), else this one."""
    return step_code.runtime_python() or sys.executable


def _env(asset: str, layer: str, trace_aws_calls: bool = False) -> dict[str, str]:
    # A bare environment, as a Lambda sandbox has, with what the stack sets: nothing from this shell leaks in.
    # The path is Lambda's order: the function's code, then the layers' python/ folders; last this
    # environment's packages, for Powertools, which Lambda's public layer gives.
    site = str(Path(importlib.util.find_spec("aws_lambda_powertools").origin).parents[1])
    return {"PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": os.pathsep.join((asset, os.path.join(layer, "python"), site)),
            "PYTHONDONTWRITEBYTECODE": "1",
            "LAMBDA_TASK_ROOT": asset, "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
            **step_code.environment(trace_aws_calls=trace_aws_calls)}


def import_seconds(module: str, asset: str, layer: str, trace_aws_calls: bool = False) -> tuple[float, float]:
    """(wall, CPU) seconds of importing `module` in a fresh interpreter."""
    done = subprocess.run([_interpreter(), "-c", IMPORT_PROBE.format(module=module)],
                          env=_env(asset, layer, trace_aws_calls), cwd=asset,
                          capture_output=True, text=True, check=True)
    wall, cpu = done.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def import_profile(module: str, asset: str, layer: str) -> dict[str, float]:
    """Where one import's time goes: `-X importtime` self time by top-level package, in ms.

    Interpreter start-up (site, encodings: about 10 ms) is in the list too; it is not separable.
    """
    done = subprocess.run([_interpreter(), "-X", "importtime", "-c", f"import {module}"], env=_env(asset, layer), cwd=asset,
                          capture_output=True, text=True, check=True)
    by_package: dict[str, float] = {}
    for line in done.stderr.splitlines():
        fields = line.split("|")
        if len(fields) != 3 or not fields[0].split(":")[-1].strip().isdigit():
            continue
        package = fields[2].strip().split(".")[0]
        by_package[package] = by_package.get(package, 0.0) + int(fields[0].split(":")[-1]) / 1000
    top = sorted(by_package.items(), key=lambda item: -item[1])
    shown = {name: round(ms, 1) for name, ms in top[:PROFILE_TOP]}
    shown["everything else"] = round(sum(ms for _, ms in top[PROFILE_TOP:]), 1)
    return shown


def _stats(samples: list[tuple[float, float]]) -> dict[str, float]:
    wall, cpu = [s[0] for s in samples], [s[1] for s in samples]
    return {"median_ms": round(statistics.median(wall) * 1000, 1), "min_ms": round(min(wall) * 1000, 1),
            "max_ms": round(max(wall) * 1000, 1), "cpu_median_ms": round(statistics.median(cpu) * 1000, 1)}


def run(repeats: int = REPEATS) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cutover-asset-") as scratch:
        asset, layer, bare_layer = (os.path.join(scratch, name) for name in ("asset", "layer", "layer-sources"))
        size = build_asset(asset)
        layer_size = build_layer(layer)
        without_bytecode(layer, bare_layer)
        add_baseline(asset)
        modules = [BASELINE] + [step.module for step in STEPS]
        samples: dict[str, list[tuple[float, float]]] = {module: [] for module in modules}
        for _ in range(repeats):
            for module in modules:
                samples[module].append(import_seconds(module, asset, layer))
        imports = {module: _stats(samples[module]) for module in modules}
        heaviest = max(modules[1:], key=lambda m: imports[m]["median_ms"])
        # What turning on the AWS calls' X-Ray subsegments (cutover:traceAwsCalls) adds, on one handler.
        traced = _stats([import_seconds(heaviest, asset, layer, trace_aws_calls=True) for _ in range(repeats)])
        # What the layer's bytecode saves the step that reads configs (it compiled PyYAML at every cold start).
        reader = next(step.module for step in STEPS if step.key == "LoadRelease")
        sources_only = _stats([import_seconds(reader, asset, bare_layer) for _ in range(repeats)])
        profile = {"module": heaviest, "self_ms_by_package": import_profile(heaviest, asset, layer)}
        print(f"  cold imports: {len(modules)} modules x {repeats}", flush=True)
    # The ratio is of CPU time: an import is CPU work, and CPU time is what other load on a shared
    # machine disturbs least (the wall times are shown beside it).
    baseline = imports[BASELINE]["cpu_median_ms"]
    handlers = {step.key: step.module for step in STEPS}
    ratios = {key: round(imports[module]["cpu_median_ms"] / baseline, 2) for key, module in handlers.items()}
    return {"asset": size, "layer": layer_size, "baseline": BASELINE, "imports": imports, "handlers": handlers, "ratios": ratios,
            "target_ratio": TARGET_RATIO, "repeats": repeats, "profile": profile,
            "traced": {"module": heaviest, **traced},
            "layer_sources_only": {"module": reader, **sources_only}}
