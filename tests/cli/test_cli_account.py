"""An account-level check through the sandbox, with the command line and plain boto3 only: a live version's
hand-made autoscaling back unchanged after a release retires it and a rollback brings it back, a deregistered
scalable target taking its policies and scheduled actions, adoption refused outside the stack's names, and a
config longer than an execution refused. (The runtime, the SDK the steps ship and what they may invoke:
tests/cli/test_cli_sandbox.py.)"""
from __future__ import annotations

import json

import pytest
import yaml

from cutover.aws.connection import TABLE_NAME
from tests.cli.helpers import cutover_process, sandbox_env, sandbox_process
from tests.cli.test_cli_timing import _aws, _desired, _forward, _public_rule

pytestmark = pytest.mark.e2e

DIMENSION = "ecs:service:DesiredCount"
LIVE = "service/demo/web-1"
SUSPENDED = ("DynamicScalingInSuspended", "DynamicScalingOutSuspended", "ScheduledScalingSuspended")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with sandbox_process(tmp_path_factory.mktemp("account")) as running:
        yield running


def _config(sandbox, name: str, change) -> str:
    """The sandbox's demo config, changed as a user would edit it, written beside it."""
    config = yaml.safe_load((sandbox["dir"] / "deploy.yaml").read_text())
    change(config)
    path = sandbox["dir"] / name
    path.write_text(yaml.safe_dump(config))
    return str(path)


def _autoscaling(sandbox, resource: str) -> dict:
    """What `aws application-autoscaling describe-*` shows of a service's scaling."""
    aas = _aws(sandbox, "application-autoscaling")
    targets = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource])["ScalableTargets"]
    return {
        "target": [(t["MinCapacity"], t["MaxCapacity"], {k: t.get("SuspendedState", {}).get(k) for k in SUSPENDED})
                   for t in targets],
        "policies": {p["PolicyName"]: p for p in aas.describe_scaling_policies(
            ServiceNamespace="ecs", ResourceId=resource)["ScalingPolicies"]},
        "scheduled": {a["ScheduledActionName"]: a for a in aas.describe_scheduled_actions(
            ServiceNamespace="ecs", ResourceId=resource)["ScheduledActions"]},
    }


# -- the live version's own autoscaling survives retire and rollback ---------------------------------

@pytest.fixture(scope="module")
def hand_made(sandbox):
    """What a team set by hand on the live version 1, beside the config's target-tracking policy: a
    step-scaling policy driven by their own alarm, a weekday scheduled action, and scale-in suspended."""
    aas, cloudwatch = _aws(sandbox, "application-autoscaling"), _aws(sandbox, "cloudwatch")
    burst = aas.put_scaling_policy(
        PolicyName="burst", ServiceNamespace="ecs", ResourceId=LIVE, ScalableDimension=DIMENSION, PolicyType="StepScaling",
        StepScalingPolicyConfiguration={"AdjustmentType": "ChangeInCapacity", "Cooldown": 60, "MetricAggregationType": "Average",
                                        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 2}]},
    )["PolicyARN"]
    cloudwatch.put_metric_alarm(
        AlarmName="web-1-cpu-burst", Namespace="AWS/ECS", MetricName="CPUUtilization", Statistic="Average", Period=60,
        EvaluationPeriods=1, Threshold=80, ComparisonOperator="GreaterThanThreshold", AlarmActions=[burst],
        Dimensions=[{"Name": "ClusterName", "Value": "demo"}, {"Name": "ServiceName", "Value": "web-1"}])
    aas.put_scheduled_action(
        ServiceNamespace="ecs", ScheduledActionName="weekday-morning", ResourceId=LIVE, ScalableDimension=DIMENSION,
        Schedule="cron(0 8 ? * MON-FRI *)", Timezone="Europe/Paris", ScalableTargetAction={"MinCapacity": 4, "MaxCapacity": 8})
    aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=LIVE, ScalableDimension=DIMENSION, MinCapacity=2,
                                 MaxCapacity=6, SuspendedState={"DynamicScalingInSuspended": True, "DynamicScalingOutSuspended": False,
                                                                 "ScheduledScalingSuspended": False})
    before = _autoscaling(sandbox, LIVE)
    assert set(before["policies"]) == {"cpu", "burst"} and set(before["scheduled"]) == {"weekday-morning"}
    return {"burst_arn": burst, "before": before}


@pytest.fixture(scope="module")
def released(sandbox, hand_made):
    """Version 2 released over version 1 (no approval to wait for); what the account shows of version 1 then."""
    path = _config(sandbox, "auto.yaml", lambda c: c["release"].update(approval={"mode": "auto"}))
    started = cutover_process(sandbox, "start", "--env", "demo", "--version", "2", "--image", "web:2", "--config", path,
                              "--name", "web-2", "--wait", timeout=180)
    assert started.returncode == 0, started.stdout + started.stderr
    return {"retired": _autoscaling(sandbox, LIVE), "rule": _public_rule(sandbox)}


