"""One release in the steady state, counted as AWS counts it: a service released many times before.

The family already has ten or more task definition revisions and an earlier release marked a version
obsolete, so this release deletes that version (its service, target group and revision) besides
retiring and marking the one it replaces. The state is built through real releases in the local
engine, whose rules page every read the steps make as AWS does (docs/fidelity.md): v1 bootstrapped,
older revisions of the family registered, v2 and v3 released. Then v4 is released at production
settings and its calls are counted beside their floor.
"""
from __future__ import annotations

import time
from typing import Any

import botocore.session

from bench import floor
from bench.counting import StepCounter
from bench.release_costs import PRODUCTION, TIME_SCALE, approved_release, demo_config, scale_time_limits, transitions
from bench.report import API_CALLS_TARGET, table
from cutover.local.engine import LocalEngine

REVISIONS = 10  # task definition revisions of the family before the counted release
TRAFFIC_STEPS = [{"percent": 50, "hold_seconds": 60 // TIME_SCALE}, {"percent": 100, "hold_seconds": 0}]
SETUP_VERSIONS = ("2", "3")  # v3's release deletes v1 and marks v2 obsolete
COUNTED = "4"  # deletes v2, retires and marks v3


def register_earlier_revisions(engine: LocalEngine, service: str, count: int) -> None:
    """Revisions of the family from releases long gone: the live version's definition, other images."""
    ecs = engine.client("ecs")
    arn = ecs.describe_services(cluster="demo", services=[service])["services"][0]["taskDefinition"]
    live = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    accepted = botocore.session.get_session().get_service_model("ecs").operation_model("RegisterTaskDefinition").input_shape.members
    request = {key: value for key, value in live.items() if key in accepted}
    for n in range(count):
        containers = [{**c, "image": f"registry.local/web:0.{n}"} for c in request["containerDefinitions"]]
        ecs.register_task_definition(**{**request, "containerDefinitions": containers})


def revisions(engine: LocalEngine, family: str) -> int:
    """Revisions registered in the family so far: its latest revision's number."""
    return engine.client("ecs").describe_task_definition(taskDefinition=family)["taskDefinition"]["revision"]


def active_services(engine: LocalEngine) -> set[str]:
    ecs = engine.client("ecs")
    arns = [arn for page in ecs.get_paginator("list_services").paginate(cluster="demo") for arn in page["serviceArns"]]
    return {arn.rsplit("/", 1)[-1] for arn in arns}


def run() -> dict[str, Any]:
    with LocalEngine(task_start_seconds=0.2) as engine:
        config = demo_config(engine, 1, TRAFFIC_STEPS)
        config["release"].update(PRODUCTION)
        scale_time_limits()
        family = config["task_definition"]["family"]
        register_earlier_revisions(engine, "web-1", REVISIONS - 1 - len(SETUP_VERSIONS))
        for version in SETUP_VERSIONS:
            approved_release(engine, config, version, f"steady-{version}", "steady state")
        family_revisions, before = revisions(engine, family), active_services(engine)
        with StepCounter() as counter:
            events = approved_release(engine, config, COUNTED, f"steady-{COUNTED}", "steady state")
            uncounted = counter.uncounted_clients()
        deleted = sorted(before - active_services(engine))
        if family_revisions < REVISIONS or deleted != ["web-2"]:
            raise RuntimeError(f"steady state: {family_revisions} revisions before the release, which deleted {deleted}, not web-2")
        steps = counter.per_step()
        # The versions cleanup finds: those active before the release (v2 obsolete, v3 retired now) and v4.
        inputs = floor.release_of(config, steps, old_autoscaling=True, deleted_versions=len(deleted),
                                  service_versions=len(before) + 1)
        floors = floor.per_step(inputs)
        api_calls = sum(s["api_calls"] for s in steps.values())
        return {
            "scenario": "steady state, production settings",
            "time_scale": TIME_SCALE,
            "revisions_before": family_revisions,
            "deleted": deleted,
            "state_transitions": transitions(events),
            "lambda_invocations": sum(s["invocations"] for s in steps.values()),
            "api_calls": api_calls,
            "api_calls_floor": sum(floors.values()),
            "api_calls_floor_by_step": floors,
            "api_calls_by_operation": counter.calls_by_operation(),
            "steps": steps,
            "uncounted_clients": uncounted,
        }


def render(steady: dict[str, Any]) -> str:
    """The steady-state release's calls beside the floor and the target, then step by step."""
    ratio = steady["api_calls"] / steady["api_calls_floor"]
    summary = table(("release", "revisions of the family", "versions deleted", "AWS API calls", "floor", "× floor",
                     f"≤ {API_CALLS_TARGET}×"),
                    [(steady["scenario"], steady["revisions_before"], len(steady["deleted"]), steady["api_calls"], steady["api_calls_floor"],
                      round(ratio, 2), "yes" if ratio <= API_CALLS_TARGET else "NO")])
    keys = sorted(set(steady["steps"]) | set(steady["api_calls_floor_by_step"]))
    rows = []
    for key in keys:
        step = steady["steps"].get(key, {"api_calls": 0, "calls": {}})
        calls = ", ".join(f"{op.split(':', 1)[1]} {n}" for op, n in step["calls"].items())
        rows.append((key, step["api_calls"], steady["api_calls_floor_by_step"].get(key, "–"), calls))
    by_step = table(("step", "AWS API calls", "floor", "calls"), rows)
    return "\n".join([
        "## The steady state, as AWS counts it", "",
        f"v4 released at production settings (time 1/{steady['time_scale']}) over a family of "
        f"{steady['revisions_before']} task definition revisions, deleting {', '.join(steady['deleted'])}, which the release of v3 "
        "marked obsolete. Every read the steps make is paged as AWS pages it (docs/fidelity.md).", "",
        summary, "", by_step, "",
    ])


def timed_run() -> dict[str, Any]:
    began = time.perf_counter()
    result = run()
    print(f"  steady state: {time.perf_counter() - began:.1f} s", flush=True)
    return result
