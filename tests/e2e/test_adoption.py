"""Adopting a service Cutover did not create, through the command line and the real definition.

One engine for the module, in story order: a service made with plain AWS calls (its own target
group behind the public rule, a scalable target and a policy) is refused when the adoption is
wrong, previewed by a dry run, adopted (twice: the second changes nothing), retired by the first
release like any old version, and brought back by `cutover rollback` with its count, its
autoscaling and the public traffic.
"""
from __future__ import annotations

import copy
import json
import time

import pytest

from cutover.local import environment
from cutover.local.engine import LocalEngine, TABLE_NAME
from cutover.local.invariants import EmptyTargetSampler
from tests.cli.helpers import cutover
from tests.conftest import Demo
from tests.e2e.safety_fixtures import world

pytestmark = pytest.mark.e2e

LEGACY = "web-legacy"  # within the stack's service name prefix (web-), as the local IAM policies narrow it
LEGACY_GROUP = "demo-web-legacy"
RESOURCE = f"service/demo/{LEGACY}"


@pytest.fixture(scope="module")
def engine():
    with LocalEngine(task_start_seconds=0.2) as running:
        yield running


def _legacy_service(engine, values: dict[str, str], name: str, group_name: str) -> str:
    """What another tool made: a target group, a task definition and a service, no cutover: tags."""
    elb, ecs = engine.client("elbv2"), engine.client("ecs")
    group = elb.create_target_group(Name=group_name, Protocol="HTTP", Port=8080, VpcId=values["VPC"], TargetType="ip",
                                    HealthCheckPath="/health", Tags=[{"Key": "team", "Value": "shop"}])["TargetGroups"][0]
    task = ecs.register_task_definition(
        family=f"{name}-by-terraform", cpu="256", memory="512", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        executionRoleArn=values["EXECUTION_ROLE_ARN"],
        containerDefinitions=[{"name": "web", "image": "registry.local/web:legacy", "portMappings": [{"containerPort": 8080}]}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster="demo", serviceName=name, taskDefinition=task, desiredCount=3, launchType="FARGATE",
        loadBalancers=[{"targetGroupArn": group["TargetGroupArn"], "containerName": "web", "containerPort": 8080}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": [values["SUBNET_A"]], "securityGroups": [values["SECURITY_GROUP"]]}},
        tags=[{"key": "team", "value": "shop"}],
    )
    return group["TargetGroupArn"]


def _wait_until_healthy(engine, group: str, count: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        health = engine.client("elbv2").describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
        if sum(1 for d in health if d["TargetHealth"]["State"] == "healthy") >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"{group} never had {count} healthy targets")


@pytest.fixture(scope="module")
def shop(engine, tmp_path_factory):
    """The demo network with `web-legacy` serving the public rule at 3 tasks, autoscaled 3..5, and
    `web-other`, a second service of the cluster behind no rule."""
    env = environment.create(engine.client)
    group = _legacy_service(engine, env.values, LEGACY, LEGACY_GROUP)
    _legacy_service(engine, env.values, "web-other", "demo-web-other")
    engine.client("elbv2").modify_rule(RuleArn=env.values["PUBLIC_RULE_ARN"], Actions=[{"Type": "forward", "TargetGroupArn": group}])
    aas = engine.client("application-autoscaling")
    aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=RESOURCE, ScalableDimension="ecs:service:DesiredCount",
                                 MinCapacity=3, MaxCapacity=5)
    aas.put_scaling_policy(PolicyName="legacy-cpu", ServiceNamespace="ecs", ResourceId=RESOURCE,
                           ScalableDimension="ecs:service:DesiredCount", PolicyType="TargetTrackingScaling",
                           TargetTrackingScalingPolicyConfiguration={
                               "TargetValue": 50.0, "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
    config = environment.demo_config(env.values)
    config["release"]["traffic_steps"] = [{"percent": 50, "hold_seconds": 2}, {"percent": 100, "hold_seconds": 0}]
    config["release"]["approval"] = {"mode": "auto"}
    path = tmp_path_factory.mktemp("shop") / "deploy.yaml"
    path.write_text(json.dumps(config))
    demo = Demo(engine=engine, env=env, config=config)
    _wait_until_healthy(engine, group, 3)
    sampler = EmptyTargetSampler(engine.client("elbv2"), [demo.public_rule]).start()
    yield {"demo": demo, "config_path": str(path), "group": group}
    engine.wait_for_running_executions()
    violations = sampler.stop()
    assert not violations, "users were sent to an empty version:\n" + "\n".join(map(str, violations))


def adopt(shop, *extra: str, service: str = LEGACY, version: str = "pre-cutover", config: str | None = None):
    return cutover("adopt", "--config", config or shop["config_path"], "--env", "demo", "--ecs-service", service,
                   "--version", version, *extra)


def record(demo) -> dict:
    item = demo.client("dynamodb").get_item(TableName=TABLE_NAME, Key={"pk": {"S": "release#demo#web"}}).get("Item")
    return item or {}


def group_tags(demo, arn: str) -> dict[str, str]:
    described = demo.client("elbv2").describe_tags(ResourceArns=[arn])["TagDescriptions"][0]
    return {t["Key"]: t["Value"] for t in described["Tags"]}


def service_tags(demo, name: str) -> dict[str, str]:
    return {t["key"]: t["value"] for t in demo.service(name)["tags"]}


def test_adopt_refuses_what_it_cannot_prove_and_changes_nothing(shop, tmp_path):
    demo = shop["demo"]
    before = world(demo)
    elsewhere = copy.deepcopy(demo.config)
    elsewhere["cluster"] = demo.client("ecs").create_cluster(clusterName="other")["cluster"]["clusterArn"]
    other_cluster = tmp_path / "other.yaml"
    other_cluster.write_text(json.dumps(elsewhere))

    refusals = {
        "a service not behind the public rule": (adopt(shop, service="web-other"), "routes.0.public_rule_arn"),
        "the wrong cluster": (adopt(shop, config=str(other_cluster)), "--ecs-service: no service 'web-legacy' in cluster other"),
        "a service that does not exist": (adopt(shop, service="web-gone"), "--ecs-service"),
        "an invalid label": (adopt(shop, version="pre cutover"), "--version 'pre cutover'"),
        "an invalid env": (cutover("adopt", "--config", shop["config_path"], "--env", "Demo", "--ecs-service", LEGACY,
                                   "--version", "pre-cutover"), "--env 'Demo'"),
    }
    for case, (result, field) in refusals.items():
        assert result.code == 2, (case, result)
        assert field in result.err, (case, result.err)
    assert "demo-web-legacy" in refusals["a service not behind the public rule"][0].err  # names what the rule serves
    assert world(demo) == before


def test_a_service_outside_the_stack_names_is_refused_before_anything_changes(shop, tmp_path):
    # Given the stack's settings (its cdk.json) allow only services named shop-* and target groups prod-*
    demo = shop["demo"]
    before = world(demo)
    narrow = tmp_path / "cdk.json"
    narrow.write_text(json.dumps({"app": "python app.py", "context": {
        "cutover:serviceNamePrefix": "shop-", "cutover:targetGroupNamePrefix": "prod-"}}))

    # When web-legacy (target group demo-web-legacy) is adopted under them, for real or as a dry run
    for dry in ((), ("--dry-run",)):
        result = cutover("adopt", "--config", shop["config_path"], "--env", "demo", "--ecs-service", LEGACY,
                         "--version", "pre-cutover", "--settings", str(narrow), *dry)

        # Then it is refused (exit 2), naming both prefixes and how to widen them; nothing changed
        assert result.code == 2, result
        assert "ECS service 'web-legacy' does not start with service_name_prefix 'shop-'" in result.err
        assert "target group 'demo-web-legacy' (route www) does not start with target_group_name_prefix 'prod-'" in result.err
        assert "Widen the prefixes in the stack's settings" in result.err
    assert world(demo) == before
    # and the local engine's own settings (web-*, demo-*) cover it
    wide = tmp_path / "context.json"
    wide.write_text(json.dumps({"cutover:serviceNamePrefix": "web-", "cutover:targetGroupNamePrefix": "demo-"}))
    assert adopt(shop, "--dry-run", "--settings", str(wide)).code == 0
    assert world(demo) == before


def test_a_label_whose_names_are_taken_is_refused(shop):
    demo = shop["demo"]
    before = world(demo)

    # web-other's target group is demo-web-other: the name a release of version "other" would use
    result = adopt(shop, version="other")

    assert result.code == 2
    assert "--version other: target group demo-web-other exists already" in result.err
    assert world(demo) == before


def test_a_service_scaled_to_zero_is_refused(shop):
    demo = shop["demo"]
    demo.client("ecs").update_service(cluster="demo", service="web-other", desiredCount=0)
    before = world(demo)

    result = adopt(shop, service="web-other")

    assert result.code == 2
    assert "--ecs-service: web-other has desired count 0" in result.err
    assert world(demo) == before


def test_dry_run_shows_what_would_be_tagged_and_recorded_and_changes_nothing(shop):
    demo = shop["demo"]
    before = world(demo)

    text = adopt(shop, "--dry-run")
    as_json = adopt(shop, "--dry-run", "--output", "json")

    assert text.code == 0, text.err
    assert "Dry run" in text.out and "Nothing was changed" in text.out
    assert f"target group  {LEGACY_GROUP} (route www): cutover:env=demo" in text.out
    report = json.loads(as_json.out)
    assert report["dry_run"] is True and report["already_adopted"] is False
    assert [(t["resource"], t["name"], t["changed"]) for t in report["tag"]] == [
        ("target group", LEGACY_GROUP, None), ("ECS service", LEGACY, None)]
    assert report["tag"][0]["tags"] == {
        "cutover:env": "demo", "cutover:service": "web", "cutover:version": "pre-cutover", "cutover:release": "adopted",
        "cutover:route": "www", "cutover:ecs-service": LEGACY}
    assert report["record"]["current"]["ecs_service"] == LEGACY
    assert report["record"]["current"]["target_groups"] == {"www": LEGACY_GROUP}
    assert world(demo) == before


def test_adopt_tags_and_records_once_then_says_it_is_done(shop):
    demo = shop["demo"]

    first = adopt(shop, "--output", "json")

    assert first.code == 0, first.err
    report = json.loads(first.out)
    assert [t["changed"] for t in report["tag"]] == ["tagged", "tagged"] and report["record"]["changed"] == "written"
    assert group_tags(demo, shop["group"])["cutover:ecs-service"] == LEGACY
    assert group_tags(demo, shop["group"])["team"] == "shop"  # the other tool's tags are kept
    assert service_tags(demo, LEGACY)["cutover:version"] == "pre-cutover"
    current = record(demo)["current"]["M"]
    assert current["version"]["S"] == "pre-cutover" and current["release"]["S"] == "adopted"
    assert current["adopted_by"]["S"].startswith("arn:aws:")
    # the service kept serving as it was
    assert demo.forward(demo.public_rule) == {LEGACY_GROUP: 1}
    assert demo.service(LEGACY)["desiredCount"] == 3

    before = world(demo)
    again = adopt(shop)
    other_label = adopt(shop, version="legacy")

    assert again.code == 0, again.err
    assert "already adopted" in again.out and "nothing changed" in again.out
    assert other_label.code == 2
    assert "already belongs to web version pre-cutover in env demo" in other_label.err
    assert world(demo) == before


def test_the_first_release_retires_the_adopted_service_like_any_old_version(shop):
    demo = shop["demo"]
    plan = cutover("plan", "--env", "demo", "--version", "2", "--image", "web:2", "--config", shop["config_path"])
    assert f"{LEGACY} (vpre-cutover): scalable target 3..5 parked at 0..0" in plan.out

    description = demo.release("2", config=demo.config)

    assert description["status"] == "SUCCEEDED", description.get("output")
    assert demo.forward(demo.public_rule) == {"demo-web-2": 1}
    assert demo.service(LEGACY)["desiredCount"] == 0
    assert demo.parked(LEGACY)
    assert "cutover:obsolete-since" in service_tags(demo, LEGACY)
    previous = record(demo)["previous"]["M"]
    assert previous["ecs_service"]["S"] == LEGACY and previous["desired_count"]["N"] == "3"
    legacy = demo.client("dynamodb").get_item(TableName=TABLE_NAME, Key={"pk": {"S": "version#demo#web#pre-cutover"}})["Item"]
    assert legacy["autoscaling"]["M"]["min"]["N"] == "3"
    assert previous["target_groups"]["M"] == {"www": {"S": LEGACY_GROUP}}  # its own names, for the rollback


def test_rollback_brings_the_adopted_service_back_with_its_count_autoscaling_and_traffic(shop):
    demo = shop["demo"]

    result = cutover("rollback", "--env", "demo", "--service", "web", "--name", "web-back", "--wait", "--poll", "0.5")

    assert result.code == 0, result.out + result.err
    assert demo.forward(demo.public_rule) == {LEGACY_GROUP: 1}
    assert demo.service(LEGACY)["desiredCount"] == 3
    target = demo.scalable_target(LEGACY)
    assert (target["MinCapacity"], target["MaxCapacity"]) == (3, 5)
    policies = demo.client("application-autoscaling").describe_scaling_policies(
        ServiceNamespace="ecs", ResourceId=RESOURCE)["ScalingPolicies"]
    assert [p["PolicyName"] for p in policies] == ["legacy-cpu"]
    assert "cutover:obsolete-since" not in service_tags(demo, LEGACY)
    # version 2 is retired in its place, and no second service or target group was made for the old one
    assert demo.service("web-2")["desiredCount"] == 0
    assert sorted(demo.target_group_names()) == ["demo-web-2", "demo-web-legacy", "demo-web-other"]
    assert record(demo)["current"]["M"]["ecs_service"]["S"] == LEGACY