@pytest.fixture(scope="module")
def rolled_back(sandbox, released):
    back = cutover_process(sandbox, "rollback", "--env", "demo", "--service", "web", "--name", "web-back", "--wait",
                           timeout=180)
    assert back.returncode == 0, back.stdout + back.stderr
    return _autoscaling(sandbox, LIVE)


def test_a_retired_version_keeps_its_hand_made_scaling_held_at_zero(sandbox, hand_made, released):
    # Given version 2 serving and version 1 retired by the release
    assert _forward(sandbox, released["rule"]) == {"demo-web-2": 1}
    assert _desired(sandbox, "web-1") == 0
    retired = released["retired"]
    # Then version 1's scalable target is held at zero with all its scaling suspended (so the weekday
    # action cannot start it again), and its policies and scheduled action are still there, unchanged
    assert retired["target"] == [(0, 0, {key: True for key in SUSPENDED})]
    assert retired["policies"] == hand_made["before"]["policies"]
    assert retired["scheduled"] == hand_made["before"]["scheduled"]


def test_rollback_brings_back_the_step_scaling_policy_and_scheduled_action_unchanged(sandbox, hand_made, released,
                                                                                    rolled_back):
    # Given version 1 brought back by `cutover rollback`
    assert _forward(sandbox, released["rule"]) == {"demo-web-1": 1}
    assert _desired(sandbox, "web-1") == 2
    # Then its bounds and its suspension are as the team left them
    assert rolled_back["target"] == hand_made["before"]["target"] == [
        (2, 6, {"DynamicScalingInSuspended": True, "DynamicScalingOutSuspended": False, "ScheduledScalingSuspended": False})]
    # And the step-scaling policy is the same policy (same ARN, same steps), the scheduled action the same action
    assert rolled_back["policies"]["burst"]["PolicyARN"] == hand_made["burst_arn"]
    assert rolled_back["policies"] == hand_made["before"]["policies"]
    assert rolled_back["scheduled"] == hand_made["before"]["scheduled"]
    # So the team's alarm still names a policy that exists
    (alarm,) = _aws(sandbox, "cloudwatch").describe_alarms(AlarmNames=["web-1-cpu-burst"])["MetricAlarms"]
    assert alarm["AlarmActions"] == [hand_made["burst_arn"]]


def test_deregistering_a_scalable_target_deletes_its_policies_and_scheduled_actions(sandbox, rolled_back):
    # Given version 2, retired by the rollback, with its config's policy and a scheduled action added by hand
    aas = _aws(sandbox, "application-autoscaling")
    retired = "service/demo/web-2"
    aas.put_scheduled_action(ServiceNamespace="ecs", ScheduledActionName="nightly", ResourceId=retired,
                             ScalableDimension=DIMENSION, Schedule="cron(0 22 * * ? *)",
                             ScalableTargetAction={"MinCapacity": 1, "MaxCapacity": 2})
    assert set(_autoscaling(sandbox, retired)["policies"]) == {"cpu"}
    # When its scalable target is deregistered
    aas.deregister_scalable_target(ServiceNamespace="ecs", ResourceId=retired, ScalableDimension=DIMENSION)
    # Then its policies and scheduled actions are gone with it, as on AWS, and version 1's are untouched
    assert _autoscaling(sandbox, retired) == {"target": [], "policies": {}, "scheduled": {}}
    assert _autoscaling(sandbox, LIVE) == rolled_back


# -- adoption stays inside the stack's names ------------------------------------------------------------

