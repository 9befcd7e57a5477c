"""Run the real Lambda handlers in-process when moto's interpreter invokes a function.

moto's Lambda backend without Docker only echoes; its one `invoke` method is replaced here by a
dispatcher to the project's handlers (private moto API: moto is pinned exactly for this).
Errors come back the way Lambda reports them, so Retry and Catch match the error's class name.
The same dispatcher serves check functions (`release.verify[].lambda`) registered as local Python
functions (`cutover sandbox up --function`); a function that is neither is not found, as on AWS.
"""
from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from moto.awslambda.exceptions import UnknownFunctionException
from moto.awslambda_simple.models import LambdaSimpleBackend

from cutover.local import iam
from cutover.local.account import FUNCTION_PREFIX, function_name
from cutover_steps.adapters import clients as aws
from cutover_steps.registry import BY_KEY, STOPPED_RELEASE_HANDLER, may_change_after_a_stop

CHECK_FUNCTION_NAME = r"^[A-Za-z0-9_-]{1,64}$"

# Called around every handler: (step key, event) before, (step key, event, result) after.
# The fault tests hook in here; nothing else does.
Hook = Callable[..., None]
before_hooks: list[Hook] = []
after_hooks: list[Hook] = []
invocations: list[tuple[str, float]] = []
# Check functions of the account: name -> a Python function called as a Lambda handler (event, context).
check_functions: dict[str, Callable[[Any, Any], Any]] = {}
# A step's time limit here, when not its function's own (a test of a wait longer than the limit).
time_limits: dict[str, float] = {}
# Steps whose function sleeps this long after it starts, before it changes anything (`--slow`).
delays: dict[str, float] = {}
_lock = threading.Lock()
_running = threading.local()
# Set while the account ends: every running handler is then out of time, so that none outlives it.
_ending = threading.Event()
_handlers_running = 0


@dataclass
class LocalContext:
    """The attributes of a Lambda context that Powertools reads, and the time the function has left
    (from its time limit, as Lambda counts it from the start of the invocation)."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 256
    aws_request_id: str = ""
    log_group_name: str = "local"
    log_stream_name: str = "local"
    time_limit_seconds: float = 60.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.time_limit_seconds

    def get_remaining_time_in_millis(self) -> int:
        if _ending.is_set():
            return 0
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _function_name(function: str) -> str:
    """The name in a function name or ARN (`arn:…:function:NAME[:QUALIFIER]`)."""
    return function.split(":function:", 1)[1].split(":")[0] if ":function:" in function else function


def _step_key(function: str) -> str | None:
    name = _function_name(function)
    if not name.startswith(FUNCTION_PREFIX) or name[len(FUNCTION_PREFIX):] not in BY_KEY:
        return None
    return name[len(FUNCTION_PREFIX):]


def add_check_function(name: str, handler: Callable[[Any, Any], Any]) -> None:
    """Deploy `handler` as the Lambda function `name` of the local account."""
    if not re.match(CHECK_FUNCTION_NAME, name) or _step_key(name):
        raise ValueError(f"function name {name!r}: 1-64 letters, digits, - and _, not a release step's name")
    with _lock:
        check_functions[name] = handler


def _run_check_function(name: str, function: str, event: Any) -> Any:
    context = LocalContext(function_name=name, invoked_function_arn=function, aws_request_id=str(uuid.uuid4()))
    # It is a function of its own, not the step that invoked it: its calls are not the step's.
    with iam.running(None):
        return check_functions[name](event, context)


def current() -> tuple[str, dict[str, Any]] | None:
    """(step key, event) of the handler this thread runs now: faults aimed at one step's AWS calls
    find it here (each invocation runs on its own interpreter thread)."""
    return getattr(_running, "step", None)


class LambdaTimedOut(Exception):
    """Lambda stopped the function at its timeout; this is how Lambda names that error."""

    error_type = "Sandbox.Timedout"


def time_limit(key: str) -> float:
    return time_limits.get(key, BY_KEY[key].timeout_seconds)


def deployed_timeouts() -> str:
    """FUNCTION_TIMEOUTS as the stack gives it to the undo of stopped releases, for the functions as
    deployed here (their time limits, shortened by a test or not)."""
    return json.dumps([[function_name(key), time_limit(key) if may_change_after_a_stop(key) else 0]
                       for key in BY_KEY if key != STOPPED_RELEASE_HANDLER])


def _slow_start(key: str) -> None:
    """A slow function: it sleeps before it changes anything, and Lambda stops it at its time limit."""
    seconds, limit = delays.get(key, 0), time_limit(key)
    if not seconds:
        return
    if _ending.wait(min(seconds, limit)):
        raise LambdaTimedOut(f"RequestId: {uuid.uuid4()} Error: the account ended while the function slept")
    if seconds >= limit:
        raise LambdaTimedOut(f"RequestId: {uuid.uuid4()} Error: Task timed out after {limit:.2f} seconds")


def run_step(key: str, event: dict[str, Any], arn: str = "") -> Any:
    handler = importlib.import_module(BY_KEY[key].module).handler
    outer, _running.step = current(), (key, event)
    try:
        for hook in list(before_hooks):
            hook(key, event)
        context = LocalContext(function_name=function_name(key), invoked_function_arn=arn, aws_request_id=str(uuid.uuid4()),
                               time_limit_seconds=time_limit(key))
        if key == STOPPED_RELEASE_HANDLER:
            os.environ["FUNCTION_TIMEOUTS"] = deployed_timeouts()
        with iam.running(key), _counted():
            _slow_start(key)
            result = handler(event, context)
        for hook in list(after_hooks):
            hook(key, event, result)
        return result
    finally:
        _running.step = outer


@contextlib.contextmanager
def _counted() -> Iterator[None]:
    global _handlers_running
    with _lock:
        _handlers_running += 1
    try:
        yield
    finally:
        with _lock:
            _handlers_running -= 1


def end_running_handlers(timeout: float = 30) -> None:
    """Run out the time of every handler still running (a watch whose execution was stopped sleeps
    on, as on AWS) and wait until they have returned: none may call an account that has ended."""
    _ending.set()
    deadline = time.time() + timeout
    while _handlers_running and time.time() < deadline:
        time.sleep(0.05)


def _invoke(self, function_name_or_arn, qualifier, body, headers, response_headers):  # noqa: ANN001 (moto's signature)
    key, name = _step_key(function_name_or_arn), _function_name(function_name_or_arn)
    if key is None and name not in check_functions:
        raise UnknownFunctionException(function_name_or_arn)
    with _lock:
        invocations.append((key or name, time.time()))
    event = json.loads(body) if body else {}
    try:
        result = run_step(key, event, function_name_or_arn) if key else _run_check_function(name, function_name_or_arn, event)
    except Exception as error:  # reported to the interpreter as Lambda does, not raised
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps({
            # Lambda's own errors (a timeout: "Sandbox.Timedout") carry a name no class can have.
            "errorType": getattr(error, "error_type", type(error).__name__),
            "errorMessage": str(error),
            "stackTrace": traceback.format_exception(error)[-3:],
        }).encode()
    return json.dumps(result).encode()


def reset() -> None:
    """Forget hooks and invocations: a new account starts with no fault aimed at its steps."""
    with _lock:
        before_hooks.clear()
        after_hooks.clear()
        invocations.clear()
        check_functions.clear()
        time_limits.clear()
        delays.clear()
    _ending.clear()


def install() -> None:
    LambdaSimpleBackend.invoke = _invoke
    # Handlers run with their function's permissions only, as on AWS.
    aws.on_new_client(iam.enforce_on)
