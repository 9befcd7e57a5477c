"""Every field ECS accepts, in the config's snake_case, checked against botocore's model of the request."""
from __future__ import annotations

import copy

import pytest

from cutover_steps.config.models import DeployConfig
from cutover_steps.plan.models import build_plan, task_definition_request
from cutover_steps.plan.service_spec import create_request
from tests.unit.configs import errors


def test_fields_cutover_does_not_read_pass_through_as_request_members(raw):
    raw = copy.deepcopy(raw)
    raw["task_definition"]["runtime_platform"] = {"cpu_architecture": "ARM64", "operating_system_family": "LINUX"}
    raw["task_definition"]["ephemeral_storage"] = {"size_in_gi_b": 40}
    raw["task_definition"]["containers"][0]["health_check"] = {"command": ["CMD-SHELL", "curl -f localhost:8080/health"],
                                                               "interval": 10}
    raw["task_definition"]["containers"][0]["ulimits"] = [{"name": "nofile", "soft_limit": 4096, "hard_limit": 8192}]
    raw["service_settings"]["enable_execute_command"] = True
    raw["service_settings"]["deployment_configuration"] = {"deployment_circuit_breaker": {"enable": True, "rollback": False}}
    plan = build_plan(action="release", env="prod", version="2", image="web:2", environment={},
                      config=DeployConfig.model_validate(raw), release_id="r")
    td = task_definition_request(plan, "web:2")
    assert td["runtimePlatform"] == {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}
    assert td["ephemeralStorage"] == {"sizeInGiB": 40}
    container = td["containerDefinitions"][0]
    assert container["healthCheck"]["command"][0] == "CMD-SHELL" and container["ulimits"][0]["softLimit"] == 4096
    service = create_request(plan, "td-arn", {r.route.name: "tg-arn" for r in plan.routes})
    assert service["enableExecuteCommand"] is True
    assert service["deploymentConfiguration"] == {"deploymentCircuitBreaker": {"enable": True, "rollback": False}}


@pytest.mark.parametrize("where, key, value, message", [
    ("task_definition", "runtime_platform", {"cpu_architecture": "ARM"},
     "task_definition.runtime_platform.cpu_architecture: 'ARM' is not one of X86_64, ARM64"),
    ("container", "health_check", {"interval": 10}, "task_definition.containers.0.health_check.command: required"),
    ("container", "helth_check", {}, "task_definition.containers.0.helth_check: unknown key"),
    ("service_settings", "load_balancers", [], "service_settings.load_balancers: set by Cutover, not by the config"),
    ("task_definition", "tags", [], "task_definition.tags: set by Cutover, not by the config"),
    ("service_settings", "enable_execute_command", "yes", "service_settings.enable_execute_command: must be true or false"),
])
def test_what_ecs_or_cutover_would_refuse_is_named_by_its_path(raw, where, key, value, message):
    raw = copy.deepcopy(raw)
    target = raw["task_definition"]["containers"][0] if where == "container" else raw[where]
    target[key] = value
    assert message in errors(raw)
