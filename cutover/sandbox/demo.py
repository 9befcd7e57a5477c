"""`cutover demo`: two releases in a row over a live version 1, then a third version that answers badly,
judged by the canary analysis and rolled back, on the local engine, told as they go (each thing that
happens an event: text for people, or a line of JSON Lines)."""
from __future__ import annotations

import threading
import time
from typing import Any

from cutover_steps.results import CleanedUp, Retired, Service, TargetGroups, TaskDefinition, shares, weights

from cutover import envvars, exits
from cutover.operations import executions as operations
from cutover.output import render
from cutover.aws import load_balancers
from cutover.local import environment
from cutover.local.engine import LocalEngine
from cutover.local.traffic import Behaviour
from cutover.output.progress import Follower
from cutover.output.reports import Event, Report, analysis_lines
from cutover.output.streaming import Emit

VERSIONS = ("2", "3")
# The third release: a version answering 30 % of its requests with a 5XX, judged by the canary analysis.
BAD_VERSION, BAD = "4", Behaviour(error_rate=0.3)
REQUESTS_PER_SECOND = 200
ANALYSIS = {"interval_seconds": 1, "min_requests": 50, "inconclusive": "fail", "metrics": [
    {"name": "errors", "alb": "error_rate", "max_increase": 0.01},
    {"name": "latency", "alb": "p99_latency", "max_ratio": 1.2}]}
IMAGE = "public.ecr.aws/demo/web:{version}"


