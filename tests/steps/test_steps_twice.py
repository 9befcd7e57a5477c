"""Each step against moto, run twice: the second run finds what the first made and changes nothing."""
from __future__ import annotations

import time

import pytest
import yaml
from boto3.dynamodb.types import TypeDeserializer

from cutover.local import lambdas
from cutover.local.lambdas import run_step
from cutover_steps.adapters import clients as aws
from cutover_steps.errors import InvalidReleaseInput
from cutover_steps.checks import target_health as health

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:cutover-release:step-test"


class Stepper:
    """Feeds steps the event the state machine would: the plan, earlier results, the release."""

    def __init__(self, demo, version: str = "2", execution: str = EXECUTION):
        self.demo = demo
        self.release = {"execution_id": execution, "name": execution.rsplit(":", 1)[-1]}
        self.results: dict = {}
        start = {"env": "demo", "version": version, "image": f"web:{version}", "config": demo.config}
        self.plan = run_step("LoadRelease", {"input": start, "release": self.release})

    def run(self, key: str, name: str, **extra):
        result = run_step(key, {"plan": self.plan, "results": self.results, "release": self.release, **extra})
        self.results[name] = result
        return result


@pytest.fixture
def stepper(demo) -> Stepper:
    return Stepper(demo)


def prepared(stepper: Stepper, *, until_healthy: bool = True) -> Stepper:
    stepper.run("LockService", "lock")
    stepper.run("CreateTargetGroups", "target_groups")
    stepper.run("AttachPreparingRules", "preparing")
    stepper.run("RegisterTaskDefinition", "task_definition")
    stepper.run("CreateService", "service")
    # As the state machine does before any traffic moves: until the new version is healthy
    deadline = time.time() + 60
    while until_healthy and not stepper.run("CheckHealth", "health")["healthy"] and time.time() < deadline:
        time.sleep(0.2)
    return stepper


def test_load_is_read_only_and_repeatable(stepper, demo):
    again = run_step("LoadRelease", {"input": {"env": "demo", "version": "2", "image": "web:2", "config": demo.config},
                                     "release": stepper.release})
    assert again == stepper.plan
    assert demo.target_group_names() == {"demo-web-1"}


def test_lock_twice_by_the_same_release_is_still_one_lock(stepper, demo):
    first = stepper.run("LockService", "lock")
    second = stepper.run("LockService", "lock")
    assert first["changed"] == second["changed"] == "taken"
    items = demo.client("dynamodb").scan(TableName="cutover-releases")["Items"]
    assert [i["pk"]["S"] for i in items] == ["lock#demo#web"]


def test_create_target_groups_twice_creates_one(stepper, demo):
    first = stepper.run("CreateTargetGroups", "target_groups")
    second = stepper.run("CreateTargetGroups", "target_groups")
    assert first["target_groups"][0]["changed"] == "created"
    assert second["target_groups"][0]["changed"] is None
    assert second["target_groups"][0]["arn"] == first["target_groups"][0]["arn"]
    assert demo.target_group_names() == {"demo-web-1", "demo-web-2"}
    tags = demo.client("elbv2").describe_tags(ResourceArns=[first["target_groups"][0]["arn"]])["TagDescriptions"][0]["Tags"]
    assert {"Key": "cutover:version", "Value": "2"} in tags and {"Key": "cutover:env", "Value": "demo"} in tags


def test_attach_preparing_rules_twice_changes_the_rule_once(stepper, demo):
    stepper.run("CreateTargetGroups", "target_groups")
    first = stepper.run("AttachPreparingRules", "preparing")
    second = stepper.run("AttachPreparingRules", "preparing")
    assert first["rules"][0]["changed"] and second["rules"][0]["changed"] is None
    assert demo.forward(demo.preparing_rule) == {"demo-web-2": 1}
    assert demo.forward(demo.public_rule) == {"demo-web-1": 1}


def test_register_task_definition_twice_adds_one_revision(stepper, demo):
    before = demo.client("ecs").list_task_definitions(familyPrefix="web")["taskDefinitionArns"]
    first = stepper.run("RegisterTaskDefinition", "task_definition")
    second = stepper.run("RegisterTaskDefinition", "task_definition")
    after = demo.client("ecs").list_task_definitions(familyPrefix="web")["taskDefinitionArns"]
    assert first["changed"] == "registered" and second["changed"] is None
    assert second["task_definition"] == first["task_definition"]
    assert len(after) == len(before) + 1


