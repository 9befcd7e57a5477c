"""Bad start input and deploy config: each is refused by the validation step with the field named."""
from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from cutover.local import environment
from cutover_steps.errors import InvalidReleaseInput
from cutover_steps.steps.load_release import parse_start_input

RULE = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/demo/0123456789abcdef/89abcdef01234567/{}"
VALUES = {
    "CLUSTER": "demo", "VPC": "vpc-0abc", "SUBNET_A": "subnet-a", "SUBNET_B": "subnet-b", "SECURITY_GROUP": "sg-1",
    "PREPARING_RULE_ARN": RULE.format("aaaa"), "PUBLIC_RULE_ARN": RULE.format("bbbb"),
    "EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/demo-web-execution",
}


def config() -> dict[str, Any]:
    return yaml.safe_load(environment.config_text(VALUES))


def start_input(**changes: Any) -> dict[str, Any]:
    return {"env": "demo", "version": "2", "image": "registry.local/web:2", "config": config(), **changes}


def with_config(change) -> dict[str, Any]:
    data = start_input()
    change(data["config"])
    return data


def refused(raw: Any) -> str:
    with pytest.raises(InvalidReleaseInput) as error:
        parse_start_input(raw)
    return str(error.value)


def test_the_demo_input_is_accepted():
    # Given the demo's own input; When it is parsed; Then it is valid (so each case below fails for its own reason)
    parsed = parse_start_input(start_input())
    assert parsed.config.service == "web"


@pytest.mark.parametrize("raw, field", [
    ([], "input: the start input must be a JSON object"),
    ("release web 2", "input: the start input must be a JSON object"),
    ({k: v for k, v in start_input().items() if k != "env"}, "env: required field is missing"),
    (with_config(lambda c: c.pop("service")), "config.service: required field is missing"),
    (with_config(lambda c: c["task_definition"].pop("containers")), "config.task_definition.containers: required field is missing"),
    (with_config(lambda c: c.pop("routes")), "config.routes: required field is missing"),
    ({k: v for k, v in start_input().items() if k != "image"}, "a release needs image"),
    ({k: v for k, v in start_input().items() if k != "config"}, "give exactly one of config"),
    (start_input(config_uri="s3://bucket/deploy.yaml"), "give exactly one of config"),
    ({"action": "rollback", "env": "demo"}, "a rollback needs service"),
], ids=["list", "string", "env", "service", "containers", "routes", "image", "no-config", "two-configs", "rollback-service"])
def test_missing_fields_are_named(raw, field):
    assert field in refused(raw)


@pytest.mark.parametrize("change, field", [
    (lambda c: c["service_settings"].update(desired_count="two"), "config.service_settings.desired_count: Input should be a valid integer"),
    (lambda c: c.update(routes={"name": "www"}), "config.routes: Input should be a valid list"),
    (lambda c: c["release"].update(traffic_steps="50,100"), "config.release.traffic_steps: Input should be a valid list"),
    (lambda c: c["routes"][0].update(port="eighty"), "config.routes.0.port: Input should be a valid integer"),
    (lambda c: c["release"]["approval"].update(mode="sometimes"), "config.release.approval.mode: Input should be 'manual' or 'auto'"),
    (lambda c: c["release"].update(bake_seconds=-30), "config.release.bake_seconds: Input should be greater than or equal to 0"),
    (lambda c: c["release"].update(bake_seconds=90000), "config.release.bake_seconds: Input should be less than or equal to 86400"),
    (lambda c: c["release"].update(bake_seconds="10m"), "config.release.bake_seconds: Input should be a valid integer"),
    # a look every hour could not be slept inside one invocation of the watch or the health check
    (lambda c: c["release"].update(alarm_check_seconds=3600), "config.release.alarm_check_seconds: Input should be less than or equal to 600"),
    (lambda c: c["release"].update(poll_interval_seconds=900), "config.release.poll_interval_seconds: Input should be less than or equal to 600"),
], ids=["count", "routes", "steps", "port", "approval-mode", "bake-negative", "bake-too-long", "bake-text",
        "alarm-check-too-long", "poll-too-long"])
