"""The canary judge at work (`release.analysis`): read each version's own metrics over its window, then
judge them (`cutover_steps.decisions.judge`, pure). The hold's watch (cutover_steps.steps.watch_alarms) calls it every interval.

Windows: both sides from the moment the current traffic step began; during the bake, where the old
version serves nothing, the old side is the time before the switch to 100 % (docs/release.md).
"""
from __future__ import annotations

import time
from typing import Any

from cutover_steps.decisions import judge
from cutover_steps.adapters.cloudwatch import ALB_NAMESPACE, metric_sums
from cutover_steps.plan.view import PlanView as Plan
from cutover_steps.results import Traffic
from cutover_steps.runtime.earlier_results import EarlierResults


def step_began(traffic: Traffic) -> float:
    """When the current traffic step's weights were written (its hold and bake run from then)."""
    return traffic.hold_until - traffic.hold_seconds - traffic.bake_seconds


def windows(plan: Plan, traffic: Traffic, now: float) -> dict[str, tuple[float, float]]:
    """The new and old sides' windows (start, end) at `now`."""
    began = step_began(traffic)
    new = (began, now)
    if traffic.percent < 100:
        return {"new": new, "old": new}
    steps = plan.config.release.traffic_steps
    index = traffic.index
    before = steps[index - 1].hold_seconds if index > 0 else 0
    lookback = max(before, plan.config.release.analysis.interval_seconds)
    return {"new": new, "old": (began - lookback, began)}


def groups(results: EarlierResults) -> dict[str, list[tuple[str, str]]]:
    """Per side, (load balancer, target group ARN) of every route, from what the switch read."""
    sides: dict[str, list[tuple[str, str]]] = {"new": [], "old": []}
    for route in results.live.routes or []:
        balancer = "/".join(route["rule"].split(":listener-rule/", 1)[1].split("/")[:3])
        sides["new"].append((balancer, route["new"]))
        sides["old"].extend((balancer, arn) for arn in route["old"])
    return sides


def old_versions(results: EarlierResults) -> list[str]:
    return [o["version"] for o in results.live.old_services or [] if o.get("version")]


def queries(plan: Plan, results: EarlierResults) -> dict[str, list[dict[str, Any]]]:
    """Per side, the GetMetricData queries: per target group its requests, 5XX and p99; per custom metric
    one per version of the side."""
    settings = plan.config.release.analysis
    wants_p99 = any(m.alb == "p99_latency" for m in settings.metrics)
    versions = {"new": [plan.version], "old": old_versions(results)}
    found: dict[str, list[dict[str, Any]]] = {"new": [], "old": []}
    for side, members in groups(results).items():
        for index, (balancer, arn) in enumerate(members):
            dimensions = {"LoadBalancer": balancer, "TargetGroup": "targetgroup/" + arn.split(":targetgroup/", 1)[-1]}
            alb = [("requests", "RequestCount", "Sum"), ("errors", "HTTPCode_Target_5XX_Count", "Sum")]
            alb += [("p99", "TargetResponseTime", "p99")] if wants_p99 else []
            found[side] += [{"id": f"{side}_{kind}_{index}", "kind": kind, "namespace": ALB_NAMESPACE, "metric": name,
                             "dimensions": dimensions, "stat": stat} for kind, name, stat in alb]
        for m, metric in enumerate(m for m in settings.metrics if m.cloudwatch is not None):
            for v, version in enumerate(versions[side]):
                found[side].append({"id": f"{side}_custom{m}_{v}", "kind": metric.name, "custom": True,
                                    "namespace": metric.cloudwatch.namespace, "metric": metric.cloudwatch.metric_name,
                                    "dimensions": judge.dimensions_for(metric, version), "stat": metric.cloudwatch.stat})
    return found


def side_of(asked: list[dict[str, Any]], values: dict[str, float | None]) -> judge.Side:
    """Add up one side's target groups (and versions): counts add, a p99 is the worst group's."""
    requests = sum(values[q["id"]] or 0 for q in asked if q["kind"] == "requests")
    errors = sum(values[q["id"]] or 0 for q in asked if q["kind"] == "errors")
    p99s = [values[q["id"]] for q in asked if q["kind"] == "p99" and values[q["id"]] is not None]
    custom: dict[str, float | None] = {}
    for q in (q for q in asked if q.get("custom")):
        value = values[q["id"]]
        if value is not None:
            custom[q["kind"]] = (custom.get(q["kind"]) or 0) + value if q["stat"] in judge.PER_REQUEST_STATS else max(
                custom.get(q["kind"]) or value, value)
    return judge.Side(requests=requests, errors=errors, p99=max(p99s) if p99s else None, custom=custom)


def look(plan: Plan, results: EarlierResults | dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """Read both sides' windows and judge them: the scorecard, with the percent and when."""
    now = time.time() if now is None else now
    results = EarlierResults.of(results)
    traffic = results.traffic
    if not groups(results)["old"]:
        return {"verdict": judge.SKIPPED, "metrics": [], "percent": traffic.percent, "at": round(now),
                "why": "no old version serves: there is nothing to compare the new version with"}
    asked = queries(plan, results)
    span = windows(plan, traffic, now)
    values: dict[str, float | None] = {}
    for side in ("new", "old"):
        if asked[side]:
            values.update(metric_sums(asked[side], *span[side]))
    scorecard = judge.judge(plan.config.release.analysis, side_of(asked["new"], values), side_of(asked["old"], values))
    return {**scorecard, "percent": traffic.percent, "at": round(now),
            "window_seconds": round(span["new"][1] - span["new"][0])}