def test_fields_ecs_accepts_reach_the_task_definition_and_the_service(demo):
    # Given a config that uses ECS fields Cutover does not read itself: ARM64, a container health
    # check, ECS Exec and the deployment circuit breaker
    demo.config["task_definition"]["runtime_platform"] = {"cpu_architecture": "ARM64", "operating_system_family": "LINUX"}
    demo.config["task_definition"]["containers"][0]["health_check"] = {"command": ["CMD-SHELL", "true"], "interval": 10}
    demo.config["service_settings"]["enable_execute_command"] = True
    demo.config["service_settings"]["deployment_configuration"] = {"deployment_circuit_breaker": {"enable": True, "rollback": False}}

    # When the version is prepared (what CreateService is sent is kept: moto stores neither of those two fields)
    sent = []
    aws.client("ecs").meta.events.register("provide-client-params.ecs.CreateService", lambda params, **_: sent.append(params))
    stepper = prepared(Stepper(demo, "2"), until_healthy=False)

    # Then ECS is given them, in its own names
    ecs = demo.client("ecs")
    service = demo.service("web-2")
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    assert definition["runtimePlatform"] == {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}
    assert definition["containerDefinitions"][0]["healthCheck"]["command"] == ["CMD-SHELL", "true"]
    assert sent[0]["enableExecuteCommand"] is True
    assert sent[0]["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": False}
    assert stepper.results["task_definition"]["changed"] == "registered"


def test_create_service_twice_creates_one_service_and_one_scalable_target(stepper, demo):
    stepper.run("CreateTargetGroups", "target_groups")
    stepper.run("RegisterTaskDefinition", "task_definition")
    first = stepper.run("CreateService", "service")
    second = stepper.run("CreateService", "service")
    assert first["changed"] == "created" and second["changed"] is None
    assert second["autoscaling"]["changed"] is None
    services = demo.client("ecs").list_services(cluster="demo")["serviceArns"]
    assert sorted(s.rsplit("/", 1)[-1] for s in services) == ["web-1", "web-2"]
    assert demo.scalable_target("web-2")["MinCapacity"] == 2


def test_health_counts_targets_against_the_required_count(stepper, demo):
    prepared(stepper, until_healthy=False)
    # A function with no time to wait for a second look returns after one, not healthy yet
    lambdas.time_limits["CheckHealth"] = health.LOOK_MARGIN_SECONDS
    result = stepper.run("CheckHealth", "health", phase="health")
    assert result["counts"][0]["required"] == 2
    assert result["checks"] == 1 and not result["healthy"]
    # run again, as the state machine does, it keeps the first run's start time: the timeout runs from the first look
    again = stepper.run("CheckHealth", "health", phase="health")
    assert again["started_at"] == result["started_at"] and again["checks"] == 2


def test_health_polls_inside_one_invocation_until_healthy(stepper, demo):
    prepared(stepper, until_healthy=False)
    # Given a new version whose tasks are still starting, when its health is checked once
    result = stepper.run("CheckHealth", "health", phase="health")
    # Then that one invocation looked again after each poll interval until every target group was healthy
    assert result["healthy"] and result["checks"] >= 2
    assert result["counts"][0]["healthy"] >= 2


def test_switch_steps_twice_converge(stepper, demo):
    prepared(stepper)
    stepper.run("ReadLiveRoutes", "live")
    first = stepper.run("ShiftTraffic", "traffic")
    # a retried shift re-enters with the same earlier results: same step, nothing new to write
    stepper.results["traffic"] = {}
    again = stepper.run("ShiftTraffic", "traffic")
    assert first["rules"][0]["changed"] == "weights set" and again["rules"][0]["changed"] is None
    assert demo.forward(demo.public_rule) == {"demo-web-2": 500, "demo-web-1": 500}
    stepper.run("ShiftTraffic", "traffic")
    assert demo.forward(demo.public_rule) == {"demo-web-2": 1}

    retired = stepper.run("RetireOldVersion", "retire")
    retired_again = stepper.run("RetireOldVersion", "retire")
    assert "desired count 2 -> 0" in retired["retired"][0]["changed"]
    assert retired_again["retired"][0]["changed"] is None
    assert retired_again["retired"][0]["autoscaling_before"] == {"min": 2, "max": 6}  # remembered, not lost
    parked = demo.scalable_target("web-1")
    assert (parked["MinCapacity"], parked["MaxCapacity"], parked["SuspendedState"]) == (0, 0, {
        "DynamicScalingInSuspended": True, "DynamicScalingOutSuspended": True, "ScheduledScalingSuspended": True})
    assert demo.service("web-1")["desiredCount"] == 0

    marked = stepper.run("CleanUp", "cleanup")
    marked_again = stepper.run("CleanUp", "cleanup")
    assert marked["marked"][0]["changed"] == "marked obsolete" and marked_again["marked"][0]["changed"] is None

    recorded = stepper.run("RecordRelease", "record")
    assert recorded["changed"] == "nothing -> 2"

    unlocked = stepper.run("UnlockService", "unlock") if "lock" in stepper.results else None
    assert unlocked["changed"] == "released"
    assert stepper.run("UnlockService", "unlock")["changed"] is None


