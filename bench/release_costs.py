"""What one release costs through the local engine: state transitions, Lambda invocations, AWS
API calls, and the wall time that is orchestration rather than configured waiting.

Three scenarios over the same demo service (v1 live, v2 released): one route, two routes (a
second ALB), and a five-step traffic plan.
"""
from __future__ import annotations

import copy
import time
from typing import Any

from bench import floor
from bench.counting import StepCounter
from cutover.operations import executions as operations
from cutover.definition import states
from cutover.local import environment, lambdas
from cutover.local.engine import LocalEngine
from cutover_steps.registry import HOLDING_TIMEOUT_SECONDS
from cutover_steps.checks import target_health as health
from cutover_steps.steps import watch_alarms as alarms

PRICE_PER_1000_TRANSITIONS = 0.025  # Standard workflows, us-east-1, beyond the free tier
WATCHED_ALARM = "demo-web-5xx"
APPROVAL_TASK_EVENTS = ("TaskSubmitted", "TaskSucceeded")

# Short holds keep the bench quick; the time a hold is watched is taken out of the overhead anyway.
TWO_STEPS = [{"percent": 50, "hold_seconds": 1}, {"percent": 100, "hold_seconds": 0}]
FIVE_STEPS = [{"percent": p, "hold_seconds": 1} for p in (10, 25, 50, 75)] + [{"percent": 100, "hold_seconds": 0}]
# Production settings (50 % for 60 s, alarms looked at every 10 s, health polled every 10 s) with
# every duration divided by TIME_SCALE: the holds, the intervals and the time a waiting step's
# function may wait (its time limit less the margin it keeps). What a release costs in
# transitions, invocations and calls depends on those durations' ratios only.
TIME_SCALE = 10
WAITING_STEPS = {"WatchAlarms": alarms.LOOK_MARGIN_SECONDS, "CheckHealth": health.LOOK_MARGIN_SECONDS}
PRODUCTION = {"alarm_check_seconds": 10 // TIME_SCALE, "poll_interval_seconds": 10 // TIME_SCALE}
# The states of the steps that wait inside their invocation, by what they wait for.
WAITING_STATES = {**{state: "health polls" for state in states.of_step("CheckHealth")},
                  **{state: "traffic holds" for state in states.of_step("WatchAlarms")}}
SCENARIOS = {
    "one route": {"routes": 1, "traffic_steps": TWO_STEPS},
    "two routes": {"routes": 2, "traffic_steps": TWO_STEPS},
    "five traffic steps": {"routes": 1, "traffic_steps": FIVE_STEPS},
    "production, 60 s hold": {"routes": 1, "release": PRODUCTION, "scaled": True,
                              "traffic_steps": [{"percent": 50, "hold_seconds": 60 // TIME_SCALE}, {"percent": 100, "hold_seconds": 0}]},
    "production, 10 min hold": {"routes": 1, "release": PRODUCTION, "scaled": True,
                                "traffic_steps": [{"percent": 50, "hold_seconds": 600 // TIME_SCALE}, {"percent": 100, "hold_seconds": 0}]},
}


def scale_time_limits() -> None:
    """The waiting steps' functions may wait 1/TIME_SCALE as long, each keeping its whole margin."""
    for key, margin in WAITING_STEPS.items():
        lambdas.time_limits[key] = margin + (HOLDING_TIMEOUT_SECONDS - margin) / TIME_SCALE


def demo_config(engine: LocalEngine, routes: int, traffic_steps: list[dict[str, Any]]) -> dict[str, Any]:
    """The demo environment with v1 live on `routes` routes, each on its own ALB, one alarm watched."""
    env = environment.create(engine.client)
    values = env.values
    config = environment.demo_config(values)
    for n in range(1, routes):
        alb = environment.create_alb(engine.client, f"demo-{n}", values["VPC"], [values["SUBNET_A"], values["SUBNET_B"]],
                                     values["SECURITY_GROUP"], f"route{n}.demo.local")
        config["routes"].append(dict(config["routes"][0], name=f"route{n}", preparing_rule_arn=alb.preparing_rule_arn,
                                     public_rule_arn=alb.public_rule_arn))
    config["release"]["traffic_steps"] = traffic_steps
    # One alarm watched, as a real service would: each look at it is an API call.
    engine.client("cloudwatch").put_metric_alarm(
        AlarmName=WATCHED_ALARM, Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count", Statistic="Sum",
        Period=60, EvaluationPeriods=1, Threshold=5, ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    config["release"]["alarm_names"] = [WATCHED_ALARM]
    environment.bootstrap_live_version(engine.client, copy.deepcopy(config))
    return config


def time_split(events: list[dict[str, Any]]) -> dict[str, float]:
    """Execution wall time, and how much of it was waiting: Wait states, the states of the steps
    that wait inside their invocation (health polls, traffic holds), and the approval wait.

    The approval wait runs from the request being sent (TaskSubmitted) to the decision
    (TaskSucceeded): that is a person's time, not the orchestrator's.
    """
    started = events[0]["timestamp"]
    total = (events[-1]["timestamp"] - started).total_seconds()
    waits = {"health polls": 0.0, "traffic holds": 0.0, "other waits": 0.0}
    approval = 0.0
    entered: dict[str, Any] = {}
    for event in events:
        kind = event["type"]
        if kind == "WaitStateEntered":
            entered["wait"] = (event["stateEnteredEventDetails"]["name"], event["timestamp"])
        elif kind == "WaitStateExited" and "wait" in entered:
            name, since = entered.pop("wait")
            bucket = "health polls" if "health" in name else "traffic holds" if "traffic" in name.lower() else "other waits"
            waits[bucket] += (event["timestamp"] - since).total_seconds()
        elif kind == "TaskStateEntered":
            entered["state"] = event["stateEnteredEventDetails"]["name"]
            entered["task"] = event["timestamp"]
        elif kind == "TaskStateExited" and entered.get("state") in WAITING_STATES:
            waits[WAITING_STATES[entered["state"]]] += (event["timestamp"] - entered["task"]).total_seconds()
        elif kind == APPROVAL_TASK_EVENTS[0] and entered.get("state") == operations.APPROVAL_STATE:
            entered["approval"] = event["timestamp"]
        elif kind == APPROVAL_TASK_EVENTS[1] and "approval" in entered:
            approval += (event["timestamp"] - entered.pop("approval")).total_seconds()
    waited = sum(waits.values()) + approval
    return {
        "total_s": round(total, 3),
        **{f"{k.replace(' ', '_')}_s": round(v, 3) for k, v in waits.items()},
        "approval_wait_s": round(approval, 3),
        "overhead_s": round(total - waited, 3),
    }


def transitions(events: list[dict[str, Any]]) -> int:
    """State transitions as billed: one per state entered."""
    return sum(1 for e in events if e["type"].endswith("StateEntered"))


def approved_release(engine: LocalEngine, config: dict[str, Any], version: str, execution: str, scenario: str) -> list[dict[str, Any]]:
    """Release `version` through the state machine, approved; its execution history once it succeeded."""
    sfn = engine.client("stepfunctions")
    start_input = {"env": "demo", "version": version, "image": f"registry.local/web:{version}", "config": config}
    arn = operations.start(sfn, engine.state_machine_arn, start_input, execution)
    if not operations.wait_for_state(sfn, arn, operations.APPROVAL_STATE, 90):
        raise RuntimeError(f"{scenario}: the release never asked for approval")
    operations.approve(sfn, arn, by="bench", wait_seconds=30)
    status = operations.wait(sfn, arn, 300)["status"]
    events = operations.history(sfn, arn)
    if status != "SUCCEEDED":
        raise RuntimeError(f"{scenario}: the release ended {status}: {operations.execution_failure(events)}")
    return events


def run_scenario(name: str, routes: int, traffic_steps: list[dict[str, Any]], release: dict[str, Any] | None = None,
                 scaled: bool = False) -> dict[str, Any]:
    with LocalEngine(task_start_seconds=0.2) as engine:
        config = demo_config(engine, routes, traffic_steps)
        config["release"].update(release or {})
        if scaled:
            scale_time_limits()
        with StepCounter() as counter:
            events = approved_release(engine, config, "2", "bench-2", name)
            uncounted = counter.uncounted_clients()
        count = transitions(events)
        steps = counter.per_step()
        # The live version was bootstrapped from the same config: it scales if the config does.
        floors = floor.per_step(floor.release_of(config, steps, old_autoscaling="autoscaling" in config["service_settings"]))
        handler_s = sum(s["handler_ms"] for s in steps.values()) / 1000
        split = time_split(events)
        return {
            "scenario": name,
            "time_scale": TIME_SCALE if scaled else 1,
            "routes": routes,
            "traffic_steps": [s["percent"] for s in traffic_steps],
            "state_transitions": count,
            "cost_usd": round(count * PRICE_PER_1000_TRANSITIONS / 1000, 6),
            "cost_usd_per_1000_releases": round(count * PRICE_PER_1000_TRANSITIONS, 2),
            "lambda_invocations": sum(s["invocations"] for s in steps.values()),
            "api_calls": sum(s["api_calls"] for s in steps.values()),
            "api_calls_floor": sum(floors.values()),
            "api_calls_floor_by_step": floors,
            "api_calls_by_operation": counter.calls_by_operation(),
            "steps": steps,
            "time": {**split, "handlers_s": round(handler_s, 3)},
            "uncounted_clients": uncounted,
        }


def run(names: list[str] | None = None) -> list[dict[str, Any]]:
    results = []
    for name, scenario in SCENARIOS.items():
        if names and name not in names:
            continue
        began = time.perf_counter()
        results.append(run_scenario(name, **scenario))
        print(f"  release, {name}: {time.perf_counter() - began:.1f} s", flush=True)
    return results
