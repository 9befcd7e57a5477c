"""Who owns a resource is decided from its tags alone: the names a release would take from someone else
are refused before it starts, each with its owner."""
from __future__ import annotations

from cutover_steps.config.models import DeployConfig
from cutover_steps.decisions import ownership
from cutover_steps.plan.models import build_plan
from tests.unit.configs import raw_config


def plan_of(version: str = "3"):
    return build_plan(action="release", env="demo", version=version, image=f"web:{version}", environment={},
                      config=DeployConfig.model_validate(raw_config()), release_id="r-1")


def as_ecs(tags: dict[str, str]) -> dict:
    return {"tags": [{"key": k, "value": v} for k, v in tags.items()]}


def test_names_held_by_this_version_or_by_nobody_are_free():
    plan = plan_of()
    route = plan.routes[0]
    # Given the version's own target group (a re-run, or a retired version released again) and its own service
    own = {name: None for name in (r.target_group_name for r in plan.routes)}
    own[route.target_group_name] = plan.tags(route=route.route.name)
    # Then nothing is refused
    assert ownership.taken_names(plan, own, as_ecs(plan.tags())) == []
    assert ownership.taken_names(plan, {r.target_group_name: None for r in plan.routes}, None) == []


def test_a_target_group_or_service_of_someone_else_under_the_release_s_names_is_refused_naming_its_owner():
    plan = plan_of()
    route = plan.routes[0]
    other_version = plan_of("2").tags(route=route.route.name)
    # Given the first target group name held by version 2 and the service name by a resource without cutover tags
    groups = {r.target_group_name: None for r in plan.routes} | {route.target_group_name: other_version}
    taken = ownership.taken_names(plan, groups, as_ecs({"team": "payments"}))
    # Then both are refused, each saying whose it is
    assert taken == [
        f"target group {route.target_group_name} is taken by {ownership.describe(other_version)}; "
        f"this release of {plan.service} 3 in env demo leaves it alone",
        f"ECS service {plan.ecs_service} is taken by something not made by Cutover (it has no cutover: tags); "
        f"this release of {plan.service} 3 in env demo leaves it alone",
    ]
    assert "version 2" in taken[0]
