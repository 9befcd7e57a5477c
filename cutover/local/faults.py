"""Faults the local engine can inject, for tests of what a release does when AWS misbehaves.

- `throttle(...)`: AWS answers a call with a throttling error a few times before it goes through,
  as AWS does under load. The error is produced where the HTTP response would be, so the SDK's
  own retries (standard mode, backoff with jitter) see it; more throttles in a row than the SDK
  makes attempts (6, see cutover_steps.adapters.clients) make the step fail with `AwsThrottled`, which the state
  machine retries.
- `deny(...)`: every AWS call of one step fails with the called service's own AccessDenied
  error, as when the function's role lacks a permission.
- `crash_before(...)` / `crash_after(...)`: a step's function dies before its AWS change, or
  after it and before it can report (an out-of-memory kill); Step Functions sees an error and
  retries.
- `time_out(...)`: a step's function runs past its Lambda timeout after its change; Lambda
  reports `Sandbox.Timedout`, the error name Step Functions gives the Task state.
- `refuse(...)`: a step fails with a given error before it does anything, every time.

All are context managers that undo themselves. They act on the release steps' own clients
(`cutover_steps.adapters.clients.client`) and handler hooks only, never on the test's or the data plane's clients.
A fault is aimed at steps by registry key, or by `Target` when the step serves several states of
the definition (CheckHealth, WatchAlarms, UnlockService) and only one of them should fail.
"""
from __future__ import annotations

import contextlib
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Union

import boto3

from botocore.awsrequest import AWSResponse
from botocore.retries.standard import ExponentialBackoff

from cutover.local import iam, lambdas
from cutover.local.lambdas import LambdaTimedOut
from cutover_steps.adapters import clients as aws
from cutover_steps.registry import BY_KEY

# The calls that change something, per client: what a throttle is about.
MUTATING = {
    "elbv2": {"CreateTargetGroup", "DeleteTargetGroup", "ModifyRule", "AddTags", "RemoveTags"},
    "ecs": {"RegisterTaskDefinition", "CreateService", "UpdateService", "DeleteService", "TagResource",
            "UntagResource"},
    "application-autoscaling": {"RegisterScalableTarget", "PutScalingPolicy"},
    "dynamodb": {"PutItem", "UpdateItem", "DeleteItem"},
}


EVERY_CALL = "*"


class _RawBody:
    """Just enough of urllib3's response for botocore to read a body it did not fetch."""

    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body

    def read(self, *_: Any, **__: Any) -> bytes:
        return self._body


def _cbor_text(text: str) -> bytes:
    data = text.encode()
    if len(data) < 24:
        return bytes([0x60 + len(data)]) + data
    if len(data) < 256:
        return bytes([0x78, len(data)]) + data
    return bytes([0x79]) + len(data).to_bytes(2, "big") + data


def error_response(url: str, protocol: str, code: str, message: str, status: int = 400) -> AWSResponse:
    """The HTTP answer a service of `protocol` gives for error `code`, for botocore to parse."""
    if protocol in ("query", "rest-xml", "ec2"):
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                f"</Error><RequestId>fault</RequestId></ErrorResponse>").encode()
        headers = {"Content-Type": "text/xml"}
    elif protocol == "smithy-rpc-v2-cbor":
        # CloudWatch's protocol: a CBOR map {"__type": code, "message": message}.
        body = bytes([0xA2]) + _cbor_text("__type") + _cbor_text(code) + _cbor_text("message") + _cbor_text(message)
        headers = {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}
    return AWSResponse(url, status, headers, _RawBody(body))


def throttling_response(url: str, protocol: str) -> AWSResponse:
    code = "Throttling" if protocol == "query" else "ThrottlingException"
    return error_response(url, protocol, code, "Rate exceeded")


# The Service Authorization Reference's prefix -> the client of that service.
CLIENT_OF_PREFIX = {
    "elasticloadbalancing": "elbv2", "ecs": "ecs", "application-autoscaling": "application-autoscaling",
    "dynamodb": "dynamodb", "sns": "sns", "cloudwatch": "cloudwatch", "s3": "s3", "states": "stepfunctions",
    "tag": "resourcegroupstaggingapi",
}
IAM_PREFIX = {client: prefix for prefix, client in CLIENT_OF_PREFIX.items()}


