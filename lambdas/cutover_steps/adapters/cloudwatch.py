"""CloudWatch: which of the configured alarms fire (and which do not exist), and the metrics the canary judge reads."""
from __future__ import annotations

import math
from datetime import datetime, timezone

from cutover_steps.adapters.clients import client

NAMES_PER_CALL = 100


def firing(names: list[str]) -> tuple[list[str], list[str]]:
    """(alarms in ALARM, configured alarms that do not exist); no names, no call."""
    found: dict[str, str] = {}
    cloudwatch = client("cloudwatch")
    for start in range(0, len(names), NAMES_PER_CALL):
        batch = names[start : start + NAMES_PER_CALL]
        for page in cloudwatch.get_paginator("describe_alarms").paginate(
            # AWS answers 50 alarms a page unless asked for its most, 100: one call per batch of names.
            AlarmNames=batch, AlarmTypes=["MetricAlarm", "CompositeAlarm"], PaginationConfig={"PageSize": NAMES_PER_CALL}
        ):
            for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
                found[alarm["AlarmName"]] = alarm["StateValue"]
    return [n for n, s in found.items() if s == "ALARM"], [n for n in names if n not in found]


ALB_NAMESPACE = "AWS/ApplicationELB"
MINUTE = 60


def window_period(start: float, end: float) -> int:
    """One period covering [start, end]: whole minutes (the ALB publishes per minute, and CloudWatch
    rounds the start down to the minute), so each query gives one datapoint for the whole window."""
    rounded = start - start % MINUTE
    return max(MINUTE, math.ceil((end - rounded) / MINUTE) * MINUTE)


def metric_sums(queries: list[dict], start: float, end: float) -> dict[str, float | None]:
    """Each query's statistic over [start, end], by query id: Sum-like stats add over datapoints, others take
    the largest (a percentile or maximum of a window read in one period is one datapoint anyway); None
    where CloudWatch had no data. One GetMetricData call per 500 queries (its limit)."""
    period = window_period(start, end)
    stats = {q["id"]: q["stat"] for q in queries}
    results: dict[str, float | None] = {}
    cloudwatch = client("cloudwatch")
    for first in range(0, len(queries), 500):
        batch = [{"Id": q["id"], "ReturnData": True,
                  "MetricStat": {"Metric": {"Namespace": q["namespace"], "MetricName": q["metric"],
                                            "Dimensions": [{"Name": k, "Value": v} for k, v in q["dimensions"].items()]},
                                 "Period": period, "Stat": q["stat"]}} for q in queries[first:first + 500]]
        request = {"MetricDataQueries": batch, "StartTime": datetime.fromtimestamp(start, timezone.utc),
                   "EndTime": datetime.fromtimestamp(max(end, start + 1), timezone.utc)}
        for page in cloudwatch.get_paginator("get_metric_data").paginate(**request):
            for result in page["MetricDataResults"]:
                values = [float(v) for v in result.get("Values") or []]
                if not values:
                    continue
                adds = stats[result["Id"]] in ("Sum", "SampleCount")
                total = sum(values) if adds else max(values)
                results[result["Id"]] = (results.get(result["Id"]) or 0) + total if adds else total
    return {q["id"]: results.get(q["id"]) for q in queries}
