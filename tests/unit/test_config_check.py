"""LoadRelease's pydantic-free check (cutover_steps.config.check) and the models (cutover_steps.config.models) never disagree:
what the check accepts the models accept with the same data, every bad input gets the models' own words,
and valid configs are proven without pydantic."""
from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from cutover import ROOT
from cutover.definition import checker_schema
from cutover_steps.config import check as config_check
from cutover_steps.config.models import DeployConfig, StartInput
from cutover_steps.plan.models import build_plan
from cutover_steps.plan.view import DeployConfigView, plan_data, read_plan, summary
from tests.unit import test_bad_input as bad

EXAMPLES = Path(ROOT, "examples")


def valid_configs() -> dict[str, dict[str, Any]]:
    """Configs of every shape the reference documents, each valid."""
    demo = bad.config()
    full = copy.deepcopy(demo)
    bad.second_route(full)
    full["task_definition"]["ephemeral_storage"] = {"size_in_gi_b": 40}
    full["task_definition"]["containers"][0].update(
        ulimits=[{"name": "nofile", "soft_limit": 4096, "hard_limit": 8192}], secrets=[{"name": "S", "value_from": "arn:x"}],
        log_configuration={"options": {"awslogs-group": "web"}}, command=["serve"], memory_reservation=256)
    full["task_definition"]["containers"].append({"name": "proxy", "image": "envoy:1", "essential": False, "cpu": 64})
    full["service_settings"].update(enable_execute_command=True, platform_version="LATEST")
    full["service_settings"]["autoscaling"]["policies"].append(
        bad.request_count_policy(route="api", target=12.5, scale_in_cooldown_seconds=0))
    full["release"].update(
        traffic_steps=[{"percent": 10, "hold_seconds": 60}, {"percent": 100, "hold_seconds": 0}], bake_seconds=300,
        alarm_names=["web-5xx"], approval={"mode": "auto", "timeout_seconds": 90}, deleted_revisions="delete",
        verify=[{"name": "home", "http": {"url": "https://www.example.com/health", "attempts": 2}, "when": ["prepared", "hold"]},
                {"name": "smoke", "lambda": {"function_arn": "arn:aws:lambda:us-east-1:123456789012:function:smoke:live"}}])
    capacity = copy.deepcopy(demo)
    capacity["service_settings"].pop("launch_type", None)
    capacity["service_settings"]["capacity_provider_strategy"] = [{"capacity_provider": "FARGATE_SPOT", "weight": 3}]
    capacity["task_definition"].update(network_mode="bridge", requires_compatibilities=["EC2"])
    capacity["service_settings"].pop("network", None)
    capacity["service_settings"].pop("autoscaling", None)
    capacity["release"].pop("required_healthy", None)
    capacity["release"]["verify"] = [{"name": "by-name", "lambda_": {"function_arn": "arn:aws:lambda:us-east-1:123456789012:function:f"}}]
    configs = {"demo": demo, "every-field": full, "capacity-providers": capacity}
    two_routes = yaml.safe_load((EXAMPLES / "two-routes.yaml").read_text())
    configs["two-routes example"] = {k: v for k, v in two_routes.items() if k != "environments"}
    return configs


VALID = valid_configs()


def by_models(model: type, data: Any) -> dict[str, Any]:
    return model.model_validate(data).model_dump(mode="json")


def proven(name: str, data: Any) -> dict[str, Any] | None:
    """What the check gives without the models, or None when it leaves `data` to them."""
    try:
        return config_check._valid(config_check.config_schema.ROOTS[name], data)
    except config_check._Unproven:
        return None


def test_the_checker_schema_is_generated_from_the_models_as_they_are():
    # A model changed without `make checker` would let LoadRelease check a config the old way
    assert not checker_schema.stale(), "cutover_steps/config/schema.py is stale: run make checker"


@pytest.mark.parametrize("name", VALID)
def test_a_valid_config_is_proven_without_the_models_and_gives_their_data(name, monkeypatch):
    # Given a valid config, alone and in a start input
    config = VALID[name]
    start = {"env": "demo", "version": "2", "image": "web:2", "config": config, "environment": {"A": "1"}}
    # When LoadRelease checks them, the models out of reach
    monkeypatch.setattr(config_check, "by_models", lambda *_: pytest.fail("a valid config went to the models"))
    checked_config, checked_start = config_check.deploy_config(config), config_check.start_input(start)
    # Then each is exactly what the models make of it, key order included
    assert json.dumps(checked_config) == json.dumps(by_models(DeployConfig, config))
    assert json.dumps(checked_start) == json.dumps(by_models(StartInput, start))


