"""The emulated account a cell runs in, and what the invariants read from it.

The account holds the demo service `web` (version 1 live, autoscaled 2..6) and, beside it, a
service `api` of another team on its own load balancer with its own lock: what a release of `web`
must never touch. Everything here reads the account itself, never a release's own report.
"""
from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from typing import Any

from cutover.local import environment, invariants, snapshot
from cutover.local.engine import TABLE_NAME, LocalEngine
from cutover_steps.plan import naming

SERVICE = "web"
OLD, NEW = "1", "2"
ALARM = "web-5xx"
OBSOLETE_TAG = "cutover:obsolete-since"
BYSTANDER_LOCK = "lock#demo#api"
GROUP = {v: naming.target_group_name("demo", SERVICE, v) for v in (OLD, NEW)}
ECS_SERVICE = {v: naming.service_name(SERVICE, v) for v in (OLD, NEW)}


def release_config(values: dict[str, str], *, hold_seconds: int = 1) -> dict[str, Any]:
    """The demo config with the shortest waits that keep a release's behaviour: one-second polls and
    alarm checks (the minimum the config accepts), an approval by the harness (which answers the canary
    analysis' questions too), a watched alarm."""
    config = environment.demo_config(values)
    config["release"].update(
        approval={"mode": "manual", "timeout_seconds": 600}, poll_interval_seconds=1, alarm_check_seconds=1,
        health_timeout_seconds=30, alarm_names=[ALARM],
        traffic_steps=[{"percent": 50, "hold_seconds": hold_seconds}, {"percent": 100, "hold_seconds": hold_seconds - 1}],
    )
    return config