class RuleSampler(threading.Thread):
    """Reads the public rule a few times a second and keeps every change: the weights over time."""

    def __init__(self, elbv2, rule_arn: str, interval: float = 0.1):
        super().__init__(daemon=True)
        self.elbv2, self.rule_arn, self.interval = elbv2, rule_arn, interval
        self.changes: list[tuple[float, dict[str, int]]] = []
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.sample()
            self._done.wait(self.interval)

    def sample(self) -> None:
        rule = load_balancers.rule(self.elbv2, self.rule_arn)
        forward = {}
        for action in rule["Actions"]:
            if action["Type"] == "forward":
                groups = action.get("ForwardConfig", {}).get("TargetGroups") or [{"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}]
                forward = {g["TargetGroupArn"]: int(g.get("Weight", 1)) for g in groups}
        if not self.changes or self.changes[-1][1] != forward:
            self.changes.append((time.time(), forward))

    def stop(self) -> list[tuple[float, dict[str, int]]]:
        self._done.set()
        self.join()
        self.sample()
        return self.changes


def _account(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    """What the release created, retired and deleted, read back from the steps' typed results."""
    results = operations.latest_by_type(events)
    groups, task = results.get(TargetGroups, TargetGroups()), results.get(TaskDefinition, TaskDefinition())
    service = results.get(Service, Service())
    created = [f"target group {g['name']}" for g in groups.target_groups if g.get("changed")]
    if task.changed:
        created.append(f"task definition {task.task_definition.rsplit('/', 1)[-1]}")
    if service.changed:
        scaling = (service.autoscaling or {}).get("autoscaling")
        created.append(f"ECS service {service.service} (desired {service.desired_count}"
                       + (f", autoscaling {scaling['min']}..{scaling['max']})" if scaling else ")"))
    retired = [f"{r['ecs_service']} (v{r['version']}): {r.get('changed') or r.get('found')}"
               for r in results.get(Retired, Retired()).retired]
    cleanup = results.get(CleanedUp, CleanedUp())
    deleted = [f"{d['ecs_service']} (v{d['version']})" + (f" and target groups {', '.join(d['target_groups'])}" if d.get("target_groups") else "")
               for d in cleanup.deleted if d.get("changed")]
    marked = [m["ecs_service"] for m in cleanup.marked if m.get("changed")]
    return {"created": created, "retired": retired, "deleted": deleted, "marked obsolete": marked}


def release(engine: LocalEngine, config: dict[str, Any], version: str, emit: Emit) -> tuple[str, dict[str, Any] | None]:
    sfn = engine.client("stepfunctions")
    image = IMAGE.format(version=version)
    name = f"demo-web-{version}"
    emit(Event("release_started", {"version": version, "image": image, "execution": name},
               f"\n=== Release web {version} (image {image}), execution {name}\n"))
    sampler = RuleSampler(engine.client("elbv2"), config["routes"][0]["public_rule_arn"])
    sampler.start()
    arn = operations.start(sfn, engine.state_machine_arn, {"env": environment.ENV, "version": version, "image": image, "config": config}, name)
    started = time.time()

    def approve() -> None:
        # What `cutover approve` does: find the task token in the history, send the decision back.
        operations.approve(sfn, arn, by="demo", comment="looked fine on http://preparing.demo.local/", wait_seconds=30)

    description = Follower(sfn, arn, emit, poll=0.25, on_approval=approve, prefix="  ", status_lines=False).run(timeout=300)
    changes = sampler.stop()
    events = operations.history(sfn, arn)
    status, took = description["status"], time.time() - started
    failure = operations.execution_failure(events)
    public = [{"at_seconds": round(max(0.0, moment - started), 1), "percent": shares(forward)} for moment, forward in changes]
    account = _account(events)
    scorecard = operations.analysis_scorecard(events)
    lines = [f"\n  {status} in {render.duration(took)}", *([f"  {render.error_text(failure)}"] if failure else []),
             *(["\n  Canary analysis (each version's own target group):", *analysis_lines(scorecard)] if scorecard else []),
             "\n  Public rule (www) over time, as read from the load balancer:",
             *(f"    +{max(0.0, moment - started):5.1f} s  {weights(forward) or 'no forward'}" for moment, forward in changes),
             *(f"  {label.capitalize() + ':':<17}{'; '.join(items) if items else 'nothing'}" for label, items in account.items())]
    emit(Event("release_ended", {"version": version, "execution": name, "status": status, "seconds": round(took, 1),
                                 "failure": failure, "public_rule": public, "analysis": scorecard,
                                 **{label.replace(" ", "_"): items for label, items in account.items()}},
               "\n".join(lines)))
    return status, failure


# Where a shell points the command line at a sandbox or an account: the demo runs in its own emulated
# account, in this process, and these would send its calls elsewhere.
ELSEWHERE = ("AWS_ENDPOINT_URL", "AWS_PROFILE", "CUTOVER_STATE_MACHINE_ARN", "CUTOVER_STACK_NAME", "CUTOVER_RELEASE_TABLE")


def run(emit: Emit) -> Report:
    """Both releases, then the bad one, each event emitted as it happens; the report says whether both
    succeeded and the bad version was judged and rolled back."""
    saved = envvars.apply(dict.fromkeys(ELSEWHERE))
    try:
        return _run(emit)
    finally:
        envvars.apply(saved)


def _run(emit: Emit) -> Report:
    emit(Event("started", {"versions": list(VERSIONS)},
               "Cutover demo: the real state machine (statemachine/release.asl.json) in moto's interpreter,\n"
               "the real step handlers, emulated ECS/ELBv2/Auto Scaling/DynamoDB/SNS. No AWS account."))
    began = time.time()
    statuses = {}
    with LocalEngine() as engine:
        env = environment.create(engine.client)
        config = environment.demo_config(env.values)
        live = environment.bootstrap_live_version(engine.client, config)
        engine.send_traffic([config["routes"][0]["public_rule_arn"]], REQUESTS_PER_SECOND, {BAD_VERSION: BAD},
                            tick_seconds=0.25)
        emit(Event("environment", {"cluster": "demo", "live_service": live, "live_version": "1",
                                   "requests_per_second": REQUESTS_PER_SECOND},
                   f"\nDemo environment: cluster demo, ALB 'demo' with a public rule (demo.local) and a preparing\n"
                   f"rule (preparing.demo.local); {live} (version 1) serves the public rule, autoscaling 2..6;\n"
                   f"{REQUESTS_PER_SECOND} simulated requests a second go through the public rule."))
        for version in VERSIONS:
            statuses[version], _ = release(engine, config, version, emit)
        emit(Event("judged_release", {"version": BAD_VERSION, "error_rate": BAD.error_rate, "analysis": ANALYSIS},
                   f"\nVersion {BAD_VERSION} answers {BAD.error_rate:.0%} of its requests with a 5XX; its release has the "
                   "canary analysis\n(release.analysis): errors and p99 of each version's own target group, judged "
                   "during the hold."))
        judged = {**config, "release": {**config["release"], "analysis": ANALYSIS}}
        statuses[BAD_VERSION], failure = release(engine, judged, BAD_VERSION, emit)
    took = time.time() - began
    rolled_back = statuses[BAD_VERSION] == "FAILED" and (failure or {}).get("error") == "AnalysisFailed"
    ok = all(statuses[version] == "SUCCEEDED" for version in VERSIONS) and rolled_back
    ending = exits.OK if ok else exits.FAILED
    data = {"succeeded": ok, "exit_code": ending.code, "seconds": round(took, 1), "releases": statuses,
            "judged_and_rolled_back": rolled_back}
    return Report(data, lambda: "\n".join([f"\nSummary ({render.duration(took)}):",
                                           *(f"  web {version}: {status}" for version, status in statuses.items()),
                                           f"  web {BAD_VERSION} was " + ("judged and rolled back by the canary analysis"
                                                                     if rolled_back else "NOT rolled back by the canary analysis")]),
                  ending)
