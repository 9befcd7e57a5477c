"""The release's CloudWatch metrics (embedded metric format on the function's output)."""
from __future__ import annotations

import json
import time

from tests.steps.test_steps_twice import Stepper, prepared


def emitted(captured: str) -> dict[str, float]:
    values = {}
    for line in captured.splitlines():
        if '"_aws"' in line:
            document = json.loads(line)
            for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = document[metric["Name"]]
                values[metric["Name"]] = value[0] if isinstance(value, list) else value
    return values


def test_health_wait_release_duration_and_rollbacks_are_published(demo, monkeypatch, capsys):
    # Given metrics enabled, as in a deployed function
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    stepper = prepared(Stepper(demo))
    capsys.readouterr()

    # When the new version becomes healthy after a wait
    for _ in range(50):
        if stepper.run("CheckHealth", "health", phase="health")["healthy"]:
            break
        time.sleep(0.2)
    health = emitted(capsys.readouterr().out)

    # and the release is recorded, and a teardown happens
    stepper.run("RecordRelease", "record")
    recorded = emitted(capsys.readouterr().out)
    stepper.run("TearDownPrepared", "failure", failure={"Error": "HealthTimeout", "Cause": "test"})
    undone = emitted(capsys.readouterr().out)

    # Then each published what an operator graphs and alarms on
    assert health["HealthWaitSeconds"] >= 0
    assert recorded["ReleaseDurationSeconds"] > 0
    assert undone["Rollbacks"] == 1
