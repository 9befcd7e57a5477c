"""Faults the local engine can inject, for tests of what a release does when AWS misbehaves.

- `throttle(...)`: AWS answers a mutating call with a throttling error a few times before it
  goes through, as AWS does under load. The error is produced where the HTTP response would be,
  so the SDK's own retries (standard mode, backoff with jitter) see it; more throttles in a row
  than the SDK makes attempts (6, see release.aws) make the step fail with `AwsThrottled`,
  which the state machine retries.
- `crash_after(...)`: a step's handler finishes its AWS change and then the function dies before
  it can report (a timeout, an out-of-memory kill); Step Functions sees an error and retries.

Both are context managers that undo themselves. They act on the release steps' own clients
(`release.aws.client`) and handler hooks only, never on the test's or the data plane's clients.
"""
from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from botocore.awsrequest import AWSResponse
from botocore.retries.standard import ExponentialBackoff

from cutover.local import lambdas
from release import aws

# The calls that change something, per client: what a throttle is about.
MUTATING = {
    "elbv2": {"CreateTargetGroup", "DeleteTargetGroup", "ModifyRule", "AddTags", "RemoveTags"},
    "ecs": {"RegisterTaskDefinition", "CreateService", "UpdateService", "DeleteService", "TagResource",
            "UntagResource"},
    "application-autoscaling": {"RegisterScalableTarget", "DeregisterScalableTarget", "PutScalingPolicy"},
    "dynamodb": {"PutItem", "UpdateItem", "DeleteItem"},
}


class _RawBody:
    """Just enough of urllib3's response for botocore to read a body it did not fetch."""

    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body

    def read(self, *_: Any, **__: Any) -> bytes:
        return self._body


def throttling_response(url: str, protocol: str) -> AWSResponse:
    if protocol == "query":
        body = (
            b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
            b"<Message>Rate exceeded</Message></Error><RequestId>throttled</RequestId></ErrorResponse>"
        )
        headers = {"Content-Type": "text/xml"}
    else:
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": "ThrottlingException"}
    return AWSResponse(url, 400, headers, _RawBody(body))


@dataclass
class Throttle:
    """Each mutating call is answered with a throttling error `per_call` times, then goes through.

    `total` caps the throttles over the whole run (None: no cap). `throttled` counts what was
    sent back, per "client.Operation", so a test can show the fault really happened.
    """

    per_call: int = 1
    total: int | None = None
    operations: dict[str, set[str]] = field(default_factory=lambda: {k: set(v) for k, v in MUTATING.items()})
    throttled: dict[str, int] = field(default_factory=dict)
    _in_a_row: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def should_throttle(self, client_name: str, operation: str) -> bool:
        if operation not in self.operations.get(client_name, set()):
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
             sdk_backoff_scale: float | None = None) -> Iterator[Throttle]:
    """Throttle the release steps' mutating calls while the block runs.

    `sdk_backoff_scale` shrinks the SDK's back-off on throttling (1 s doubling, up to 20 s), not
    the number of its retries, so a test can exhaust them in a moment.
    """
    plan = Throttle(per_call=per_call, total=total)
    backoff_config = ExponentialBackoff._DEFAULT_BACKOFF_CONFIG
    if sdk_backoff_scale is not None:
        ExponentialBackoff._DEFAULT_BACKOFF_CONFIG = {**backoff_config, "throttling_base_scale": sdk_backoff_scale}
    if operations is not None:
        plan.operations = {k: set(v) for k, v in operations.items()}
    stubber = _moto_stubber()
    installed = []
    for name in plan.operations:
        client = aws.client(name)
        protocol = client.meta.service_model.protocol
        events = client.meta.events

        def send(request, event_name: str, _name=name, _protocol=protocol, **kwargs):
            if plan.should_throttle(_name, event_name.rsplit(".", 1)[-1]):
                return throttling_response(request.url, _protocol)
            # In-process, moto answers in this same event; it must not also run a throttled call,
            # so it is called from here instead of beside this handler.
            return stubber(event_name=event_name, request=request, **kwargs) if stubber else None

        if stubber:
            events.unregister("before-send", stubber)
        events.register_first("before-send", send)
        installed.append((events, send))
    try:
        yield plan
    finally:
        ExponentialBackoff._DEFAULT_BACKOFF_CONFIG = backoff_config
        for events, send in installed:
            events.unregister("before-send", send)
            if stubber:
                events.register("before-send", stubber)


class Crash(Exception):
    """The function died after its work was done, before it could report the result."""


@contextlib.contextmanager
def crash_after(steps: Iterable[str], times: int = 1) -> Iterator[dict[str, int]]:
    """Make each named step (registry key, e.g. "CreateService") crash `times` times right after
    its handler returned. Yields the count of crashes per step."""
    remaining = {key: times for key in steps}
    crashed: dict[str, int] = {}
    lock = threading.Lock()

    def hook(key: str, event: dict[str, Any], result: Any) -> None:
        with lock:
            if remaining.get(key, 0) <= 0:
                return
            remaining[key] -= 1
            crashed[key] = crashed.get(key, 0) + 1
        raise Crash(f"{key} crashed after its change")

    lambdas.after_hooks.append(hook)
    try:
        yield crashed
    finally:
        lambdas.after_hooks.remove(hook)


@contextlib.contextmanager
def refuse(step: str, error: Exception) -> Iterator[None]:
    """Make the named step fail with `error` before it does anything, every time it runs."""

    def hook(key: str, event: dict[str, Any]) -> None:
        if key == step:
            raise error

    lambdas.before_hooks.append(hook)
    try:
        yield
    finally:
        lambdas.before_hooks.remove(hook)