def switched_twice(demo) -> Stepper:
    """v2 released over v1 through the steps, then v3 switched and v2 retired: the v3 release, before cleanup."""
    two = prepared(Stepper(demo, "2"))
    for key, name in (("ReadLiveRoutes", "live"), ("ShiftTraffic", "traffic"), ("ShiftTraffic", "traffic"),
                      ("RetireOldVersion", "retire"), ("CleanUp", "cleanup"), ("RecordRelease", "record"),
                      ("UnlockService", "unlock")):
        two.run(key, name)
    three = prepared(Stepper(demo, "3"))
    for key, name in (("ReadLiveRoutes", "live"), ("ShiftTraffic", "traffic"), ("ShiftTraffic", "traffic"),
                      ("RetireOldVersion", "retire")):
        three.run(key, name)
    return three


def revision_status(demo, service: str) -> str:
    ecs = demo.client("ecs")
    return ecs.describe_task_definition(taskDefinition=demo.service(service)["taskDefinition"])["taskDefinition"]["status"]


SWITCH = (("ReadLiveRoutes", "live"), ("ShiftTraffic", "traffic"), ("ShiftTraffic", "traffic"), ("RetireOldVersion", "retire"))


def record_item(demo, key: str = "release#demo#web") -> dict:
    item = demo.client("dynamodb").get_item(TableName="cutover-releases", Key={"pk": {"S": key}})["Item"]
    return {k: TypeDeserializer().deserialize(v) for k, v in item.items()}


def test_a_rerun_whose_first_attempt_retired_the_old_version_records_it_as_previous(demo):
    # Given a first attempt of the v2 release that retired v1 and ended before recording the release
    first = prepared(Stepper(demo, "2"))
    for key, name in SWITCH + (("CleanUp", "cleanup"), ("UnlockService", "unlock")):
        first.run(key, name)

    # When the same release is started again: it finds v2 serving alone and nothing left to retire
    again = prepared(Stepper(demo, "2", execution=f"{EXECUTION}-again"))
    for key, name in SWITCH:
        again.run(key, name)
    assert again.results["retire"]["retired"] == []
    recorded = again.run("RecordRelease", "record")
    recorded_again = again.run("RecordRelease", "record")

    # Then the record says v2 serves and v1, as the first attempt retired it, is what a rollback
    # brings back; the second run finds it done and writes nothing
    assert recorded == {"changed": "nothing -> 2", "previous": "1"}
    item = record_item(demo)
    assert item["current"]["version"] == "2"
    previous = item["previous"]
    assert (previous["version"], previous["ecs_service"], previous["desired_count"]) == ("1", "web-1", 2)
    # its autoscaling and config in its own item, the record naming it only
    assert "autoscaling" not in previous and "config" not in previous
    v1 = record_item(demo, "version#demo#web#1")
    assert (v1["autoscaling"]["min"], v1["autoscaling"]["max"]) == (2, 6)
    assert [p["name"] for p in v1["autoscaling"]["policies"]] == ["cpu"] and v1["config"]["service"] == "web"
    assert recorded_again == {"changed": None, "found": "record already says 2 serves", "previous": "1"}
    assert record_item(demo) == item


def test_a_release_that_retired_nothing_ignores_what_an_earlier_release_retired(demo):
    # Given a record holding what an earlier release retired (its own record step never ran)
    earlier = prepared(Stepper(demo, "2"))
    for key, name in SWITCH + (("UnlockService", "unlock"),):
        earlier.run(key, name)

    # When another release of v2 (another image: another release) retires nothing and records
    other = Stepper(demo, "2", execution=f"{EXECUTION}-other")
    other.plan = run_step("LoadRelease", {"input": {"env": "demo", "version": "2", "image": "web:2-patched", "config": demo.config},
                                          "release": other.release})
    prepared(other)
    for key, name in SWITCH:
        other.run(key, name)
    assert other.results["retire"]["retired"] == []
    recorded = other.run("RecordRelease", "record")

    # Then it does not take the earlier release's entry for its own: it names no previous version
    assert recorded["previous"] is None
    assert "previous" not in record_item(demo)


