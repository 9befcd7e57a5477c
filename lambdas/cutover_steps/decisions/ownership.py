"""Who owns a resource, read from its `cutover:` tags: the one test every change and delete passes.

A release may reuse what carries its own (env, service, version); it may delete only what it
created itself (its release id). Anything else is someone else's and is left as it is, said so.
"""
from __future__ import annotations

from typing import Any

from cutover_steps.decisions.descriptions import tags_of
from cutover_steps.plan.view import TAG_PREFIX, PlanView as Plan

ENV, SERVICE, VERSION, RELEASE, ROUTE = (f"{TAG_PREFIX}{k}" for k in ("env", "service", "version", "release", "route"))


def describe(tags: dict[str, str]) -> str:
    """The owner in words, for messages: who to ask before touching it."""
    if not tags.get(SERVICE):
        return "something not made by Cutover (it has no cutover: tags)"
    text = f"{tags.get(SERVICE)} version {tags.get(VERSION)} in env {tags.get(ENV)}"
    if tags.get(ROUTE):
        text += f", route {tags[ROUTE]}"
    return text + (f" (release {tags[RELEASE]})" if tags.get(RELEASE) else "")


def of_service(plan: Plan, tags: dict[str, str]) -> bool:
    """Some version of this env's service."""
    return tags.get(ENV) == plan.env and tags.get(SERVICE) == plan.service


def of_version(plan: Plan, tags: dict[str, str], route: str | None = None) -> bool:
    """This env's service at this release's version (and route, when given)."""
    return of_service(plan, tags) and tags.get(VERSION) == plan.version and (route is None or tags.get(ROUTE) == route)


def created(plan: Plan, tags: dict[str, str]) -> bool:
    """Made by this very release (any execution of it: the id comes from the start input)."""
    return of_version(plan, tags) and tags.get(RELEASE) == plan.release_id


def refusal(plan: Plan, kind: str, name: str, tags: dict[str, str]) -> str:
    return f"{kind} {name} is taken by {describe(tags)}; this release of {plan.service} {plan.version} in env {plan.env} leaves it alone"


def taken_names(plan: Plan, groups: dict[str, dict[str, str] | None], service: dict[str, Any] | None) -> list[str]:
    """Names this release would use that belong to someone else, each with its owner. (`groups`: the
    tags of the target group holding each planned name, None when none does, as
    `cutover_steps.reads.target_groups.tags_by_name` reads them; `service`: the new version's service
    as the caller read it, None when there is none.)"""
    problems = []
    for route in plan.routes:
        tags = groups.get(route.target_group_name)
        if tags is not None and not of_version(plan, tags, route.route.name):
            problems.append(refusal(plan, "target group", route.target_group_name, tags))
    if service is not None and not of_version(plan, tags_of(service)):
        problems.append(refusal(plan, "ECS service", plan.ecs_service, tags_of(service)))
    return problems


LEFT_ALONE = "left alone"


def left_alone(kind: str, name: str, tags: dict[str, Any]) -> dict[str, Any]:
    """A step's report entry for a resource it did not touch because it is not its own."""
    return {kind: name, "changed": None, "found": not_ours(tags)}


def not_ours(tags: dict[str, Any]) -> str:
    """Why a resource is left alone: whose it is."""
    return f"belongs to {describe(tags)}; {LEFT_ALONE}"
