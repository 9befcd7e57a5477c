"""The SDK's data files (service models, endpoints) read once per process and shared by every botocore
session in it.

Each botocore session reads and parses those JSON files again through a loader of its own, a few
tenths of a second of CPU per session and service. The local engine's process makes many: the
engine's own, moto's interpreter's each time its mock starts, one per command a test runs in-process.
The files do not change while it runs, so one loader (and its cache) serves every session with the
same search path; a session given a data path of its own gets a loader of its own. Measured on two
release test files, the process's CPU fell by about a sixth. What the SDK does with the data is unchanged.
"""
from __future__ import annotations

import threading

import botocore.loaders
import botocore.session

_loaders: dict[str | None, botocore.loaders.Loader] = {}
_lock = threading.Lock()
_original = botocore.loaders.create_loader


def _shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
    with _lock:
        if search_path_string not in _loaders:
            _loaders[search_path_string] = _original(search_path_string)
        return _loaders[search_path_string]


def share() -> None:
    """From now on, sessions created in this process share one loader per search path (idempotent)."""
    # A session makes its loader through the name botocore.session imported (Session._register_data_loader).
    botocore.session.create_loader = _shared_loader
