"""What one process of a test run computes for every process of it (pytest-xdist workers): the first
to ask computes and writes it, under a lock, in the run's common temporary directory; the others read it."""
from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any, Callable

import pytest


def run_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary directory every process of this run shares (a worker's own is inside it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if "PYTEST_XDIST_WORKER" in os.environ else base


def computed_once(directory: Path, name: str, compute: Callable[[], Any]) -> Any:
    """compute()'s result (JSON), computed by the first process of the run that asks."""
    path = directory / f"{name}.json"
    with open(directory / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            value = compute()
            path.with_suffix(".tmp").write_text(json.dumps(value))
            path.with_suffix(".tmp").rename(path)
    return json.loads(path.read_text())