def _shop_legacy(sandbox) -> dict:
    """What another tool made in the demo's account: service shop-legacy behind target group shop-legacy, on
    its own host rules of the demo's listener; and the deploy config the team would release it with."""
    elb, ecs = _aws(sandbox, "elbv2"), _aws(sandbox, "ecs")
    demo = yaml.safe_load((sandbox["dir"] / "deploy.yaml").read_text())
    route = demo["routes"][0]
    listener = route["public_rule_arn"].replace(":listener-rule/", ":listener/").rsplit("/", 1)[0]
    group = elb.create_target_group(Name="shop-legacy", Protocol="HTTP", Port=8080, VpcId=route["vpc_id"],
                                    TargetType="ip", HealthCheckPath="/health")["TargetGroups"][0]["TargetGroupArn"]
    rules = {host: elb.create_rule(ListenerArn=listener, Priority=priority, Actions=[{"Type": "forward", "TargetGroupArn": group}],
                                   Conditions=[{"Field": "host-header", "Values": [host]}])["Rules"][0]["RuleArn"]
             for priority, host in ((50, "shop.demo.local"), (51, "preparing.shop.demo.local"))}
    task = ecs.register_task_definition(
        family="shop-by-terraform", cpu="256", memory="512", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        executionRoleArn=demo["task_definition"]["execution_role_arn"],
        containerDefinitions=[{"name": "web", "image": "registry.local/shop:legacy", "portMappings": [{"containerPort": 8080}]}],
    )["taskDefinition"]["taskDefinitionArn"]
    network = demo["service_settings"]["network"]
    ecs.create_service(
        cluster="demo", serviceName="shop-legacy", taskDefinition=task, desiredCount=2, launchType="FARGATE",
        loadBalancers=[{"targetGroupArn": group, "containerName": "web", "containerPort": 8080}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": network["subnets"], "securityGroups": network["security_groups"]}})

    def shop(config: dict) -> None:
        config.update(service="shop")
        config["task_definition"]["family"] = "shop"
        config["service_settings"].pop("autoscaling")
        config["routes"][0].update(public_rule_arn=rules["shop.demo.local"], preparing_url="http://preparing.shop.demo.local/",
                                   preparing_rule_arn=rules["preparing.shop.demo.local"])

    return {"group": group, "rule": rules["shop.demo.local"], "config": _config(sandbox, "shop.yaml", shop)}


def _shop_world(sandbox, shop: dict) -> dict:
    """What adoption would change: the service's and target group's tags, the rule, the release table."""
    elb, ecs, dynamodb = _aws(sandbox, "elbv2"), _aws(sandbox, "ecs"), _aws(sandbox, "dynamodb")
    (service,) = ecs.describe_services(cluster="demo", services=["shop-legacy"], include=["TAGS"])["services"]
    return {"service_tags": service.get("tags", []), "desired": service["desiredCount"],
            "group_tags": elb.describe_tags(ResourceArns=[shop["group"]])["TagDescriptions"][0]["Tags"],
            "rule": elb.describe_rules(RuleArns=[shop["rule"]])["Rules"][0]["Actions"],
            "items": sorted(i["pk"]["S"] for i in dynamodb.scan(TableName=TABLE_NAME, ProjectionExpression="pk")["Items"])}


def test_adopt_refuses_a_service_outside_the_stack_names_and_changes_nothing(sandbox, tmp_path):
    # Given a service whose names the sandbox's stack settings (services web-*, target groups demo-*) do not cover
    shop = _shop_legacy(sandbox)
    before = _shop_world(sandbox, shop)
    adopt = ("adopt", "--config", shop["config"], "--env", "demo", "--ecs-service", "shop-legacy", "--version", "pre-cutover")

    # When it is adopted, as a dry run and for real
    for dry in (("--dry-run",), ()):
        result = cutover_process(sandbox, *adopt, *dry)
        # Then it is refused (exit 2), naming both prefixes and how to widen them
        assert result.returncode == 2, result.stdout + result.stderr
        assert "ECS service 'shop-legacy' does not start with service_name_prefix 'web-'" in result.stderr
        assert "target group 'shop-legacy' (route www) does not start with target_group_name_prefix 'demo-'" in result.stderr
        assert "Widen the prefixes in the stack's settings" in result.stderr and "nothing was changed" in result.stderr
    # And nothing in the account changed: no tag, no release record
    after = _shop_world(sandbox, shop)
    assert after == before
    assert not [pk for pk in after["items"] if "shop" in pk]

    # While settings whose prefixes cover the names let the same dry run through, still changing nothing
    wide = tmp_path / "cdk.json"
    wide.write_text(json.dumps({"context": {"cutover:serviceNamePrefix": "shop-", "cutover:targetGroupNamePrefix": "shop-"}}))
    allowed = cutover_process(sandbox, *adopt, "--dry-run", "--settings", str(wide))
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "Would record release#demo#shop" in allowed.stdout
    assert _shop_world(sandbox, shop) == before


# -- a release longer than an execution ---------------------------------------------------------------

def test_a_27_day_config_is_refused_by_validate_and_start_starts_nothing(sandbox):
    # Given the demo's config with a 7-day approval and 20 traffic holds of 24 h
    def longer(config: dict) -> None:
        config["release"]["approval"]["timeout_seconds"] = 7 * 86400
        config["release"]["traffic_steps"] = [{"percent": 5 * (i + 1), "hold_seconds": 86400} for i in range(20)]

    path = _config(sandbox, "long.yaml", longer)
    sfn = _aws(sandbox, "stepfunctions")
    machine = sandbox_env(sandbox)["CUTOVER_STATE_MACHINE_ARN"]
    before = sfn.list_executions(stateMachineArn=machine)["executions"]

    validated = cutover_process(sandbox, "validate", path)
    started = cutover_process(sandbox, "start", "--env", "demo", "--version", "9", "--image", "web:9", "--config", path)

    # Then both refuse it (exit 2), naming its longest run and the execution's limit, and no execution starts
    for result in (validated, started):
        assert result.returncode == 2, result.stdout + result.stderr
        said = result.stdout + result.stderr
        assert "the longest run these settings allow is 2336580 s (27.0 days)" in said
        assert "longer than a release's execution may run, 691200 s (8.0 days)" in said
    assert sfn.list_executions(stateMachineArn=machine)["executions"] == before