def test_cleanup_twice_deletes_once_and_spares_the_versions_it_must_keep(demo):
    # Given v2 then v3 prepared and switched by hand through the steps
    three = switched_twice(demo)

    # When cleanup runs twice
    first = three.run("CleanUp", "cleanup")
    second = three.run("CleanUp", "cleanup")

    # Then v1 (marked by the v2 release) is deleted once; v2 (retired now, not yet marked) is kept
    assert [d["version"] for d in first["deleted"]] == ["1"] and first["deleted"][0]["changed"] == "deleted"
    assert second["deleted"] == []
    assert demo.service("web-1") is None and demo.service("web-2") is not None
    assert demo.target_group_names() == {"demo-web-2", "demo-web-3"}


def test_cleanup_deregisters_the_revision_of_a_deleted_version_cutover_registered(demo):
    # Given the v3 release about to clean up v1; v1's revision was registered by Cutover's v1 release
    three = switched_twice(demo)
    ecs = demo.client("ecs")
    v1_revision = demo.service("web-1")["taskDefinition"]
    ecs.tag_resource(resourceArn=v1_revision, tags=[{"key": "cutover:digest", "value": "made-by-cutover"}])

    # When cleanup runs twice
    first, second = three.run("CleanUp", "cleanup"), three.run("CleanUp", "cleanup")

    # Then v1's revision is INACTIVE (deregistered once); the kept and the live versions' revisions stay ACTIVE
    assert first["deleted"][0]["task_definition"] == {"revision": v1_revision, "changed": "deregistered"}
    assert second["deleted"] == []
    assert ecs.describe_task_definition(taskDefinition=v1_revision)["taskDefinition"]["status"] == "INACTIVE"
    assert revision_status(demo, "web-2") == revision_status(demo, "web-3") == "ACTIVE"


def test_cleanup_keeps_a_revision_cutover_did_not_register(demo):
    # Given v1, which the demo environment made as a team would before Cutover: its revision has no digest
    three = switched_twice(demo)
    v1_revision = demo.service("web-1")["taskDefinition"]

    # When cleanup deletes v1
    result = three.run("CleanUp", "cleanup")

    # Then its revision is left as it was, and the report says why
    assert result["deleted"][0]["task_definition"]["found"] == "not registered by Cutover; kept"
    assert demo.client("ecs").describe_task_definition(taskDefinition=v1_revision)["taskDefinition"]["status"] == "ACTIVE"


def test_cleanup_can_delete_revisions_instead(demo):
    # Given a config that deletes revisions, and v1's revision registered by Cutover
    demo.config["release"]["deleted_revisions"] = "delete"
    three = switched_twice(demo)
    ecs = demo.client("ecs")
    v1_revision = demo.service("web-1")["taskDefinition"]
    ecs.tag_resource(resourceArn=v1_revision, tags=[{"key": "cutover:digest", "value": "made-by-cutover"}])

    # When cleanup deletes v1
    result = three.run("CleanUp", "cleanup")

    # Then the revision is gone (deregistered, then deleted), and v3's is untouched
    assert result["deleted"][0]["task_definition"] == {"revision": v1_revision, "changed": "deleted"}
    assert v1_revision not in ecs.list_task_definitions(familyPrefix=v1_revision.rsplit("/", 1)[1].split(":")[0],
                                                        status="INACTIVE")["taskDefinitionArns"]
    assert revision_status(demo, "web-3") == "ACTIVE"


def obsolete_version_elsewhere(demo, *, env: str, cluster: str, version: str) -> str:
    """A version of `web` marked obsolete as a release of `env` in `cluster` would leave it."""
    ecs, route = demo.client("ecs"), demo.config["routes"][0]
    tags = {"cutover:env": env, "cutover:service": "web", "cutover:version": version, "cutover:release": f"r-{version}",
            "cutover:obsolete-since": "2026-01-01T00:00:00.000000Z", "cutover:obsoleted-by": f"{env}/x"}
    group = demo.client("elbv2").create_target_group(
        Name=f"{env}-web-{version}", Protocol="HTTP", Port=route["port"], VpcId=route["vpc_id"], TargetType="ip",
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()])["TargetGroups"][0]["TargetGroupArn"]
    definition = ecs.register_task_definition(family="other", containerDefinitions=[
        {"name": route["container"], "image": "web:old", "memory": 256}])["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster=cluster, serviceName=f"web-{version}", taskDefinition=definition, desiredCount=0,
                       loadBalancers=[{"targetGroupArn": group, "containerName": route["container"], "containerPort": route["port"]}],
                       tags=[{"key": k, "value": v} for k, v in tags.items()])
    return group


