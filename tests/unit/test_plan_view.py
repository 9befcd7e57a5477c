"""The steps read the plan LoadRelease dumped through views, without pydantic: they must read exactly
what the models would have given them."""
from __future__ import annotations

import copy
import typing

import pytest
from pydantic import BaseModel

from cutover_steps.config import models
from cutover_steps.config.models import DeployConfig
from cutover_steps.plan.models import Plan, build_plan, task_definition_request
from cutover_steps.plan.view import PassesThroughView, PlanView, View, read_plan
from cutover_steps.plan.service_spec import configured_autoscaling, create_request


def planned(raw: dict) -> tuple[Plan, PlanView]:
    raw = copy.deepcopy(raw)
    # Pass-through fields and autoscaling with a request-count policy: every kind of read a step makes
    raw["task_definition"]["ephemeral_storage"] = {"size_in_gi_b": 40}
    raw["task_definition"]["containers"][0]["ulimits"] = [{"name": "nofile", "soft_limit": 4096, "hard_limit": 8192}]
    raw["service_settings"]["enable_execute_command"] = True
    raw["service_settings"]["autoscaling"] = {"min": 2, "max": 4, "policies": [
        {"name": "requests", "metric": "ALBRequestCountPerTarget", "target": 100}]}
    plan = build_plan(action="release", env="prod", version="2", image="web:2", environment={"A": "1"},
                      config=DeployConfig.model_validate(raw), release_id="r-1")
    # As the state machine hands it on: LoadRelease's JSON dump
    return plan, read_plan(plan.model_dump(mode="json"))


def test_a_step_reads_from_the_view_what_it_would_read_from_the_model(raw):
    model, view = planned(raw)
    groups = {r.route.name: f"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/{r.target_group_name}/1"
              for r in model.routes}

    assert task_definition_request(view, "web:2") == task_definition_request(model, "web:2")
    assert create_request(view, "td-arn", groups) == create_request(model, "td-arn", groups)
    assert configured_autoscaling(view, groups) == configured_autoscaling(model, groups)
    assert view.tags(route="web") == model.tags(route="web")
    assert view.config.required_healthy == model.config.required_healthy == 2
    assert view.routes[0].route.load_balancer == model.routes[0].route.load_balancer
    assert view.config.model_dump(mode="json") == model.config.model_dump(mode="json")
    assert view.environment == {"A": "1"} and view.restore is None


def test_the_view_is_read_only_and_names_a_field_it_lacks(raw):
    _, view = planned(raw)
    with pytest.raises(AttributeError, match="read-only"):
        view.version = "3"
    with pytest.raises(AttributeError, match="no field 'verison'"):
        view.verison


def _model_fields(model: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """Fields of `model` that hold another model (alone, optional or in a list), and that model."""
    nested = {}
    for name, field in model.model_fields.items():
        for candidate in (field.annotation, *typing.get_args(field.annotation)):
            inner = (typing.get_args(candidate) or (candidate,))[0]
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                nested[name] = inner
    return nested


def _views_of(model: type[BaseModel], view: type[View], seen: dict) -> None:
    seen[model] = view
    nested = _model_fields(model)
    # A field missing here would come as a plain dict; one too many would turn a dict into a view
    assert set(view.MODELS) == set(nested), f"{view.__name__} vs the fields of {model.__name__} that hold models"
    for name, inner in nested.items():
        _views_of(inner, view.MODELS[name], seen)


def test_every_model_of_the_plan_has_a_view_that_knows_its_fields():
    # Given each model reachable from the plan, and the view the steps read it through
    seen: dict = {}
    _views_of(Plan, PlanView, seen)
    assert {models.DeployConfig, models.Route, models.Container, models.ServiceSettings} <= set(seen)

    # Then a model that passes AWS fields through has a view that knows which fields are its own
    for model, view in seen.items():
        if issubclass(model, models.PassesThrough):
            assert issubclass(view, PassesThroughView), model.__name__
            assert view.FIELDS == set(model.model_fields), model.__name__
            assert view.AWS_SHAPE == model.aws_shape
