"""Count what the handlers do: Lambda invocations, handler time and AWS API calls, per step.

API calls are counted on the handlers' own boto3 clients (`cutover_steps.adapters.clients`, one per service per
process) through botocore's `before-call` event, so the driver's and the simulated data plane's
calls, made on other clients, are left out. A call retried by the SDK counts once.
"""
from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from typing import Any

from cutover.local import lambdas
from cutover_steps.adapters import clients as aws
from cutover_steps.registry import STEPS

# IAM service prefixes in the registry → boto3 client names.
CLIENT_NAMES = {"elasticloadbalancing": "elbv2", "states": "stepfunctions", "tag": "resourcegroupstaggingapi"}
NOT_API_CALLS = {"iam"}  # iam:PassRole is a permission checked by ECS, not a call a handler makes


def handler_client_names() -> list[str]:
    """Every client a handler may create, read from the calls the registry grants."""
    prefixes = {call.split(":", 1)[0] for step in STEPS for call in step.calls} - NOT_API_CALLS
    return sorted(CLIENT_NAMES.get(p, p) for p in prefixes)


class StepCounter:
    """Install with `with StepCounter() as counter:` after the engine started (it resets clients)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self.invocations: Counter[str] = Counter()
        self.handler_seconds: dict[str, float] = defaultdict(float)
        self.calls: Counter[tuple[str, str, str]] = Counter()  # (step, service, operation)
        self._clients: list[Any] = []

    def __enter__(self) -> StepCounter:
        for name in handler_client_names():
            client = aws.client(name)
            client.meta.events.register("before-call", self._on_call, unique_id=f"bench-{id(self)}")
            self._clients.append(client)
        lambdas.before_hooks.append(self._before)
        lambdas.after_hooks.append(self._after)
        return self

    def __exit__(self, *exc: Any) -> None:
        lambdas.before_hooks.remove(self._before)
        lambdas.after_hooks.remove(self._after)
        for client in self._clients:
            client.meta.events.unregister("before-call", unique_id=f"bench-{id(self)}")
        self._clients.clear()

    def reset(self) -> None:
        with self._lock:
            self.invocations.clear()
            self.handler_seconds.clear()
            self.calls.clear()

    def uncounted_clients(self) -> list[str]:
        """Handler clients made after install (a service the registry does not list): not counted.

        Reads cutover_steps.adapters.clients's private cache: the only place that knows every client a handler made.
        """
        counted = {id(c) for c in self._clients}
        return sorted(key[0] for key, client in aws._clients.items() if id(client) not in counted)

    # -- hooks ------------------------------------------------------------------------------------
    def _before(self, key: str, event: dict[str, Any]) -> None:
        # Handlers run on the interpreter's threads: the thread says which step made a call.
        self._local.step = key
        self._local.started = time.perf_counter()
        with self._lock:
            self.invocations[key] += 1

    def _after(self, key: str, event: dict[str, Any], result: Any) -> None:
        elapsed = time.perf_counter() - getattr(self._local, "started", time.perf_counter())
        with self._lock:
            self.handler_seconds[key] += elapsed

    def _on_call(self, model, **kwargs: Any) -> None:
        step = getattr(self._local, "step", "-")
        with self._lock:
            self.calls[(step, model.service_model.service_name, model.name)] += 1

    # -- summaries --------------------------------------------------------------------------------
    def calls_by_operation(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for (_, service, operation), n in self.calls.items():
            totals[f"{service}:{operation}"] += n
        return dict(sorted(totals.items()))

    def per_step(self) -> dict[str, dict[str, Any]]:
        steps: dict[str, dict[str, Any]] = {}
        for key in sorted(set(self.invocations) | {s for s, _, _ in self.calls}):
            calls = {f"{svc}:{op}": n for (s, svc, op), n in sorted(self.calls.items()) if s == key}
            steps[key] = {
                "invocations": self.invocations.get(key, 0),
                "handler_ms": round(self.handler_seconds.get(key, 0.0) * 1000, 1),
                "api_calls": sum(calls.values()),
                "calls": calls,
            }
        return steps
