"""The step functions' code asset and package layer as Lambda runs them, built the same way for the stack
and the cold-start bench.

The asset is the `cutover_steps` package without caches or tests, the layer the installed pure-Python
modules of the packages the public Powertools layer lacks and of the pinned AWS SDK (boto3, botocore
and what they need: the runtime's own SDK is whatever Lambda last put there, and its ECS model can
differ from the one `cutover plan` validated with); both carry their bytecode compiled by the
runtime's Python, found beside this one when this one is not it: Lambda's /var/task and /opt are
read-only, so without shipped bytecode every cold start compiles those modules again. The bytecode is hash-checked (PEP 552): CDK zips the asset
with fixed timestamps, which would make timestamp-checked bytecode stale on arrival, while a
checked hash stays valid for exactly the source it was compiled from (and a changed source is
compiled as usual). No CDK import here: the bench builds the asset without the seconds that costs.
"""
from __future__ import annotations

import compileall
import fnmatch
import hashlib
import importlib.machinery
import os
import py_compile
import shutil
import subprocess
import sys
from importlib import metadata
from functools import lru_cache
from pathlib import Path, PurePosixPath

import cutover_steps

from cutover.definition import checker_schema

# The Lambda runtime of every step function; the stack takes its Runtime from this name. An Amazon
# Linux 2023 runtime (cutover/cdk/runtime_support.py holds the deprecation dates a test checks).
RUNTIME_NAME = "python3.13"
# An interpreter of the runtime's Python to compile the bytecode with, when synth runs on another one.
RUNTIME_PYTHON_VARIABLE = "CUTOVER_RUNTIME_PYTHON"
CODE_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.pytest_cache", "**/tests", "**/*.egg-info"]
# The step code: the `cutover_steps` package, wherever it is imported from (lambdas/ in a checkout,
# site-packages once installed); handlers are `cutover_steps.steps.….handler` from the asset root.
RELEASE_PACKAGE = Path(cutover_steps.__file__).resolve().parent
# Packages the public Powertools layer lacks, and the pinned AWS SDK with what it needs (the versions
# installed beside this code: requirements.txt pins boto3 and botocore); each must work without its
# compiled extensions.
SDK_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
LAYER_PACKAGES = ("PyYAML", *SDK_PACKAGES)
_NATIVE = tuple(importlib.machinery.EXTENSION_SUFFIXES) + (".so", ".pyd", ".dylib", ".dll")


def environment(*, trace_aws_calls: bool = False) -> dict[str, str]:
    """What every step function's environment holds besides its table and topic.

    With `trace_aws_calls` off, Powertools' Tracer stays off and the X-Ray SDK is never imported
    (cutover_steps.runtime.observability): about 250 ms less per cold start. Lambda's active tracing still records
    each invocation (its own segments need no SDK); the SDK adds a subsegment per AWS call.
    """
    return {
        "POWERTOOLS_SERVICE_NAME": "cutover",
        "POWERTOOLS_METRICS_NAMESPACE": "Cutover",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_TRACE_DISABLED": "false" if trace_aws_calls else "true",
    }


def is_runtime_version(version: tuple[int, ...] | None = None) -> bool:
    """Whether an interpreter of `version` (this one by default) writes bytecode the runtime reads:
    bytecode is per minor version."""
    major, minor = (version or sys.version_info)[:2]
    return RUNTIME_NAME == f"python{major}.{minor}"


def _version_of(python: str) -> tuple[int, int] | None:
    try:
        done = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True,
                              text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    parts = done.stdout.split()
    return (int(parts[0]), int(parts[1])) if done.returncode == 0 and len(parts) == 2 else None


def _candidates() -> list[str]:
    """Where an interpreter of the runtime's version may be: $CUTOVER_RUNTIME_PYTHON, `python3.13` on
    the PATH, and the versions pyenv installed (the project's machines have pyenv's 3.13)."""
    found = [os.environ.get(RUNTIME_PYTHON_VARIABLE, ""), shutil.which(RUNTIME_NAME) or ""]
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    versions = Path(root, "versions")
    if versions.is_dir():
        prefix = RUNTIME_NAME.removeprefix("python") + "."
        found += [str(Path(v, "bin", RUNTIME_NAME)) for v in sorted(versions.iterdir(), reverse=True)
                  if v.name.startswith(prefix)]
    return [c for c in found if c]


@lru_cache(maxsize=1)
def runtime_python() -> str | None:
    """An interpreter of the runtime's Python version (this one when it is), or None when the machine has none."""
    if is_runtime_version():
        return sys.executable
    explicit = os.environ.get(RUNTIME_PYTHON_VARIABLE)
    if explicit and not is_runtime_version(_version_of(explicit) or (0, 0)):
        raise RuntimeError(f"{RUNTIME_PYTHON_VARIABLE}={explicit} is not a {RUNTIME_NAME} interpreter")
    return next((c for c in _candidates() if is_runtime_version(_version_of(c) or (0, 0))), None)


def compiles_for_runtime() -> bool:
    """Whether the build ships bytecode: an interpreter of the runtime's version is at hand."""
    return runtime_python() is not None


def _ignored(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern.removeprefix("**/")) for pattern in CODE_EXCLUDES)