def test_wrong_types_in_the_config_are_named(change, field):
    assert field in refused(with_config(change))


@pytest.mark.parametrize("raw, field", [
    (start_input(version=2), "version: Input should be a valid string"),
    (start_input(config="deploy.yaml"), "config: Input should be a valid dictionary"),
    (start_input(environment=["A=1"]), "environment: Input should be a valid dictionary"),
    (start_input(action="deploy"), "action: Input should be 'release' or 'rollback'"),
], ids=["version-number", "config-string", "environment-list", "action"])
def test_wrong_types_in_the_start_input_are_named(raw, field):
    assert field in refused(raw)


@pytest.mark.parametrize("raw, field", [
    (start_input(versoin="3"), "versoin: unknown key"),
    (with_config(lambda c: c.update(servce="web")), "config.servce: unknown key"),
    (with_config(lambda c: c["release"].update(traffic_step=[])), "config.release.traffic_step: unknown key"),
    (with_config(lambda c: c["routes"][0]["health_check"].update(pth="/")), "config.routes.0.health_check.pth: unknown key"),
    (with_config(lambda c: c.update(sérvice="web")), "config.sérvice: unknown key"),
], ids=["top", "config", "release", "nested", "non-ascii-key"])
def test_unknown_keys_are_rejected_by_name(raw, field):
    assert field in refused(raw)


@pytest.mark.parametrize("steps, field", [
    ([{"percent": 0, "hold_seconds": 10}, {"percent": 100, "hold_seconds": 0}], "traffic_steps.0.percent: Input should be greater than or equal to 1"),
    ([{"percent": -5, "hold_seconds": 10}, {"percent": 100, "hold_seconds": 0}], "traffic_steps.0.percent: Input should be greater than or equal to 1"),
    ([{"percent": 50, "hold_seconds": 10}, {"percent": 150, "hold_seconds": 0}], "traffic_steps.1.percent: Input should be less than or equal to 100"),
    ([{"percent": 50, "hold_seconds": 10}], "the last traffic step must be 100 percent"),
    ([{"percent": 50, "hold_seconds": 10}, {"percent": 90, "hold_seconds": 0}], "the last traffic step must be 100 percent"),
    ([{"percent": 60, "hold_seconds": 10}, {"percent": 30, "hold_seconds": 10}, {"percent": 100, "hold_seconds": 0}], "traffic step percents must increase"),
    ([], "config.release.traffic_steps: List should have at least 1 item"),
    ([{"percent": 50, "hold_seconds": -1}, {"percent": 100, "hold_seconds": 0}], "traffic_steps.0.hold_seconds"),
], ids=["zero", "negative", "over-100", "not-ending-at-100", "ending-at-90", "decreasing", "empty", "negative-hold"])
def test_traffic_weights_outside_1_to_100_or_not_ending_at_100_are_refused(steps, field):
    raw = with_config(lambda c: c["release"].update(traffic_steps=steps))
    message = refused(raw)
    assert field in message
    assert "config.release.traffic_steps" in message


@pytest.mark.parametrize("change, field", [
    (lambda c: c["routes"][0].update(public_rule_arn="arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/demo/0123"), "config.routes.0.public_rule_arn"),
    (lambda c: c["routes"][0].update(preparing_rule_arn="not-an-arn"), "config.routes.0.preparing_rule_arn"),
    (lambda c: c["routes"][0].update(preparing_rule_arn=c["routes"][0]["public_rule_arn"]), "preparing_rule_arn and public_rule_arn must be different rules"),
    (lambda c: c.update(cluster=""), "config.cluster"),
    (lambda c: c["task_definition"].update(execution_role_arn="arn:aws:iam::123:role/x"), "config.task_definition.execution_role_arn"),
], ids=["public-rule-is-a-load-balancer", "preparing-rule-garbage", "same-rule-twice", "empty-cluster", "role"])
def test_malformed_rule_and_cluster_references_are_refused(change, field):
    assert field in refused(with_config(change))


