"""The switch through the real definition: traffic steps, retiring, cleanup, re-runs, two routes."""
from __future__ import annotations

import copy
import threading
import time

from cutover.operations import executions as operations
from cutover.local import environment


def sample_public_rule(demo, stop: threading.Event, seen: list[dict[str, int]]) -> None:
    while not stop.is_set():
        forward = demo.forward(demo.public_rule)
        if not seen or seen[-1] != forward:
            seen.append(forward)
        time.sleep(0.1)


def test_v1_to_v2_holds_both_then_only_v2_and_retires_v1(demo):
    # Given v1 live; while the release runs, the public rule is sampled
    seen: list[dict[str, int]] = []
    stop = threading.Event()
    sampler = threading.Thread(target=sample_public_rule, args=(demo, stop, seen))
    sampler.start()

    # When v2 is released and approved
    result = demo.release("2")
    stop.set()
    sampler.join()

    # Then it succeeded, and the public rule went v1 → 50/50 → v2 only
    assert result["status"] == "SUCCEEDED"
    assert seen == [{"demo-web-1": 1}, {"demo-web-2": 500, "demo-web-1": 500}, {"demo-web-2": 1}]
    # v1 is retired: its scalable target parked, desired count 0, marked obsolete, but kept
    assert demo.parked("web-1")
    v1 = demo.service("web-1")
    assert v1["desiredCount"] == 0
    assert {t["key"] for t in v1["tags"]} >= {"cutover:obsolete-since", "cutover:obsoleted-by"}
    assert "demo-web-1" in demo.target_group_names()
    # v2 serves with its autoscaling
    assert demo.scalable_target("web-2")["MaxCapacity"] == 6
    # the lock is released
    item = demo.client("dynamodb").get_item(TableName="cutover-releases", Key={"pk": {"S": "lock#demo#web"}})
    assert "Item" not in item


def test_v2_to_v3_deletes_v1_and_retires_v2(demo):
    # Given v2 released over v1
    assert demo.release("2")["status"] == "SUCCEEDED"

    # When v3 is released
    result = demo.release("3")

    # Then v1 (marked obsolete by the earlier release) is deleted with its target group,
    assert result["status"] == "SUCCEEDED"
    assert demo.service("web-1") is None
    assert "demo-web-1" not in demo.target_group_names()
    # v2 is retired and marked, and v3 alone serves
    v2 = demo.service("web-2")
    assert v2["desiredCount"] == 0
    assert any(t["key"] == "cutover:obsoleted-by" and t["value"] == "demo/3" for t in v2["tags"])
    assert demo.forward(demo.public_rule) == {"demo-web-3": 1}
    cleanup = demo.output(result)["results"]["cleanup"]
    assert [d["version"] for d in cleanup["deleted"]] == ["1"]
    # the release record names v2 as what a rollback brings back, and keeps nothing about v1
    record = demo.client("dynamodb").get_item(TableName="cutover-releases", Key={"pk": {"S": "release#demo#web"}})["Item"]
    assert record["current"]["M"]["version"]["S"] == "3"
    assert record["previous"]["M"]["version"]["S"] == "2"
    assert list(record["retired"]["M"]) == ["web-2"]


def test_release_started_again_after_success_changes_nothing(demo):
    # Given v2 released
    first = demo.release("2")
    assert first["status"] == "SUCCEEDED"
    revisions = demo.client("ecs").list_task_definitions(familyPrefix="web")["taskDefinitionArns"]
    groups = demo.target_group_names()

    # When the same input is started again under a new execution name
    again = demo.release("2", name="release-2-again")

    # Then it succeeds and changes nothing: no new revision, target group or service, v1 kept
    assert again["status"] == "SUCCEEDED"
    assert demo.client("ecs").list_task_definitions(familyPrefix="web")["taskDefinitionArns"] == revisions
    assert demo.target_group_names() == groups
    assert demo.forward(demo.public_rule) == {"demo-web-2": 1}
    assert demo.service("web-1") is not None
    results = demo.output(again)["results"]
    changed = {name: r.get("changed") for name, r in results.items() if isinstance(r, dict) and "changed" in r}
    assert changed == {"lock": "taken", "task_definition": None, "service": None, "record": None, "unlock": "released"}
    assert all(g["changed"] is None for g in results["target_groups"]["target_groups"])
    assert results["retire"]["retired"] == []


def test_three_traffic_steps_are_applied_in_order(demo):
    # Given a plan of 10 %, 50 %, 100 %
    config = copy.deepcopy(demo.config)
    config["release"]["traffic_steps"] = [
        {"percent": 10, "hold_seconds": 1}, {"percent": 50, "hold_seconds": 1}, {"percent": 100, "hold_seconds": 0}]

    # When v2 is released
    result = demo.release("2", config=config)

    # Then the history shows the three steps in order with their weights
    assert result["status"] == "SUCCEEDED"
    shifts = [out for name, out in operations.step_results(operations.history(demo.sfn, result["executionArn"]))
              if name == "Shift traffic to the new version"]
    assert [s["percent"] for s in shifts] == [10, 50, 100]
    weights = [{arn.split("/")[-2]: w for arn, w in s["rules"][0]["weights"].items()} for s in shifts]
    assert weights == [{"demo-web-2": 100, "demo-web-1": 900}, {"demo-web-2": 500, "demo-web-1": 500}, {"demo-web-2": 1}]


def test_a_service_behind_two_albs_moves_on_both(engine):
    # Given a service with two routes, each on its own ALB, v1 live on both
    env = environment.create(engine.client)
    values = env.values
    second = environment.create_alb(engine.client, "demo-api", values["VPC"], [values["SUBNET_A"], values["SUBNET_B"]],
                                    values["SECURITY_GROUP"], "api.demo.local")
    config = environment.demo_config(values)
    config["routes"].append(dict(config["routes"][0], name="api", preparing_rule_arn=second.preparing_rule_arn,
                                 public_rule_arn=second.public_rule_arn))
    config["release"]["traffic_steps"] = [{"percent": 50, "hold_seconds": 1}, {"percent": 100, "hold_seconds": 0}]
    environment.bootstrap_live_version(engine.client, copy.deepcopy(config))
    sfn = engine.client("stepfunctions")

    # When v2 is released and approved
    arn = operations.start(sfn, engine.state_machine_arn, {"env": "demo", "version": "2", "image": "web:2", "config": config}, "two-routes")
    assert operations.wait_for_state(sfn, arn, operations.APPROVAL_STATE, 60)
    operations.approve(sfn, arn, by="alice", wait_seconds=30)
    result = operations.wait(sfn, arn, 120)

    # Then both public rules forward to their own v2 target group only
    assert result["status"] == "SUCCEEDED"
    elb = engine.client("elbv2")
    for rule, group in ((values["PUBLIC_RULE_ARN"], "demo-web-2-www"), (second.public_rule_arn, "demo-web-2-api")):
        action = elb.describe_rules(RuleArns=[rule])["Rules"][0]["Actions"][0]
        assert [g["TargetGroupArn"].split("/")[-2] for g in action["ForwardConfig"]["TargetGroups"]] == [group]
    # the v2 service is wired to both groups, and v1 (on both groups) is retired
    ecs = engine.client("ecs")
    v2 = ecs.describe_services(cluster="demo", services=["web-2"], include=["TAGS"])["services"][0]
    assert len(v2["loadBalancers"]) == 2
    assert ecs.describe_services(cluster="demo", services=["web-1"], include=["TAGS"])["services"][0]["desiredCount"] == 0