def step_clients(step: str) -> set[str]:
    """The clients a step's calls (registry) go through; iam:PassRole is checked inside other calls."""
    return {CLIENT_OF_PREFIX[call.split(":")[0]] for call in BY_KEY[step].calls if call.split(":")[0] in CLIENT_OF_PREFIX}


@dataclass(frozen=True)
class Target:
    """One step, and when it serves several states of the definition, the one state meant."""

    step: str
    state: str | None = None

    def matches(self, key: str, event: dict[str, Any]) -> bool:
        return key == self.step and (self.state is None or state_of(event) == self.state)


Aim = Union[str, Target]
_sfn_lock = threading.Lock()
_sfn: list[Any] = []


def state_of(event: dict[str, Any]) -> str | None:
    """The state of the definition that invoked this step, from its execution's history."""
    from cutover.operations import executions as operations

    arn = (event.get("release") or {}).get("execution_id")
    if not arn:
        return None
    with _sfn_lock:
        if not _sfn:
            _sfn.append(boto3.session.Session().client("stepfunctions"))
    return operations.state_now(_sfn[0], arn)


def _targets(aims: Iterable[Aim]) -> list[Target]:
    return [aim if isinstance(aim, Target) else Target(aim) for aim in aims]


def _running_in(targets: list[Target]) -> bool:
    running = lambdas.current()
    return running is not None and any(t.matches(*running) for t in targets)


@contextlib.contextmanager
def _answer_calls(clients: Iterable[str], answer: Callable[[str, str, Any, str], AWSResponse | None]) -> Iterator[None]:
    """Let `answer(client, operation, request, protocol)` reply in AWS's place to the release
    steps' calls; None lets the call through."""
    stubber = _moto_stubber()
    installed = []
    for name in clients:
        client = aws.client(name)
        # The protocol the client speaks: the first of the service's that this botocore supports.
        model = client.meta.service_model
        protocol = getattr(model, "resolved_protocol", None) or model.protocol
        events = client.meta.events

        def send(request, event_name: str, _name=name, _protocol=protocol, **kwargs):
            response = answer(_name, event_name.rsplit(".", 1)[-1], request, _protocol)
            if response is not None:
                return response
            # In-process, moto answers in this same event; it must not also run an answered call,
            # so it is called from here instead of beside this handler.
            return stubber(event_name=event_name, request=request, **kwargs) if stubber else None

        if stubber:
            events.unregister("before-send", stubber)
        events.register_first("before-send", send)
        installed.append((events, send))
    try:
        yield
    finally:
        for events, send in installed:
            events.unregister("before-send", send)
            if stubber:
                events.register("before-send", stubber)


@dataclass
class Throttle:
    """Each mutating call is answered with a throttling error `per_call` times, then goes through.

    `total` caps the throttles over the whole run (None: no cap). `throttled` counts what was
    sent back, per "client.Operation", so a test can show the fault really happened.
    """

    per_call: int = 1
    total: int | None = None
    operations: dict[str, set[str]] = field(default_factory=lambda: {k: set(v) for k, v in MUTATING.items()})
    steps: list[Target] | None = None
    throttled: dict[str, int] = field(default_factory=dict)
    _in_a_row: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def should_throttle(self, client_name: str, operation: str) -> bool:
        wanted = self.operations.get(client_name, set())
        if EVERY_CALL not in wanted and operation not in wanted:
            return False
        if self.steps is not None and not _running_in(self.steps):
            return False
        key = f"{client_name}.{operation}"
        with self._lock:
            if self.total is not None and sum(self.throttled.values()) >= self.total:
                return False
            if self._in_a_row.get(key, 0) >= self.per_call:
                self._in_a_row[key] = 0  # this attempt goes through; the next call is throttled again
                return False
            self._in_a_row[key] = self._in_a_row.get(key, 0) + 1
            self.throttled[key] = self.throttled.get(key, 0) + 1
            return True


def _moto_stubber():
    """moto's in-process responder, when the engine runs in-process (None against a server)."""
    try:
        from moto.core.models import botocore_stubber
    except ImportError:  # pragma: no cover - moto is a dependency of the local engine
        return None
    return botocore_stubber


