"""The shape every step shares: parse the event, run one domain function, return a small result."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

from aws_lambda_powertools.metrics import MetricUnit

from cutover_steps.adapters import aws_errors
from cutover_steps.config import permission_settings
from cutover_steps.runtime.observability import logger, metrics, traced
from cutover_steps.plan.view import PlanView, read_plan
from cutover_steps.results import StepResult
from cutover_steps.runtime.earlier_results import EarlierResults


@dataclass
class StepEvent:
    raw: dict[str, Any]
    # The earlier states' results, typed: `event.results.live.routes`.
    results: EarlierResults = field(default_factory=EarlierResults)
    release: dict[str, Any] = field(default_factory=dict)
    # The Lambda context: how long the function has left (steps that wait inside their invocation).
    context: Any = None

    def __post_init__(self) -> None:
        self.results = EarlierResults.of(self.results)

    @functools.cached_property
    def plan(self) -> PlanView:
        # Validated by LoadRelease, which alone imports pydantic: read here as it came.
        return read_plan(self.raw["plan"])

    @property
    def execution_id(self) -> str:
        return self.release.get("execution_id", "")


def lambda_step(fn: Callable[[StepEvent], StepResult | dict[str, Any]]) -> Callable[[dict, Any], dict]:
    """Wrap a domain function as a Lambda handler whose errors carry domain names and whose typed
    result goes back as the JSON the state machine passes on."""

    @logger.inject_lambda_context(correlation_id_path="release.execution_id", clear_state=True)
    @functools.wraps(fn)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        step_event = StepEvent(raw=event, results=event.get("results") or {}, release=event.get("release") or {},
                               context=context)
        try:
            result = fn(step_event)
        except aws_errors.AwsRefusal as error:
            # A refusal to the step's role is the stack's settings' problem, named as such for every step.
            if permission_settings.access_denied(error):
                raise permission_settings.denied(error) from error
            raise
        finally:
            # Most steps record no metric; flushing only then avoids an empty-metrics warning per call.
            if metrics.metric_set:
                metrics.flush_metrics()
        output = result.to_json() if isinstance(result, StepResult) else result
        logger.info("step finished", extra={"result": output})
        return output

    return traced(handler)


def record_seconds(name: str, seconds: float) -> None:
    """A duration metric of the release (CloudWatch namespace Cutover)."""
    metrics.add_metric(name=name, unit=MetricUnit.Seconds, value=max(0.0, seconds))


def record_count(name: str, count: int = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
