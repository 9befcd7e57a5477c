"""The deploy config model and the plan: what a release will create, computed with no AWS at all."""
from __future__ import annotations

import copy

import pytest
from pydantic import ValidationError

from cutover_steps.plan import naming
from cutover_steps.config.models import DeployConfig, StartInput, format_validation_error
from cutover_steps.plan.models import build_plan, release_id_of, summary, task_definition_request
from tests.unit.configs import RULE, errors


def test_the_shipped_demo_config_is_valid_and_uses_safe_defaults(raw):
    config = DeployConfig.model_validate(raw)
    assert config.required_healthy == 2
    assert config.release.approval.mode == "manual"
    # the default traffic plan is the original flow: 50/50 for 60 s, then all to the new version
    assert [s.model_dump() for s in DeployConfig.model_validate({**raw, "release": {}}).release.traffic_steps] == [
        {"percent": 50, "hold_seconds": 60}, {"percent": 100, "hold_seconds": 0}]


def test_unknown_keys_are_rejected_with_their_path(raw):
    raw["service_settings"]["desired_cuont"] = 3
    message = errors(raw)
    assert "service_settings.desired_cuont: unknown key" in message


def test_missing_fields_and_wrong_types_name_the_field(raw):
    del raw["task_definition"]["family"]
    raw["service_settings"]["desired_count"] = "two"
    message = errors(raw)
    assert "task_definition.family: required field is missing" in message
    assert "service_settings.desired_count" in message


def test_traffic_steps_must_rise_and_end_at_100(raw):
    raw["release"]["traffic_steps"] = [{"percent": 50, "hold_seconds": 1}, {"percent": 90, "hold_seconds": 1}]
    assert "must be 100 percent" in errors(raw)
    raw["release"]["traffic_steps"] = [{"percent": 150, "hold_seconds": 1}]
    assert "release.traffic_steps.0.percent" in errors(raw)


def test_a_route_must_name_a_mapped_container_port(raw):
    raw["routes"][0]["port"] = 9090
    assert "does not map in port_mappings" in errors(raw)


def test_start_input_needs_version_image_and_one_config():
    with pytest.raises(ValidationError) as caught:
        StartInput.model_validate({"env": "prod"})
    assert "needs version and image" in format_validation_error(caught.value)
    with pytest.raises(ValidationError) as caught:
        StartInput.model_validate({"env": "prod", "version": "2", "image": "x", "config_uri": "s3://b/k", "config": None, "extra": 1})
    assert "extra: unknown key" in format_validation_error(caught.value)


def test_the_plan_names_everything_and_fills_in_the_task_definition(raw):
    config = DeployConfig.model_validate(raw)
    plan = build_plan(action="release", env="prod", version="2.1.0", image="registry/web:2.1.0",
                      environment={"RELEASE": "2.1.0"}, config=config, release_id="ci-42")
    assert plan.ecs_service == naming.service_name("web", "2.1.0")
    assert [r.target_group_name for r in plan.routes] == [naming.target_group_name("prod", "web", "2.1.0")]
    assert plan.lock_key == "lock#demo#web"
    request = task_definition_request(plan, plan.image)
    container = request["containerDefinitions"][0]
    assert container["image"] == "registry/web:2.1.0"
    assert {"name": "RELEASE", "value": "2.1.0"} in container["environment"]
    assert {"name": "LOG_LEVEL", "value": "info"} in container["environment"]
    assert {"key": "cutover:version", "value": "2.1.0"} in request["tags"]
    assert summary(plan)["routes"][0]["target_group"] == plan.routes[0].target_group_name


def test_two_routes_get_one_target_group_each(raw):
    second = copy.deepcopy(raw["routes"][0])
    second.update(name="api", preparing_rule_arn=RULE.format("cccc"), public_rule_arn=RULE.format("dddd"))
    raw["routes"].append(second)
    plan = build_plan(action="release", env="prod", version="3", image="x", environment={},
                      config=DeployConfig.model_validate(raw), release_id="r")
    assert [r.target_group_name for r in plan.routes] == ["prod-web-3-www", "prod-web-3-api"]


def test_sidecars_keep_their_own_image(raw):
    raw["task_definition"]["containers"].append({"name": "proxy", "image": "envoy:1.30", "essential": False})
    plan = build_plan(action="release", env="prod", version="3", image="web:3", environment={"A": "1"},
                      config=DeployConfig.model_validate(raw), release_id="r")
    proxy = task_definition_request(plan, "web:3")["containerDefinitions"][1]
    assert proxy["image"] == "envoy:1.30"
    assert proxy["environment"] == []


def test_the_release_id_is_the_same_for_the_same_start_input_and_differs_otherwise():
    start = {"env": "prod", "version": "2", "image": "web:2", "config": {"service": "web"}}
    again = {"config": {"service": "web"}, "image": "web:2", "version": "2", "env": "prod"}
    # A re-started execution of the same release recognises what the first one created
    assert release_id_of(start) == release_id_of(again)
    assert release_id_of(start) != release_id_of({**start, "image": "web:2b"})
    assert release_id_of(start).startswith("r-") and len(release_id_of(start)) == 18