@contextlib.contextmanager
def throttle(per_call: int = 1, *, total: int | None = None,
             operations: dict[str, Iterable[str]] | None = None,
             steps: Iterable[Aim] | None = None,
             sdk_backoff_scale: float | None = None) -> Iterator[Throttle]:
    """Throttle the release steps' mutating calls while the block runs.

    `operations` names other calls per client (`EVERY_CALL` for all of a client's calls);
    `steps` throttles only the calls those steps make. `sdk_backoff_scale` shrinks the SDK's
    back-off on throttling (1 s doubling, up to 20 s), not the number of its retries, so a test
    can exhaust them in a moment.
    """
    plan = Throttle(per_call=per_call, total=total, steps=_targets(steps) if steps is not None else None)
    backoff_config = ExponentialBackoff._DEFAULT_BACKOFF_CONFIG
    if sdk_backoff_scale is not None:
        ExponentialBackoff._DEFAULT_BACKOFF_CONFIG = {**backoff_config, "throttling_base_scale": sdk_backoff_scale}
    if operations is not None:
        plan.operations = {k: set(v) for k, v in operations.items()}

    def answer(client: str, operation: str, request, protocol: str) -> AWSResponse | None:
        return throttling_response(request.url, protocol) if plan.should_throttle(client, operation) else None

    try:
        with _answer_calls(plan.operations, answer):
            yield plan
    finally:
        ExponentialBackoff._DEFAULT_BACKOFF_CONFIG = backoff_config


def every_call_of(step: str) -> dict[str, set[str]]:
    """`operations` for `throttle`: every call a step makes, reads included."""
    return {client: {EVERY_CALL} for client in step_clients(step)}


@contextlib.contextmanager
def deny(aim: Aim, clients: Iterable[str] | None = None) -> Iterator[dict[str, int]]:
    """Every AWS call of the aimed step fails with the service's AccessDenied, as when the
    function's role lacks the permission. `clients`: the services denied (default: those of the
    step's calls in the registry). Yields the count of denied calls per "client.Operation"."""
    targets = _targets([aim])
    denied: dict[str, int] = {}
    lock = threading.Lock()

    def answer(client: str, operation: str, request, protocol: str) -> AWSResponse | None:
        running = lambdas.current()
        if not _running_in(targets):
            return None
        with lock:
            denied[f"{client}.{operation}"] = denied.get(f"{client}.{operation}", 0) + 1
        code, status = iam.ACCESS_DENIED[client]
        role = lambdas.function_name(running[0])
        message = (f"User: arn:aws:sts::123456789012:assumed-role/{role}/{role} is not authorized to perform: "
                   f"{IAM_PREFIX[client]}:{operation} because no identity-based policy allows the "
                   f"{IAM_PREFIX[client]}:{operation} action")
        return error_response(request.url, protocol, code, message, status)

    with _answer_calls(step_clients(targets[0].step) if clients is None else clients, answer):
        yield denied


class Crash(Exception):
    """The function died (before or after its work), before it could report the result."""


def _strike(aims: Iterable[Aim], times: int, error: Callable[[str], Exception]) -> tuple[Callable[..., None], dict[str, int]]:
    """A hook that raises `error(step)` the first `times` runs of each aimed step."""
    targets = _targets(aims)
    remaining = {target: times for target in targets}
    struck: dict[str, int] = {}
    lock = threading.Lock()

    def hook(key: str, event: dict[str, Any], *_: Any) -> None:
        for target in targets:
            if remaining[target] <= 0 or not target.matches(key, event):
                continue
            with lock:
                if remaining[target] <= 0:
                    return
                remaining[target] -= 1
                struck[key] = struck.get(key, 0) + 1
            raise error(key)

    return hook, struck


@contextlib.contextmanager
def _hooked(hooks: list, hook: Callable) -> Iterator[None]:
    """`hook` in the local Lambda dispatch's `hooks` for the block."""
    hooks.append(hook)
    try:
        yield
    finally:
        hooks.remove(hook)


@contextlib.contextmanager
def crash_before(steps: Iterable[Aim], times: int = 1) -> Iterator[dict[str, int]]:
    """Make each aimed step crash `times` times as it starts, before any AWS change."""
    hook, crashed = _strike(steps, times, lambda key: Crash(f"{key} crashed before its change"))
    with _hooked(lambdas.before_hooks, hook):
        yield crashed


@contextlib.contextmanager
def crash_after(steps: Iterable[Aim], times: int = 1) -> Iterator[dict[str, int]]:
    """Make each aimed step (registry key, e.g. "CreateService") crash `times` times right after
    its handler returned. Yields the count of crashes per step."""
    hook, crashed = _strike(steps, times, lambda key: Crash(f"{key} crashed after its change"))
    with _hooked(lambdas.after_hooks, hook):
        yield crashed