def test_cleanup_finds_by_tags_only_this_env_and_cluster(demo):
    # Given the v3 release about to clean up v1 (marked obsolete by the v2 release), and obsolete
    # versions of web that are not its to delete: one of another env in the same cluster, one of this
    # env in another cluster
    three = switched_twice(demo)
    demo.client("ecs").create_cluster(clusterName="other")
    obsolete_version_elsewhere(demo, env="staging", cluster=demo.config["cluster"], version="5")
    obsolete_version_elsewhere(demo, env="demo", cluster="other", version="6")

    # When the v3 release cleans up
    result = three.run("CleanUp", "cleanup")

    # Then only v1 was found and deleted; the others are untouched
    assert result["obsolete_found"] == 1 and [d["version"] for d in result["deleted"]] == ["1"]
    assert demo.service("web-5") is not None and "staging-web-5" in demo.target_group_names()
    assert demo.client("ecs").describe_services(cluster="other", services=["web-6"])["services"][0]["status"] == "ACTIVE"
    assert "demo-web-6" in demo.target_group_names()


def test_load_reads_a_yaml_config_from_s3(demo):
    # Given the deploy config uploaded by CI as YAML
    demo.client("s3").create_bucket(Bucket="ci-artifacts")
    demo.client("s3").put_object(Bucket="ci-artifacts", Key="web/deploy.yaml", Body=yaml.safe_dump(demo.config).encode())

    # When the release loads it by URI
    plan = run_step("LoadRelease", {"input": {"env": "demo", "version": "7", "image": "web:7",
                                              "config_uri": "s3://ci-artifacts/web/deploy.yaml"},
                                    "release": {"execution_id": EXECUTION, "name": "step-test"}})

    # Then the plan is the same as with the config inline
    assert plan["ecs_service"] == "web-7"
    assert plan["summary"]["routes"][0]["target_group"] == "demo-web-7"


def test_load_reads_the_env_of_a_file_for_every_env_from_s3(demo):
    # Given one config file for two envs uploaded by CI, production with a bigger service
    config = {**demo.config, "environments": {"demo": {}, "production": {"service_settings": {"desired_count": 4}}}}
    demo.client("s3").create_bucket(Bucket="ci-artifacts")
    demo.client("s3").put_object(Bucket="ci-artifacts", Key="web/deploy.yaml", Body=yaml.safe_dump(config).encode())
    start = {"version": "7", "image": "web:7", "config_uri": "s3://ci-artifacts/web/deploy.yaml"}
    release = {"execution_id": EXECUTION, "name": "step-test"}

    # When each env's release loads it
    demo_plan = run_step("LoadRelease", {"input": {**start, "env": "demo"}, "release": release})
    production_plan = run_step("LoadRelease", {"input": {**start, "env": "production"}, "release": release})

    # Then each gets the base with its own settings over it
    assert demo_plan["summary"]["desired_count"] == 2 and production_plan["summary"]["desired_count"] == 4

    # And a reference nobody resolved is refused, named, before anything changes
    config["routes"][0] = {**config["routes"][0], "vpc_id": "${ssm:/network/vpc}"}
    demo.client("s3").put_object(Bucket="ci-artifacts", Key="web/deploy.yaml", Body=yaml.safe_dump(config).encode())
    with pytest.raises(InvalidReleaseInput, match=r"routes\.0\.vpc_id: \$\{ssm:/network/vpc\}: not resolved"):
        run_step("LoadRelease", {"input": {**start, "env": "demo"}, "release": release})


def test_load_names_a_missing_s3_object(demo):
    demo.client("s3").create_bucket(Bucket="ci-artifacts")
    with pytest.raises(InvalidReleaseInput, match=r"config_uri: cannot read s3://ci-artifacts/nope.yaml"):
        run_step("LoadRelease", {"input": {"env": "demo", "version": "7", "image": "web:7",
                                           "config_uri": "s3://ci-artifacts/nope.yaml"},
                                 "release": {"execution_id": EXECUTION, "name": "step-test"}})