@dataclass
class World:
    engine: LocalEngine
    env: environment.DemoEnvironment
    config: dict[str, Any]
    public_rules: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, engine: LocalEngine, *, hold_seconds: int = 1) -> World:
        env = environment.create(engine.client)
        config = release_config(env.values, hold_seconds=hold_seconds)
        # A verification check on the prepared version and the holds, so that its step is in every cell's release.
        check = engine.add_function("check-smoke", lambda event, context: {"passed": True, "message": "smoke test passed"})
        config["release"]["verify"] = [{"name": "smoke", "lambda": {"function_arn": check}, "when": ["prepared", "hold"]}]
        # The canary judge in every hold, and capacity that follows traffic, so that their states and calls are in
        # every cell's release: requests flow through the public rule, and no hold reaches the judge's sample, so
        # every watched hold ends inconclusive and asks the harness, which lets the new version go on (ask).
        config["release"].update(capacity="proportional", analysis={
            "interval_seconds": 1, "min_requests": 100000, "inconclusive": "ask",
            "metrics": [{"name": "errors", "alb": "error_rate", "max_increase": 0.5}]})
        cloudwatch = engine.client("cloudwatch")
        cloudwatch.put_metric_alarm(
            AlarmName=ALARM, Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count", Statistic="Sum",
            Period=60, EvaluationPeriods=1, Threshold=5, ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
        cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="quiet")
        environment.bootstrap_live_version(engine.client, copy.deepcopy(config), version=OLD)
        # Another team's service in the same cluster, on its own load balancer, with a release of its own under way (its lock).
        values = env.values
        other = environment.create_alb(engine.client, "other", values["VPC"], [values["SUBNET_A"], values["SUBNET_B"]],
                                       values["SECURITY_GROUP"], "api.local", priority=10)
        bystander = copy.deepcopy(config)
        bystander["service"] = "api"
        bystander["task_definition"]["family"] = "api"
        bystander["routes"][0].update(preparing_rule_arn=other.preparing_rule_arn, public_rule_arn=other.public_rule_arn)
        environment.bootstrap_live_version(engine.client, bystander, version="7")
        engine.client("dynamodb").put_item(TableName=TABLE_NAME, Item={
            "pk": {"S": BYSTANDER_LOCK}, "held_by": {"S": "arn:aws:states:us-east-1:123456789012:execution:cutover-release:api-8"}})
        world = cls(engine, env, config, [values["PUBLIC_RULE_ARN"], other.public_rule_arn])
        engine.send_traffic([values["PUBLIC_RULE_ARN"]], rps=50, tick_seconds=0.25)
        world.wait_until_serving([GROUP[OLD], naming.target_group_name("demo", "api", "7")])
        return world

    def wait_until_serving(self, groups: list[str], timeout: float = 60) -> None:
        """Until every live version's tasks have registered healthy, as they have in a live account:
        the invariants are sampled from the start of the cell."""
        elbv2 = self.client("elbv2")
        arns = [g["TargetGroupArn"] for g in elbv2.describe_target_groups(Names=groups)["TargetGroups"]]
        deadline = time.time() + timeout
        while time.time() < deadline:
            if all(sum(d["TargetHealth"]["State"] == "healthy" for d in
                       elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]) >= 2 for arn in arns):
                return
            time.sleep(0.1)
        raise TimeoutError(f"the live versions {groups} never became healthy")

    def client(self, name: str):
        return self.engine.client(name)

    # -- what a person would look at ------------------------------------------------------------
    def forward(self, rule_arn: str) -> dict[str, int]:
        """Target group name → weight of a rule's forward action."""
        return invariants.forward_by_name(self.client("elbv2"), rule_arn)

    def service(self, name: str) -> dict[str, Any] | None:
        found = self.client("ecs").describe_services(cluster="demo", services=[name], include=["TAGS"])["services"]
        return found[0] if found and found[0]["status"] == "ACTIVE" else None

    def tags(self, name: str) -> dict[str, str]:
        return {t["key"]: t["value"] for t in (self.service(name) or {}).get("tags") or []}

    def scaling(self, service: str) -> tuple[tuple[int, int] | None, list[str]]:
        aas = self.client("application-autoscaling")
        resource = f"service/demo/{service}"
        targets = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource])["ScalableTargets"]
        policies = aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=resource)["ScalingPolicies"]
        bounds = (targets[0]["MinCapacity"], targets[0]["MaxCapacity"]) if targets else None
        return bounds, sorted(p["PolicyName"] for p in policies)

    def item(self, key: str) -> dict[str, Any] | None:
        return self.client("dynamodb").get_item(TableName=TABLE_NAME, Key={"pk": {"S": key}}).get("Item")

    def lock_holder(self) -> str | None:
        item = self.item(f"lock#demo#{SERVICE}")
        return item["held_by"]["S"] if item else None

    def set_alarm(self, state: str) -> None:
        self.client("cloudwatch").set_alarm_state(AlarmName=ALARM, StateValue=state, StateReason="chaos")

    def active_task_definitions(self, family: str) -> list[str]:
        return self.client("ecs").list_task_definitions(familyPrefix=family, status="ACTIVE")["taskDefinitionArns"]

    # -- the whole account, for "nothing else changed" -----------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The whole account (cutover.local.snapshot), plus the release table, which it leaves out."""
        found = snapshot.take(self.client)
        found["item"] = {item["pk"]["S"]: json.dumps(item, sort_keys=True)
                         for item in self.client("dynamodb").scan(TableName=TABLE_NAME)["Items"]}
        return found

    def changed_elsewhere(self, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
        """What changed outside web's versions 1 and 2, web's two rules and web's records."""
        versions = [("demo", SERVICE, OLD), ("demo", SERVICE, NEW)]
        rules = [self.env.values["PUBLIC_RULE_ARN"], self.env.values["PREPARING_RULE_ARN"]]
        changes = [str(c) for c in snapshot.changes_outside(before, after, versions, rules=rules)]
        items_before, items_after = before["item"], after["item"]
        # web's ledger item (ledger#web#DAY) is the release's own audit of itself, as its record is.
        changes += [f"release table item {key} changed" for key in sorted(set(items_before) | set(items_after))
                    if f"#demo#{SERVICE}" not in key and not key.startswith(f"ledger#{SERVICE}#")
                    and items_before.get(key) != items_after.get(key)]
        return changes