@contextlib.contextmanager
def time_out(steps: Iterable[Aim], times: int = 1) -> Iterator[dict[str, int]]:
    """Make each aimed step run past its Lambda timeout `times` times, after its AWS change: Lambda
    answers the invoke with `{"errorType": "Sandbox.Timedout", "errorMessage": "RequestId: …
    Error: Task timed out after N.00 seconds"}`, and Step Functions reports `Sandbox.Timedout`."""

    def timed_out(key: str) -> Exception:
        return LambdaTimedOut(f"RequestId: {uuid.uuid4()} Error: Task timed out after {BY_KEY[key].timeout_seconds}.00 seconds")

    hook, struck = _strike(steps, times, timed_out)
    with _hooked(lambdas.after_hooks, hook):
        yield struck


@contextlib.contextmanager
def stop_while_running(aim: Aim, stop: Callable[[str], None], slow_seconds: float = 1.0,
                       time_limit: float = 3.0) -> Iterator[threading.Event]:
    """Make the aimed step's function slow (it sleeps `slow_seconds` before its change, with
    `time_limit` as its function's timeout) and call `stop(execution ARN)` when it starts the first
    time: the stop lands while the function runs, and its change after it, as on AWS."""
    (target,) = _targets([aim])
    stopped = threading.Event()

    def hook(key: str, event: dict[str, Any]) -> None:
        if target.matches(key, event) and not stopped.is_set():
            stopped.set()
            stop(event["release"]["execution_id"])

    lambdas.delays[target.step] = slow_seconds
    # The function's timeout stays for the account: the undo, running after the block, waits by it.
    lambdas.time_limits[target.step] = time_limit
    try:
        with _hooked(lambdas.before_hooks, hook):
            yield stopped
    finally:
        lambdas.delays.pop(target.step, None)


@contextlib.contextmanager
def refuse(step: Aim, error: Exception) -> Iterator[None]:
    """Make the aimed step fail with `error` before it does anything, every time it runs."""
    targets = _targets([step])

    def hook(key: str, event: dict[str, Any]) -> None:
        if any(target.matches(key, event) for target in targets):
            raise error

    with _hooked(lambdas.before_hooks, hook):
        yield


class StepFailed(Exception):
    """A rehearsed failure: the step fails every time with an error nobody planned for."""


REHEARSAL_MODES = {
    "error": "fails every time with an unexpected error, before it does anything",
    "throttle": "every AWS call it makes is throttled, every time",
    "crash": "dies right after its AWS change, every time",
}


def parse_rehearsal(specs: Iterable[str]) -> list[tuple[str, str]]:
    """["RecordRelease:error", …] -> [(step, mode)]; a bad spec raises ValueError naming the choices."""
    parsed = []
    for spec in specs:
        step, sep, mode = spec.partition(":")
        if not sep or step not in BY_KEY:
            raise ValueError(f"--fail {spec!r}: write STEP:MODE with STEP one of {', '.join(BY_KEY)}")
        if mode not in REHEARSAL_MODES:
            raise ValueError(f"--fail {spec!r}: MODE is one of {', '.join(REHEARSAL_MODES)}")
        parsed.append((step, mode))
    return parsed


@contextlib.contextmanager
def rehearsal(specs: Iterable[str]) -> Iterator[list[tuple[str, str]]]:
    """Make each named step fail every time in its mode, while the block runs."""
    failures = parse_rehearsal(specs)
    with contextlib.ExitStack() as stack:
        for step, mode in failures:
            if mode == "error":
                stack.enter_context(refuse(step, StepFailed(f"{step} fails every time (rehearsal: --fail {step}:error)")))
            elif mode == "crash":
                stack.enter_context(crash_after([step], times=10**9))
        throttled = [step for step, mode in failures if mode == "throttle"]
        if throttled:
            operations: dict[str, set[str]] = {}
            for step in throttled:
                for name, calls in every_call_of(step).items():
                    operations.setdefault(name, set()).update(calls)
            # The SDK's back-off is shortened: what is rehearsed is the release's answer to a step
            # that cannot get through, not the minutes of waiting before it.
            stack.enter_context(throttle(per_call=10**9, operations=operations, steps=throttled, sdk_backoff_scale=0.05))
        yield failures
