"""boto3 clients shared by the steps, created once per process (Lambda reuses warm processes) from one
boto3 session: each new session loads the SDK's service models again."""
from __future__ import annotations

import json
import os
import threading
from typing import Callable

import boto3
from botocore.config import Config

from cutover_steps.adapters import aws_errors

# Standard retry mode backs off with jitter on throttling before the state machine's own Retry.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})
_lock = threading.Lock()
_clients: dict[tuple[str, str | None, str | None, int | None], object] = {}
_client_hooks: list[Callable[[object], None]] = []
_session: list[boto3.session.Session] = []


def client(name: str, read_timeout: int | None = None):
    """The steps' client of `name`. `read_timeout`: a client that waits that long for an answer and
    sends each request once (no SDK retry), for a call with a time budget of its own."""
    # Client creation is not thread-safe; locally several steps run at once on one process.
    key = (name, os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("AWS_DEFAULT_REGION"), read_timeout)
    config = _CONFIG if read_timeout is None else _CONFIG.merge(
        Config(read_timeout=read_timeout, retries={"mode": "standard", "total_max_attempts": 1}))
    with _lock:
        if key not in _clients:
            if not _session:
                _session.append(boto3.session.Session())
            created = _session[0].client(name, config=config)
            aws_errors.install(created)
            for hook in _client_hooks:
                hook(created)
            _clients[key] = created
        return _clients[key]


def client_from(session: boto3.session.Session, name: str, **kwargs):
    """A client of `session` made under the steps' lock: one session can serve the steps and others."""
    with _lock:
        return session.client(name, **kwargs)


def on_new_client(hook: Callable[[object], None]) -> None:
    """Call `hook` on every client made from now on (the local engine enforces IAM this way)."""
    with _lock:
        if hook not in _client_hooks:
            _client_hooks.append(hook)
        _clients.clear()


def reset(session: boto3.session.Session | None = None) -> None:
    """Forget cached clients (the local engine calls this when it switches endpoints); the next ones
    are made from `session` (default: a new one, which reads the credentials of the environment)."""
    with _lock:
        _clients.clear()
        _session[:] = [session] if session else []


def release_table() -> str:
    return os.environ["RELEASE_TABLE"]


def release_table_known() -> bool:
    return bool(os.environ.get("RELEASE_TABLE"))


def notification_topic() -> str | None:
    return os.environ.get("NOTIFICATION_TOPIC_ARN")


def undo_state_machine() -> str:
    """The undo's state machine (statemachine/undo.asl.json), which the undo function starts."""
    return os.environ["UNDO_STATE_MACHINE_ARN"]


def function_timeouts() -> dict[str, int]:
    """Each release function's timeout (function ARN -> seconds), as the stack deployed them: how
    long a function the state machine scheduled may still run after its execution ended."""
    pairs = json.loads(os.environ.get("FUNCTION_TIMEOUTS") or "[]")
    return {str(function): int(seconds) for function, seconds in pairs}
