"""CloudWatch alarms: which of the configured ones fire, and which do not exist."""
from __future__ import annotations

from release.aws import client

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