def files(source: Path = RELEASE_PACKAGE) -> list[Path]:
    """The package's files the asset carries, relative to the package."""
    kept = []
    for folder, dirs, names in os.walk(source):
        dirs[:] = sorted(d for d in dirs if not _ignored(d))
        kept += [Path(folder, name).relative_to(source) for name in sorted(names) if not _ignored(name)]
    return kept


def _bytecode() -> str:
    """Whether bytecode ships, and for which Python: part of what decides an asset's content."""
    return f"bytecode {RUNTIME_NAME}" if compiles_for_runtime() else "sources only"


def fingerprint(source: Path = RELEASE_PACKAGE) -> str:
    """What decides the asset's content: its files, and whether bytecode ships (and for which Python)."""
    digest = hashlib.sha256(_bytecode().encode())
    for relative in files(source):
        digest.update(f"\0{relative.as_posix()}\0".encode())
        digest.update(Path(source, relative).read_bytes())
    return digest.hexdigest()


def build(output_dir: str | Path, source: Path = RELEASE_PACKAGE) -> bool:
    """Copy the package into `output_dir`/cutover_steps and compile its bytecode when this Python is the
    runtime's; return whether it did (another Python ships the sources alone: correct, slower to start)."""
    _refuse_a_stale_checker(source)
    target = Path(output_dir, "cutover_steps")
    shutil.copytree(source, target, dirs_exist_ok=True, ignore=lambda _, names: [n for n in names if _ignored(n)])
    return _compile(target, f"the step code in {source}")


def _refuse_a_stale_checker(source: Path) -> None:
    """LoadRelease checks configs with a description of the models generated from them (`make checker`):
    an asset must not carry one that the models have moved away from."""
    if source != RELEASE_PACKAGE:
        return
    if checker_schema.stale():
        raise RuntimeError(f"{checker_schema.TARGET} does not describe the config models as they are: run make checker")


def _compile(folder: Path, what: str) -> bool:
    python = runtime_python()
    if python is None:
        return False
    if python == sys.executable:
        compiled = compileall.compile_dir(str(folder), quiet=1, workers=1,
                                          invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    else:
        done = subprocess.run([python, "-m", "compileall", "-q", "--invalidation-mode", "checked-hash", str(folder)],
                              capture_output=True, text=True, timeout=600)
        compiled = done.returncode == 0
    if not compiled:
        raise RuntimeError(f"{what} does not compile")
    return True


def installed_version(package: str) -> str:
    """The version of `package` installed beside this code (the one the tests ran with)."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError as error:
        raise LookupError(f"{package} is not installed; install cutover[cdk] (or requirements.txt)") from error


def layer_requirements(packages: tuple[str, ...] = LAYER_PACKAGES) -> tuple[str, ...]:
    return tuple(f"{package}=={installed_version(package)}" for package in packages)


def layer_fingerprint(packages: tuple[str, ...] = LAYER_PACKAGES) -> str:
    """What decides the layer's content: the packages' versions, and whether bytecode ships."""
    return hashlib.sha256("\n".join((*layer_requirements(packages), "pure-python", _bytecode())).encode()).hexdigest()


def pure_python_files(package: str) -> list[tuple[Path, PurePosixPath]]:
    """(installed file, path inside the layer's python/ folder) for the package's modules and metadata.

    Compiled extensions, bytecode and scripts are left out: they belong to the machine that installed them.
    """
    distribution = metadata.distribution(package)
    files = []
    for entry in distribution.files or ():
        relative = PurePosixPath(str(entry))
        if relative.parts[0] == ".." or "__pycache__" in relative.parts or relative.name.endswith(_NATIVE):
            continue
        if relative.parts[0].endswith(".dist-info") and relative.name != "METADATA":
            continue
        files.append((Path(distribution.locate_file(entry)), relative))
    return files


def build_layer(output_dir: str | Path, packages: tuple[str, ...] = LAYER_PACKAGES) -> bool:
    """Copy the installed packages' pure-Python files into `output_dir`/python, with their bytecode
    compiled as the step code's is; return whether bytecode ships."""
    root = Path(output_dir, "python")
    for package in packages:
        for source, relative in pure_python_files(package):
            target = Path(root, *relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    return _compile(root, f"the layer's packages ({', '.join(packages)})")
