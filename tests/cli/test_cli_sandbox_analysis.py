"""The canary judge through the sandbox, command line and boto3 only: `--traffic` sends requests through the
public rule, `--version-behaviour` makes versions 3 and 4 answer badly, and each is judged and rolled back; version 5's
capacity follows its share of the traffic."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import boto3
import pytest
import yaml

from cutover import ROOT
from cutover.local.invariants import EmptyTargetSampler
from tests.cli.helpers import cutover_process, sandbox_env, sandbox_process

pytestmark = pytest.mark.e2e

HOLD_STATE = "Watch alarms while traffic holds"
ANALYSIS = {"interval_seconds": 2, "min_requests": 100, "inconclusive": "extend", "max_extend_seconds": 60, "metrics": [
    {"name": "errors", "alb": "error_rate", "max_increase": 0.01},
    {"name": "latency", "alb": "p99_latency", "max_ratio": 1.2}]}


def release(box, path, version: str) -> tuple[subprocess.CompletedProcess, dict]:
    started = cutover_process(box, "start", "--env", "demo", "--version", version, "--image", f"web:{version}",
                              "--config", str(path), "--name", f"web-{version}", "--wait", timeout=200)
    status = cutover_process(box, "status", f"web-{version}", "--output", "json")
    return started, json.loads(status.stdout)


def metric(scorecard: dict, name: str) -> dict:
    return next(m for m in scorecard["metrics"] if m["name"] == name)


def test_a_healthy_version_passes_and_versions_answering_badly_are_rolled_back_by_the_metric_that_failed(tmp_path):
    (tmp_path / "sandbox").mkdir()
    with sandbox_process(tmp_path / "sandbox", "--traffic", "40", "--version-behaviour", "3:error_rate=0.3",
                         "--version-behaviour", "4:p99_ms=3000") as box:
        assert "traffic        40 requests/s" in box["banner"]
        env = sandbox_env(box)
        config = yaml.safe_load((box["dir"] / "deploy.yaml").read_text())
        config["release"].update(approval={"mode": "auto"}, analysis=ANALYSIS, alarm_check_seconds=1,
                                 traffic_steps=[{"percent": 50, "hold_seconds": 12}, {"percent": 100, "hold_seconds": 0}])
        path = tmp_path / "deploy.yaml"
        path.write_text(yaml.safe_dump(config))
        elbv2 = boto3.client("elbv2", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
                             aws_access_key_id="testing", aws_secret_access_key="testing")
        public_rule = config["routes"][0]["public_rule_arn"]
        sampler = EmptyTargetSampler(elbv2, [public_rule]).start()

        # A version that answers as well as the live one passes, with the analysis in status --output json
        started, status = release(box, path, "2")
        assert started.returncode == 0, started.stdout + started.stderr
        assert status["analysis"]["verdict"] == "pass", status["analysis"]
        assert metric(status["analysis"], "errors")["new_requests"] >= 100

        # Version 3 answers 30 % of its requests with a 5XX: rolled back, the errors metric failing
        started, status = release(box, path, "3")
        assert started.returncode != 0 and status["failure"]["error"] == "AnalysisFailed", status["failure"]
        assert metric(status["analysis"], "errors")["verdict"] == "fail"

        # Version 4 answers with a p99 of 3 s: rolled back, the latency metric failing
        started, status = release(box, path, "4")
        assert started.returncode != 0 and status["failure"]["error"] == "AnalysisFailed", status["failure"]
        assert metric(status["analysis"], "latency")["verdict"] == "fail"
        assert metric(status["analysis"], "errors")["verdict"] != "fail"

        # and version 2 serves all along: the public rule never gave weight to an empty group
        assert weights(elbv2, public_rule) == {"demo-web-2": 1}

        # With capacity: proportional, desired_count 8 and a 25 % hold, version 5 runs at most
        # ceil(8 x 25 % x 1.25) = 3 tasks while it takes a quarter of the traffic, and all 8 before it takes it all
        config["release"].update(capacity="proportional", analysis=None,
                                 traffic_steps=[{"percent": 25, "hold_seconds": 6}, {"percent": 100, "hold_seconds": 0}])
        config["service_settings"].update(desired_count=8, autoscaling={**config["service_settings"]["autoscaling"], "min": 2, "max": 10})
        path.write_text(yaml.safe_dump(config))
        ecs = boto3.client("ecs", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        seen = SizeWatch(ecs, elbv2, config["cluster"], public_rule)
        started, status = release(box, path, "5")
        seen.stop()
        assert started.returncode == 0, started.stdout + started.stderr
        share = [(at, tasks, split.get("demo-web-5", 0) / sum(split.values())) for at, tasks, split in seen.samples]
        assert {part for _, _, part in share} <= {0, 0.25, 1}, seen.samples
        # during the 25 % hold (as the execution history, read with boto3, times it)
        entered, exited = hold_window(boto3.client("stepfunctions", endpoint_url=env["AWS_ENDPOINT_URL"],
                                                   region_name=env["AWS_REGION"], aws_access_key_id="testing",
                                                   aws_secret_access_key="testing"), status["executionArn"])
        during_hold = [tasks for at, tasks, part in share if entered <= at <= exited]
        assert during_hold and max(during_hold) == 3 and {part for at, _, part in share if entered <= at <= exited} == {0.25}
        alone = [tasks for _, tasks, part in share if part == 1]
        assert alone and set(alone) == {8}, seen.samples
        violations = sampler.stop()
        assert sampler.samples > 0 and not violations, violations


def weights(elbv2, rule: str) -> dict[str, int]:
    """The public rule's target groups, by name, with their weights."""
    forward = [a for a in elbv2.describe_rules(RuleArns=[rule])["Rules"][0]["Actions"] if a["Type"] == "forward"][0]
    return {g["TargetGroupArn"].split("/")[1]: g.get("Weight", 1) for g in forward["ForwardConfig"]["TargetGroups"]
            if g.get("Weight", 1)}