@pytest.mark.parametrize("name", VALID)
def test_the_plan_loadrelease_hands_on_is_the_commands_plan(name):
    # Given a valid config, checked as LoadRelease checks it and validated as the command line does
    config = VALID[name]
    inputs = {"action": "release", "env": "demo", "version": "2", "image": "web:2", "environment": {}, "release_id": "r-1"}
    # When both plan the release
    data = plan_data(config=DeployConfigView(config_check.deploy_config(config)), **inputs)
    model = build_plan(config=DeployConfig.model_validate(config), **inputs)
    # Then they hand the steps the same plan, described the same way
    assert json.dumps(data) == json.dumps(model.model_dump(mode="json"))
    assert summary(read_plan(data)) == summary(model)


def bad_inputs() -> list[Any]:
    """Every bad input of tests/unit/test_bad_input.py's tables, as the start input it is."""
    inputs = []
    for test in vars(bad).values():
        for mark in getattr(test, "pytestmark", []):
            if mark.name != "parametrize":
                continue
            names = [n.strip() for n in mark.args[0].split(",")]
            for values in mark.args[1]:
                case = dict(zip(names, values))
                if "steps" in case:
                    steps = case["steps"]
                    inputs.append(bad.with_config(lambda c, steps=steps: c["release"].update(traffic_steps=steps)))
                elif "change" in case:
                    inputs.append(bad.with_config(case["change"]))
                else:
                    inputs.append(case["raw"])
    return inputs


BAD = bad_inputs()


@pytest.mark.parametrize("raw", BAD, ids=range(len(BAD)))
def test_bad_input_is_never_proven_and_gets_the_models_words(raw):
    # Given an input the models refuse
    with pytest.raises(config_check.Invalid) as by_the_models:
        config_check.by_models("StartInput", raw)
    # When LoadRelease checks it; Then the check alone does not accept it, and the problems are worded as the CLI words them
    assert proven("StartInput", raw) is None
    with pytest.raises(config_check.Invalid) as checked:
        config_check.start_input(raw)
    assert str(checked.value) == str(by_the_models.value)


def test_bad_input_tables_were_read():
    assert len(BAD) > 60


# Values of every JSON and YAML type, near and across the models' limits.
ODD_VALUES = [None, True, False, 0, 1, -1, 2, 4, 59, 60, 100, 101, 5000, 5001, 65535, 65536, 86401, 10 ** 20, 0.0, 1.5,
              2.0, -3.5, float("inf"), float("nan"), "", " ", "0", "2", "true", "web", "www", "FARGATE", "tcp", "auto",
              "prepared", "/", "a" * 300, "wéb", "web\n", "sg-1", "vpc-0abc", bad.RULE.format("ffff"), [], [1], ["x"],
              [{}], {}, {"a": 1}, {"name": "x"}, b"web"]


def mutations(rng: random.Random, data: Any, count: int) -> list[Any]:
    """`count` copies of `data`, each with one change: a value replaced, a key removed or added."""
    paths = []

    def walk(node: Any, path: tuple) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, (*path, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, (*path, index))

    walk(data, ())
    changed = []
    for _ in range(count):
        copy_ = copy.deepcopy(data)
        path = rng.choice(paths[1:])
        parent = copy_
        for step in path[:-1]:
            parent = parent[step]
        action = rng.random()
        if action < 0.7:
            parent[path[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
        elif action < 0.85 and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[rng.choice(["lambda", "lambda_", "extra", "memory", "name", "route", "tags", "desired_count"])] = \
                copy.deepcopy(rng.choice(ODD_VALUES))
        changed.append(copy_)
    return changed


def test_whatever_the_check_accepts_the_models_accept_with_the_same_data():
    # Given thousands of single changes to valid configs (a fixed seed: the same run every time)
    rng = random.Random(15)
    accepted = refused = 0
    for config in VALID.values():
        start = {"env": "demo", "version": "2", "image": "web:2", "config": config}
        for candidate in mutations(rng, start, 600):
            # When the check alone accepts one
            checked = proven("StartInput", candidate)
            if checked is None:
                refused += 1
                continue
            accepted += 1
            # Then the models accept it too, with the same data
            assert json.dumps(checked) == json.dumps(by_models(StartInput, candidate)), candidate
    # And both kinds were tried
    assert accepted > 300 and refused > 300, (accepted, refused)


def test_loadrelease_checks_a_valid_config_without_importing_pydantic():
    # Given a fresh interpreter with the step code, as a function's cold start has
    probe = ("import json, sys\n"
             "from cutover_steps.steps import load_release as load\n"
             "start = load.parse_start_input(json.loads(sys.argv[1]))\n"
             "print(json.dumps([start.config.service, 'pydantic' in sys.modules]))\n")
    start = {"env": "demo", "version": "2", "image": "web:2", "config": VALID["every-field"]}
    # When it checks a valid start input
    done = subprocess.run([sys.executable, "-c", probe, json.dumps(start)], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(Path(ROOT, "lambdas")), "PATH": "", "AWS_DEFAULT_REGION": "us-east-1",
                               "POWERTOOLS_TRACE_DISABLED": "true"})
    assert done.returncode == 0, done.stderr
    # Then it read the config and never needed pydantic
    assert json.loads(done.stdout) == ["web", False]
