"""Bad input through the real definition: it fails in the validation step, and AWS is untouched."""
from __future__ import annotations

import copy

import pytest
import yaml

from cutover.operations import executions as operations
from tests.e2e.safety_fixtures import config_with, entered, finish, start, world

VALIDATION_STATE = "Load and validate the release"


def unknown_rule(config):
    # Well formed, in the same listener's ARN space, but no such rule exists
    config["routes"][0]["public_rule_arn"] = config["routes"][0]["public_rule_arn"][:-4] + "ffff"
    return "routes.0.public_rule_arn: listener rule"


def unknown_key(config):
    config["release"]["traffic_step"] = [{"percent": 100, "hold_seconds": 0}]
    return "config.release.traffic_step: unknown key"


def weights_not_ending_at_100(config):
    config["release"]["traffic_steps"] = [{"percent": 50, "hold_seconds": 1}]
    return "config.release.traffic_steps: Value error, the last traffic step must be 100 percent"


def misspelt_alarm(config):
    # An alarm that does not exist would watch nothing while traffic moves
    config["release"]["alarm_names"] = ["web-5xx-rate"]
    return "release.alarm_names: no CloudWatch alarm named 'web-5xx-rate'"


@pytest.mark.parametrize("spoil", [unknown_rule, unknown_key, weights_not_ending_at_100, misspelt_alarm],
                         ids=["unknown-rule", "unknown-key", "weights", "misspelt-alarm"])
def test_bad_config_fails_in_validation_and_changes_nothing(demo, spoil):
    # Given a config with one mistake
    config = config_with(demo)
    expected = spoil(config)
    before = world(demo)

    # When it is released
    result = finish(demo, start(demo, "2", config))

    # Then the execution failed in the validation step, naming the field,
    assert result["status"] == "FAILED"
    assert result["error"] == "InvalidReleaseInput", result.get("cause")
    assert expected in result["cause"]
    states = entered(demo, result["executionArn"])
    assert states[-2:] == [VALIDATION_STATE, "The release input is invalid"]
    # and nothing in AWS changed: no target group, service, task definition, rule edit or lock
    assert world(demo) == before


def test_a_cluster_the_stack_does_not_grant_is_a_permission_problem_naming_the_setting(demo):
    # Given a config whose cluster is outside the stack's cluster_names (the local stack grants `demo` only)
    config = config_with(demo)
    config["cluster"] = "arn:aws:ecs:us-east-1:123456789012:cluster/nowhere"
    before = world(demo)

    # When it is released
    result = finish(demo, start(demo, "2", config))

    # Then it fails in the validation step as a permission problem, not as invalid input, naming the action,
    # the cluster and the setting that would allow it
    assert result["status"] == "FAILED"
    assert result["error"] == "PermissionDenied", result.get("cause")
    assert "ecs:DescribeClusters" in result["cause"] and "'arn:aws:ecs:us-east-1:123456789012:cluster/nowhere'" in result["cause"]
    assert "cluster_names (cutover:clusterNames)" in result["cause"]
    assert entered(demo, result["executionArn"])[-2:] == [VALIDATION_STATE, "The stack's settings do not allow this release"]
    # and nothing in AWS changed
    assert world(demo) == before


def test_bad_version_fails_in_validation_and_changes_nothing(demo):
    # Given a version that cannot be part of a target group or service name
    before = world(demo)

    # When it is released
    result = finish(demo, demo.start("2/beta", name="release-2-beta"))

    # Then it fails in validation, naming the field, with nothing changed
    assert result["error"] == "InvalidReleaseInput", result.get("cause")
    assert "version: must be 1-64 letters" in result["cause"]
    assert world(demo) == before


def test_a_300_kb_config_in_s3_fails_in_validation_and_changes_nothing(demo):
    # Given a deploy config of 300 KB uploaded to S3, as CI does with --config-uri
    config = copy.deepcopy(demo.config)
    config["task_definition"]["containers"][0]["environment"] = {f"VAR_{i}": "x" * 100 for i in range(3000)}
    s3 = demo.client("s3")
    s3.create_bucket(Bucket="deploy-configs")
    s3.put_object(Bucket="deploy-configs", Key="web/deploy.yaml", Body=yaml.safe_dump(config).encode())
    before = world(demo)

    # When it is released from that URI
    start_input = {"env": "demo", "version": "2", "image": "registry.local/web:2",
                   "config_uri": "s3://deploy-configs/web/deploy.yaml"}
    result = finish(demo, operations.start(demo.sfn, demo.engine.state_machine_arn, start_input, "release-big"))

    # Then the size is refused in validation, naming the source and the limit, with nothing changed
    assert result["error"] == "InvalidReleaseInput", result.get("cause")
    assert "config: s3://deploy-configs/web/deploy.yaml is 3" in result["cause"]
    assert "at most 64 KiB" in result["cause"]
    assert world(demo) == before


def test_a_listener_default_rule_is_refused(demo):
    # Given a config whose public rule is the listener's default rule (Cutover edits rules only)
    elbv2 = demo.client("elbv2")
    listener = elbv2.describe_rules(RuleArns=[demo.public_rule])["Rules"][0]["RuleArn"].replace("listener-rule", "listener").rsplit("/", 1)[0]
    default = next(r["RuleArn"] for r in elbv2.describe_rules(ListenerArn=listener)["Rules"] if r["IsDefault"])
    config = config_with(demo)
    config["routes"][0]["public_rule_arn"] = default
    before = world(demo)

    # When it is released
    result = finish(demo, start(demo, "2", config))

    # Then validation refuses it by field, with nothing changed
    assert result["error"] == "InvalidReleaseInput", result.get("cause")
    assert "routes.0.public_rule_arn: is a listener's default rule" in result["cause"]
    assert world(demo) == before
