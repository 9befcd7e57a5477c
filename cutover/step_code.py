"""The step functions' code asset as Lambda runs it, built the same way for the stack and the cold-start bench.

The asset is the `release` package without caches or tests, plus its bytecode compiled by the
runtime's Python: Lambda's /var/task is read-only, so without shipped bytecode every cold start
compiles the project's modules again. The bytecode is hash-checked (PEP 552): CDK zips the asset
with fixed timestamps, which would make timestamp-checked bytecode stale on arrival, while a
checked hash stays valid for exactly the source it was compiled from (and a changed source is
compiled as usual). No CDK import here: the bench builds the asset without the seconds that costs.
"""
from __future__ import annotations

import compileall
import fnmatch
import hashlib
import os
import py_compile
import shutil
import sys
from pathlib import Path

import release

# The Lambda runtime of every step function; the stack takes its Runtime from this name.
RUNTIME_NAME = "python3.11"
CODE_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.pytest_cache", "**/tests", "**/*.egg-info"]
# The step code: the `release` package, wherever it is imported from (lambdas/ in a checkout,
# site-packages once installed); handlers are `release.steps.….handler` from the asset root.
RELEASE_PACKAGE = Path(release.__file__).resolve().parent


def environment(*, trace_aws_calls: bool = False) -> dict[str, str]:
    """What every step function's environment holds besides its table and topic.

    With `trace_aws_calls` off, Powertools' Tracer stays off and the X-Ray SDK is never imported
    (release.observability): about 250 ms less per cold start. Lambda's active tracing still records
    each invocation (its own segments need no SDK); the SDK adds a subsegment per AWS call.
    """
    return {
        "POWERTOOLS_SERVICE_NAME": "cutover",
        "POWERTOOLS_METRICS_NAMESPACE": "Cutover",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_TRACE_DISABLED": "false" if trace_aws_calls else "true",
    }


def compiles_for_runtime(version: tuple[int, ...] | None = None) -> bool:
    """Whether this interpreter writes bytecode the runtime reads: bytecode is per minor version."""
    major, minor = (version or sys.version_info)[:2]
    return RUNTIME_NAME == f"python{major}.{minor}"


def _ignored(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern.removeprefix("**/")) for pattern in CODE_EXCLUDES)


def files(source: Path = RELEASE_PACKAGE) -> list[Path]:
    """The package's files the asset carries, relative to the package."""
    kept = []
    for folder, dirs, names in os.walk(source):
        dirs[:] = sorted(d for d in dirs if not _ignored(d))
        kept += [Path(folder, name).relative_to(source) for name in sorted(names) if not _ignored(name)]
    return kept


def fingerprint(source: Path = RELEASE_PACKAGE) -> str:
    """What decides the asset's content: its files, and whether bytecode ships (and for which Python)."""
    digest = hashlib.sha256((f"bytecode {RUNTIME_NAME}" if compiles_for_runtime() else "sources only").encode())
    for relative in files(source):
        digest.update(f"\0{relative.as_posix()}\0".encode())
        digest.update(Path(source, relative).read_bytes())
    return digest.hexdigest()


def build(output_dir: str | Path, source: Path = RELEASE_PACKAGE) -> bool:
    """Copy the package into `output_dir`/release and compile its bytecode when this Python is the
    runtime's; return whether it did (another Python ships the sources alone: correct, slower to start)."""
    target = Path(output_dir, "release")
    shutil.copytree(source, target, dirs_exist_ok=True, ignore=lambda _, names: [n for n in names if _ignored(n)])
    if not compiles_for_runtime():
        return False
    compiled = compileall.compile_dir(str(target), quiet=1, workers=1,
                                      invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    if not compiled:
        raise RuntimeError(f"the step code in {source} does not compile")
    return True