@pytest.mark.parametrize("raw, field", [
    (start_input(version="2/beta"), "version: must be"),
    (start_input(version="v 2"), "version: must be"),
    (start_input(version="-2"), "version: must be"),
    (start_input(version="2."), "version: must be"),
    (start_input(version=""), "version: must be"),
    (start_input(version="1" * 65), "version: must be"),
    (start_input(env="Prod"), "env: must be"),
    (start_input(env="prod_eu"), "env: must be"),
    (start_input(env="a" * 21), "env: must be"),
    (with_config(lambda c: c.update(service="web app")), "config.service: must be"),
    (with_config(lambda c: c.update(service="web.app")), "config.service: must be"),
    (with_config(lambda c: c.update(service="w" * 101)), "config.service: must be"),
    (with_config(lambda c: c["routes"][0].update(name="WWW")), "config.routes.0.name: must be"),
    (with_config(lambda c: c["task_definition"].update(family="web/2")), "config.task_definition.family: must be"),
], ids=["slash", "space", "leading-hyphen", "trailing-dot", "empty", "too-long", "env-upper", "env-underscore",
        "env-too-long", "service-space", "service-dot", "service-too-long", "route-upper", "family-slash"])
def test_names_that_make_invalid_aws_names_are_refused(raw, field):
    assert field in refused(raw)


@pytest.mark.parametrize("raw, field", [
    (start_input(version="2-é"), "version: must be"),
    (with_config(lambda c: c.update(service="wéb")), "config.service: must be"),
    (start_input(image="registry.local/wéb:2"), "image: must be"),
    (start_input(image="registry.local/web:2 --privileged"), "image: must be"),
    (start_input(env="démo"), "env: must be"),
    (start_input(environment={"GRÜSSE": "hallo"}), "environment.GRÜSSE.[key]: must be"),
], ids=["version", "service", "image", "image-with-space", "env", "environment-name"])
def test_non_ascii_in_names_is_refused(raw, field):
    assert field in refused(raw)


def test_non_ascii_in_environment_values_is_accepted():
    # Given a deploy-time variable whose value is not ASCII (ECS takes UTF-8 values)
    raw = start_input(environment={"GREETING": "grüße, 世界"})
    # When it is parsed; Then it is kept as given
    assert parse_start_input(raw).environment == {"GREETING": "grüße, 世界"}


def test_a_300_kb_inline_config_is_refused_with_its_size():
    # Given a config padded to 300 KB (with a field that would be valid in a smaller config)
    data = start_input()
    data["config"]["task_definition"]["containers"][0]["environment"] = {f"VAR_{i}": "x" * 100 for i in range(3000)}

    # When it is parsed; Then the size is the complaint, before any other validation
    message = refused(data)
    assert message.startswith("config: the inline config is 3")
    assert "KiB; at most 64 KiB" in message


def test_every_problem_is_reported_at_once():
    # Given several mistakes in one input
    raw = with_config(lambda c: (c.update(servce="web"), c["service_settings"].update(desired_count=0)))
    raw["version"] = "2/beta"

    # When it is parsed; Then each one is named, so one fix-and-retry round is enough
    message = refused(raw)
    for field in ("version:", "config.servce: unknown key", "config.service_settings.desired_count:"):
        assert field in message


def test_parsing_leaves_the_given_input_as_it_was():
    # Given an input whose defaults (the approval heartbeat) are filled in while parsing
    # When it is parsed; Then the caller's dict is not changed
    raw = start_input()
    kept = copy.deepcopy(raw)
    parse_start_input(raw)
    assert raw == kept


OTHER_BALANCER_RULE = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/other/fedcba9876543210/89abcdef01234567/cccc"


def request_count_policy(**extra: Any) -> dict[str, Any]:
    return {"name": "requests", "metric": "ALBRequestCountPerTarget", "target": 100, **extra}


