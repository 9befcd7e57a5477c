"""The CleanUp step against clusters of many services: its API calls and its time.

The cluster is made directly in moto (no release runs): the released service `web` in the
steady state a release leaves behind — v1 marked obsolete by the release of v2, v2 just retired,
v3 new — among other services, a tenth of them marked obsolete by their own releases. Each
service and its target group carry the tags a release gives them (the obsolete marks on both, as
the cleanup step leaves them). Cleanup must delete exactly v1, and find it with a number of calls that
does not grow with the cluster.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

from bench.counting import StepCounter
from cutover.local import environment
from cutover.local.engine import LocalEngine
from cutover.local.lambdas import run_step
from cutover_steps.plan import naming
from cutover_steps.plan.models import TAG_PREFIX
from cutover_steps.decisions.obsolete_mark import BY, SINCE

SIZES = (10, 100, 1000, 3000)
SERVICE = "web"
RELEASED = "3"
# The calls that find what to delete; the others delete it. Target: at most 5 at 1,000 services.
DISCOVERY = ("resourcegroupstaggingapi:GetResources", "ecs:DescribeServices")
DISCOVERY_TARGET = 5
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:cutover-release:bench-cleanup"


def _since(days_ago: int) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def services_to_create(size: int) -> list[dict[str, Any]]:
    """(service, version, desired count, obsolete marks) for a cluster of `size` services."""
    ours = [
        {"service": SERVICE, "version": "1", "desired": 0, "marks": {SINCE: _since(7), BY: "demo/2"}},
        {"service": SERVICE, "version": "2", "desired": 0, "marks": {}},
        {"service": SERVICE, "version": RELEASED, "desired": 2, "marks": {}},
    ]
    others = [
        {"service": f"app{i:04d}", "version": "1", "desired": 0 if i % 10 == 0 else 2,
         "marks": {SINCE: _since(3), BY: f"demo/{i}-2"} if i % 10 == 0 else {}}
        for i in range(size - len(ours))
    ]
    return ours + others


def populate(engine: LocalEngine, config: dict[str, Any], size: int) -> None:
    """Create the cluster's services, each behind its own target group tagged as a release would."""
    elb, ecs = engine.client("elbv2"), engine.client("ecs")
    route = config["routes"][0]
    container = {"name": route["container"], "image": "registry.local/bench:1", "memory": 256}
    task_definition = ecs.register_task_definition(family="bench", containerDefinitions=[container])["taskDefinition"]["taskDefinitionArn"]
    for spec in services_to_create(size):
        ecs_service = naming.service_name(spec["service"], spec["version"])
        tags = {f"{TAG_PREFIX}env": "demo", f"{TAG_PREFIX}service": spec["service"], f"{TAG_PREFIX}version": spec["version"],
                f"{TAG_PREFIX}release": f"release-{spec['version']}", f"{TAG_PREFIX}route": route["name"],
                f"{TAG_PREFIX}ecs-service": ecs_service, **spec["marks"]}
        group = elb.create_target_group(
            Name=naming.target_group_name("demo", spec["service"], spec["version"]), Protocol="HTTP", Port=route["port"],
            VpcId=route["vpc_id"], TargetType="ip", Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )["TargetGroups"][0]["TargetGroupArn"]
        ecs.create_service(
            cluster=config["cluster"], serviceName=ecs_service, taskDefinition=task_definition, desiredCount=spec["desired"],
            loadBalancers=[{"targetGroupArn": group, "containerName": route["container"], "containerPort": route["port"]}],
            tags=[{"key": k, "value": v} for k, v in tags.items() if k != f"{TAG_PREFIX}route"],
        )


def run_size(size: int) -> dict[str, Any]:
    # The data plane never ticks (it would poll every service of the cluster): no task starts here.
    with LocalEngine(tick_seconds=3600) as engine:
        env = environment.create(engine.client)
        config = environment.demo_config(env.values)
        began = time.perf_counter()
        populate(engine, config, size)
        setup_s = time.perf_counter() - began
        release = {"execution_id": EXECUTION, "name": "bench-cleanup"}
        start = {"env": "demo", "version": RELEASED, "image": f"registry.local/web:{RELEASED}", "config": config}
        with StepCounter() as counter:
            plan = run_step("LoadRelease", {"input": start, "release": release})
            counter.reset()
            # The state machine passes plan, results and release; CleanUp reads only the plan.
            began = time.perf_counter()
            result = run_step("CleanUp", {"plan": plan, "results": {}, "release": release})
            cleanup_s = time.perf_counter() - began
        deleted = [d["version"] for d in result["deleted"] if d["changed"] == "deleted"]
        if result["obsolete_found"] != 1 or deleted != ["1"]:
            raise RuntimeError(f"cleanup at {size} services found {result['obsolete_found']} obsolete and deleted {deleted}")
        calls = counter.calls_by_operation()
        return {
            "services": size,
            "setup_s": round(setup_s, 2),
            "cleanup_s": round(cleanup_s, 3),
            "api_calls": sum(calls.values()),
            "api_calls_by_operation": calls,
            # moto pages GetResources and DescribeServices as AWS does: the count is AWS's.
            "discovery_calls": sum(calls.get(op, 0) for op in DISCOVERY),
            "discovery_target": DISCOVERY_TARGET,
            "deleted": deleted,
        }


def run(sizes: tuple[int, ...] = SIZES) -> list[dict[str, Any]]:
    results = []
    for size in sizes:
        began = time.perf_counter()
        results.append(run_size(size))
        print(f"  cleanup, {size} services: {time.perf_counter() - began:.1f} s", flush=True)
    return results