def hold_window(sfn, execution_arn: str) -> tuple[float, float]:
    """When the (one) watched traffic hold was entered and exited, from the execution history."""
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    events = [e for page in pages for e in page["events"]]
    entered = [e["timestamp"].timestamp() for e in events
               if (e.get("stateEnteredEventDetails") or {}).get("name") == HOLD_STATE]
    exited = [e["timestamp"].timestamp() for e in events
              if (e.get("stateExitedEventDetails") or {}).get("name") == HOLD_STATE]
    return min(entered), max(exited)


class SizeWatch:
    """Samples, every 0.2 s, version 5's desired count beside the public rule's split, as an operator's script would."""

    def __init__(self, ecs, elbv2, cluster: str, rule: str):
        self.samples: list[tuple[float, int, dict[str, int]]] = []
        self._stop = threading.Event()

        def run() -> None:
            while not self._stop.wait(0.2):
                found = ecs.describe_services(cluster=cluster, services=["web-5"])["services"]
                if found and found[0]["status"] == "ACTIVE":
                    self.samples.append((time.time(), found[0]["desiredCount"], weights(elbv2, rule)))

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


@pytest.mark.parametrize("argv, problem", [
    (["--version-behaviour", "3:error_rate=0.3"], "--version-behaviour: sets how a version answers the simulated requests; add --traffic RPS"),
    (["--traffic", "40", "--version-behaviour", "3:errors=1"], "unknown setting 'errors'"),
    (["--traffic", "0"], "--traffic: requests a second must be above 0"),
])
def test_wrong_traffic_flags_are_refused_naming_the_flag(argv, problem):
    result = subprocess.run([sys.executable, "-m", "cutover", "sandbox", "up", *argv],
                            cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 2 and problem in result.stderr, result.stderr