def second_route(c: dict[str, Any]) -> None:
    c["routes"].append({**c["routes"][0], "name": "api", "preparing_rule_arn": RULE.format("dddd"),
                        "public_rule_arn": RULE.format("eeee")})


@pytest.mark.parametrize("change, field", [
    # AWS refuses these only at CreateTargetGroup, ModifyRule or PutScalingPolicy: after the lock.
    (lambda c: c["routes"][0].update(health_check={"interval_seconds": 10, "timeout_seconds": 10}),
     "config.routes.0.health_check: Value error, timeout_seconds (10) must be below interval_seconds (10)"),
    (lambda c: c["routes"][0].update(health_check={"timeout_seconds": 20}),
     "config.routes.0.health_check: Value error, timeout_seconds (20) must be below interval_seconds (15)"),
    (lambda c: c["routes"][0].update(public_rule_arn=OTHER_BALANCER_RULE),
     "config.routes.0: Value error, preparing_rule_arn is a rule of load balancer app/demo/0123456789abcdef and "
     "public_rule_arn of app/other/fedcba9876543210"),
    (lambda c: c["release"].update(required_healthy=2) or c["service_settings"]["autoscaling"].update(min=1),
     "release.required_healthy (2) exceeds service_settings.autoscaling.min (1)"),
    (lambda c: c["service_settings"]["autoscaling"].update(min=0),
     "config.service_settings.autoscaling.min: Input should be greater than or equal to 1"),
    (lambda c: second_route(c) or c["service_settings"]["autoscaling"].update(policies=[request_count_policy()]),
     "service_settings.autoscaling.policies.0.route: ALBRequestCountPerTarget needs the route whose target group counts"),
    (lambda c: c["service_settings"]["autoscaling"].update(policies=[request_count_policy(route="nope")]),
     "service_settings.autoscaling.policies.0.route: no route named 'nope'"),
    (lambda c: c["service_settings"]["autoscaling"]["policies"][0].update(route="www"),
     "service_settings.autoscaling.policies.0.route: only ALBRequestCountPerTarget counts requests of a route"),
], ids=["timeout-equals-interval", "timeout-above-default-interval", "rules-on-two-load-balancers",
        "required-above-autoscaling-min", "autoscaling-min-zero", "request-count-without-route", "request-count-unknown-route",
        "route-on-cpu-policy"])
def test_what_aws_would_refuse_after_the_lock_is_refused_by_validation(change, field):
    assert field in refused(with_config(change))


def test_required_healthy_defaults_to_what_autoscaling_keeps_at_least():
    # Given desired 4 but autoscaling that may scale in to 2; When parsed; Then the health gate waits for 2
    parsed = parse_start_input(with_config(lambda c: c["service_settings"].update(desired_count=4)
                                           or c["release"].pop("required_healthy")))
    assert parsed.config.required_healthy == 2


def test_request_count_scaling_of_a_single_route_needs_no_route_name():
    parsed = parse_start_input(with_config(lambda c: c["service_settings"]["autoscaling"].update(policies=[request_count_policy()])))
    assert parsed.config.request_count_route(parsed.config.service_settings.autoscaling.policies[0]).name == "www"


def test_settings_that_could_run_longer_than_an_execution_are_refused_naming_both_figures():
    def long_release(config: dict[str, Any]) -> None:
        config["release"] = {"approval": {"timeout_seconds": 604800}, "bake_seconds": 86400,
                             "traffic_steps": [{"percent": 5 * (i + 1), "hold_seconds": 86400} for i in range(20)]}

    message = refused(with_config(long_release))
    assert "release: " in message and "691200 s (8.0 days)" in message
    assert "the longest run these settings allow is" in message and "20 traffic holds 1728000 s" in message
    # The same holds a day shorter each fit
    def shorter(config: dict[str, Any]) -> None:
        config["release"] = {"approval": {"timeout_seconds": 86400},
                             "traffic_steps": [{"percent": 50, "hold_seconds": 86400}, {"percent": 100, "hold_seconds": 0}]}

    parse_start_input(with_config(shorter))
