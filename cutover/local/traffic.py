"""Simulated requests through the public listener rules, and the load balancer's metrics they make.

Every tick, `rps` requests a second go through each given rule, split among its forward action's
target groups by weight, as the ALB splits them. Each target group answers as its version is set to
(`Behaviour`: a share of 5XX answers, a p99 response time), and the engine writes what the ALB
publishes per target group to the emulated CloudWatch, namespace AWS/ApplicationELB, dimensions
LoadBalancer and TargetGroup: RequestCount, HTTPCode_Target_5XX_Count and TargetResponseTime (one
raw value a request, so that percentiles can be read). Written to the backend, as ELB itself does:
PutMetricData refuses the AWS/ namespaces (cutover.local.aws_rules). Deterministic: the same
weights and behaviours give the same numbers.
"""
from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import Any, Callable

from botocore.exceptions import ClientError

logger = logging.getLogger(__name__)

NAMESPACE = "AWS/ApplicationELB"
VERSION_TAG = "cutover:version"
# Response times are exponential with this p99 unless a version is told otherwise: -ln(0.01) means
# the 99th percentile of an exponential is 4.6 times its mean.
DEFAULT_P99_MS = 100.0
GOLDEN = (math.sqrt(5) - 1) / 2  # a low-discrepancy sequence: latencies spread evenly over the distribution


@dataclass(frozen=True)
class Behaviour:
    """How a version answers: the share of requests it answers with a 5XX, and its p99 response time."""
    error_rate: float = 0.0
    p99_ms: float = DEFAULT_P99_MS

    def latency_seconds(self, quantile: float) -> float:
        return -math.log(1 - quantile) * self.p99_ms / 1000 / math.log(100)


def parse_behaviour(text: str) -> tuple[str, Behaviour]:
    """`VERSION:error_rate=R,p99_ms=N` (either setting may be left out) → (version, Behaviour)."""
    version, _, settings = text.partition(":")
    if not version or not settings:
        raise ValueError(f"{text!r}: expected VERSION:error_rate=R,p99_ms=N")
    values: dict[str, float] = {}
    for part in settings.split(","):
        key, _, value = part.partition("=")
        if key.strip() not in ("error_rate", "p99_ms"):
            raise ValueError(f"{text!r}: unknown setting {key.strip()!r}; use error_rate and p99_ms")
        try:
            values[key.strip()] = float(value)
        except ValueError:
            raise ValueError(f"{text!r}: {key.strip()} must be a number, got {value!r}") from None
    if not 0 <= values.get("error_rate", 0) <= 1:
        raise ValueError(f"{text!r}: error_rate is a share of requests, 0 to 1")
    if values.get("p99_ms", DEFAULT_P99_MS) <= 0:
        raise ValueError(f"{text!r}: p99_ms must be above 0")
    return version, Behaviour(**values)


def split(requests: float, forward: dict[str, int]) -> dict[str, float]:
    """The requests each target group gets from a forward action's weights."""
    total = sum(forward.values())
    return {arn: requests * weight / total for arn, weight in forward.items() if weight} if total else {}


def dimension_of(arn: str, kind: str) -> str:
    """`app/NAME/ID` of a load balancer (or a rule of it), `targetgroup/NAME/ID` of a target group."""
    if kind == "LoadBalancer":
        return "/".join(arn.split(":listener-rule/", 1)[-1].split("/")[:3])
    return "targetgroup/" + arn.split(":targetgroup/", 1)[-1]


class Traffic:
    """Start with `Traffic(...).start()`; `served` counts per version what was answered so far."""

    def __init__(self, make_client: Callable[[str], Any], backend: Callable[[], Any], rules: list[str], rps: float,
                 behaviours: dict[str, Behaviour] | None = None, tick_seconds: float = 1.0):
        self.elbv2 = make_client("elbv2")
        self.backend = backend
        self.rules, self.rps, self.tick_seconds = list(rules), rps, tick_seconds
        self.behaviours = dict(behaviours or {})
        self.served: dict[str, dict[str, int]] = {}
        self._carry: dict[str, float] = {}
        self._error_carry: dict[str, float] = {}
        self._sequence: dict[str, int] = {}  # per target group: each group's response times spread evenly on their own
        self._versions: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Traffic:
        self._thread = threading.Thread(target=self._run, name="alb-traffic", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.tick_seconds):
            try:
                self.tick(self.tick_seconds)
            except ClientError:
                pass  # a rule or group deleted between two calls; the next tick sees the new world
            except Exception as error:  # noqa: BLE001 - the simulation must outlive one bad tick
                logger.debug("traffic tick failed: %r", error)

    def tick(self, seconds: float) -> None:
        for rule in self.rules:
            actions = self.elbv2.describe_rules(RuleArns=[rule])["Rules"][0]["Actions"]
            forward = {g["TargetGroupArn"]: int(g.get("Weight", 1))
                       for a in actions if a["Type"] == "forward"
                       for g in (a.get("ForwardConfig") or {}).get("TargetGroups")
                       or [{"TargetGroupArn": a["TargetGroupArn"], "Weight": 1}]}
            for group, share in split(self.rps * seconds, forward).items():
                self._serve(rule, group, share)

    def _version(self, group: str) -> str:
        if group not in self._versions:
            tags = self.elbv2.describe_tags(ResourceArns=[group])["TagDescriptions"][0]["Tags"]
            self._versions[group] = next((t["Value"] for t in tags if t["Key"] == VERSION_TAG), "")
        return self._versions[group]

    def _serve(self, rule: str, group: str, share: float) -> None:
        carried = self._carry.get(group, 0.0) + share
        requests = int(carried)
        self._carry[group] = carried - requests
        if not requests:
            return
        version = self._version(group)
        behaviour = self.behaviours.get(version, Behaviour())
        errors_carried = self._error_carry.get(group, 0.0) + requests * behaviour.error_rate
        errors = min(requests, int(errors_carried))
        self._error_carry[group] = errors_carried - errors
        first = self._sequence.get(group, 0)
        self._sequence[group] = first + requests
        latencies = [behaviour.latency_seconds(((first + n + 1) * GOLDEN) % 1) for n in range(requests)]
        self._publish(rule, group, requests, errors, latencies)
        counts = self.served.setdefault(version, {"requests": 0, "errors": 0})
        counts["requests"] += requests
        counts["errors"] += errors

    def _publish(self, rule: str, group: str, requests: int, errors: int, latencies: list[float]) -> None:
        from moto.cloudwatch.models import MetricDatum

        dimensions = [{"Name": "LoadBalancer", "Value": dimension_of(rule, "LoadBalancer")},
                      {"Name": "TargetGroup", "Value": dimension_of(group, "TargetGroup")}]
        data = [MetricDatum(NAMESPACE, "RequestCount", float(requests), dimensions, None, "Count")]
        if errors:  # the ALB publishes a 5XX count only when there were some
            data.append(MetricDatum(NAMESPACE, "HTTPCode_Target_5XX_Count", float(errors), dimensions, None, "Count"))
        data.extend(MetricDatum(NAMESPACE, "TargetResponseTime", value, dimensions, None, "Seconds") for value in latencies)
        self.backend().metric_data.extend(data)
