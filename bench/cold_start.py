"""Cold start of the step functions: each handler module's import time, and the code asset size.

The asset is built the way CDK builds it: the lambdas/ folder minus the stack's exclude patterns
(read from cutover/cdk/release_functions.py, so the two cannot drift), then zipped. Imports run in a
fresh interpreter per module, from that copy, without bytecode caches: on Lambda the asset has no
.pyc files and its folder is read-only, so every cold start compiles the project's own modules.
Third-party packages (boto3, Powertools, pydantic, PyYAML) come from the venv, as from the layers.
"""
from __future__ import annotations

import ast
import fnmatch
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from typing import Any

from cutover import ROOT
from release.registry import STEPS

LAMBDA_ROOT = os.path.join(ROOT, "lambdas")
STACK_MODULE = os.path.join(ROOT, "cutover", "cdk", "release_functions.py")
REPEATS = 3
PROFILE_TOP = 8
# What every handler shares, timed on its own so each module's own share shows.
BASELINES = ("boto3", "release.step")
IMPORT_PROBE = (
    "import importlib, time\n"
    "began = time.perf_counter()\n"
    "importlib.import_module({module!r})\n"
    "print(time.perf_counter() - began)\n"
)


def code_excludes(path: str = STACK_MODULE) -> list[str]:
    """CODE_EXCLUDES of the stack, read without importing the CDK (which takes seconds)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "CODE_EXCLUDES" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise LookupError(f"no CODE_EXCLUDES in {path}")


def excluded(relative: str, patterns: list[str]) -> bool:
    """`**/name` patterns, as the stack writes them: any path component matching `name`."""
    parts = relative.split(os.sep)
    for pattern in patterns:
        tail = pattern[3:] if pattern.startswith("**/") else pattern
        if any(fnmatch.fnmatch(part, tail) for part in parts) or fnmatch.fnmatch(relative, pattern):
            return True
    return False


def build_asset(target: str, source: str = LAMBDA_ROOT) -> dict[str, int]:
    """Copy the asset into `target`; return its file count and bytes, and the zipped bytes."""
    patterns = code_excludes()
    files, size = 0, 0
    archive = os.path.join(os.path.dirname(target), "asset.zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for folder, dirs, names in os.walk(source):
            dirs[:] = sorted(d for d in dirs if not excluded(os.path.relpath(os.path.join(folder, d), source), patterns))
            for name in sorted(names):
                path = os.path.join(folder, name)
                relative = os.path.relpath(path, source)
                if excluded(relative, patterns):
                    continue
                os.makedirs(os.path.join(target, os.path.dirname(relative)), exist_ok=True)
                shutil.copy2(path, os.path.join(target, relative))
                zipped.write(path, relative)
                files += 1
                size += os.path.getsize(path)
    return {"files": files, "bytes": size, "zipped_bytes": os.path.getsize(archive)}


def _env(asset: str) -> dict[str, str]:
    # A bare environment, as a Lambda sandbox has: nothing from this shell leaks into the import.
    return {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": asset, "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": "cutover"}


def import_seconds(module: str, asset: str) -> float:
    done = subprocess.run([sys.executable, "-c", IMPORT_PROBE.format(module=module)], env=_env(asset), cwd=asset,
                          capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def import_profile(module: str, asset: str) -> dict[str, float]:
    """Where one import's time goes: `-X importtime` self time by top-level package, in ms.

    Interpreter start-up (site, encodings: about 10 ms) is in the list too; it is not separable.
    """
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], env=_env(asset), cwd=asset,
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


def run(repeats: int = REPEATS) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cutover-asset-") as scratch:
        asset = os.path.join(scratch, "asset")
        size = build_asset(asset)
        modules = list(BASELINES) + [step.module for step in STEPS]
        imports = {}
        for module in modules:
            samples = [import_seconds(module, asset) for _ in range(repeats)]
            imports[module] = {"median_ms": round(statistics.median(samples) * 1000, 1),
                               "min_ms": round(min(samples) * 1000, 1), "max_ms": round(max(samples) * 1000, 1)}
        heaviest = max((m for m in modules if m not in BASELINES), key=lambda m: imports[m]["median_ms"])
        profile = {"module": heaviest, "self_ms_by_package": import_profile(heaviest, asset)}
        print(f"  cold imports: {len(modules)} modules x {repeats}", flush=True)
    handlers = {step.key: step.module for step in STEPS}
    return {"asset": size, "imports": imports, "handlers": handlers, "repeats": repeats, "profile": profile}
