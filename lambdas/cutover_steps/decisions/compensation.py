"""The undo's decisions: what tearing a prepared version down and putting traffic back would do.

Like `cutover_steps.decisions.forward`, each undo step reads the world (through the adapters: the
teardown's reads are its own, `PreparedFound`), decides here with no call (a list of `Intent`s: what goes back where, what is scaled
down or deleted, what is kept because it is not the release's), then applies the decision. A
retried undo reads what the first one did and decides to keep it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cutover_steps.decisions import forward as decisions, ownership
from cutover_steps.decisions.descriptions import forward_of, parked, tags_of
from cutover_steps.decisions.intent import CHANGE, DELETE, KEEP, Intent
from cutover_steps.plan.view import PlanView as Plan
from cutover_steps.decisions.traffic import expected_now, normalized

PREPARING_RULE, TARGET_GROUP, SERVICE, PUBLIC_RULE, OLD_VERSION, OBSOLETE_MARK = (
    "preparing rule", "target group", "ECS service", "public rule", "old version", "obsolete mark")


def left_alone(intent: Intent) -> bool:
    """Kept because it is not the release's (its why names whose it is: `ownership.not_ours`)."""
    return intent.action == KEEP and (intent.why or "").endswith(f"; {ownership.LEFT_ALONE}")


@dataclass
class PreparedFound:
    """What the teardown of the prepared version read."""
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)  # this version's, by name
    group_tags: dict[str, dict[str, str]] = field(default_factory=dict)
    foreign: dict[str, dict[str, str]] = field(default_factory=dict)  # someone else's under our names: their tags
    preparing: dict[str, dict[str, Any]] = field(default_factory=dict)  # by route: the rule as described
    publicly_live: bool = False
    service: dict[str, Any] | None = None
    snapshot: dict[str, Any] | None = None

    @property
    def arns(self) -> set[str]:
        return {g["TargetGroupArn"] for g in self.groups.values()}


def preparing_rules_back(plan: Plan, found: PreparedFound, before: dict[str, dict[str, int]]) -> list[Intent]:
    """Each preparing rule back on what it forwarded to before the release, in the plan's route order;
    one already off the new version, or with nothing to go back to, stays as it is."""
    intents = []
    for route in plan.routes:
        rule_arn = route.route.preparing_rule_arn
        current = forward_of(found.preparing[route.route.name])
        previous = {arn: w for arn, w in (before.get(route.route.name) or {}).items() if arn not in found.arns}
        if not set(current) & found.arns:
            intents.append(Intent(KEEP, PREPARING_RULE, rule_arn, before=current, after=current,
                                  why="preparing rule does not forward to the new version"))
        elif not previous:
            intents.append(Intent(KEEP, PREPARING_RULE, rule_arn, before=current, after=current,
                                  why="nothing to put back on the preparing rule; left on the new version"))
        else:
            intents.append(Intent(CHANGE, PREPARING_RULE, rule_arn, before=current, after=previous,
                                  why="preparing rule put back"))
    return intents


def prepared_version(plan: Plan, found: PreparedFound, since: str) -> list[Intent]:
    """The prepared version: scaled to zero (its scalable target removed first), then deleted when the
    config says so and this release created it, else marked obsolete; what is not this version's, and
    a version that serves public traffic, are kept as they are."""
    intents = [Intent(KEEP, TARGET_GROUP, name, why=ownership.not_ours(tags))
               for name, tags in found.foreign.items()]
    if found.groups and found.publicly_live:
        return intents + [Intent(KEEP, SERVICE, plan.ecs_service, why=f"{plan.version} serves public traffic; it is kept as it is")]
    service = found.service
    if service is not None and not ownership.of_version(plan, tags_of(service)):
        intents.append(Intent(KEEP, SERVICE, plan.ecs_service, why=ownership.not_ours(tags_of(service))))
        service = None
    if service is not None:
        intents.append(decisions.to_zero(SERVICE, plan.ecs_service, service, found.snapshot))
    # Only what this release created is deleted; this version's resources made by an earlier release
    # (a retired version released again) are kept at zero and marked, so a rollback can still use them.
    created_service = service is not None and ownership.created(plan, tags_of(service))
    created_groups = sorted(n for n in found.groups if ownership.created(plan, found.group_tags[n]))
    deletes = [Intent(DELETE, TARGET_GROUP, name, before=found.groups[name]["TargetGroupArn"],
                      why="created by this release") for name in created_groups]
    if plan.config.release.on_prepare_failure == "delete" and plan.action == "release" and (created_service or service is None):
        if service is not None and service.get("status") == "ACTIVE":
            intents.append(Intent(DELETE, SERVICE, plan.ecs_service, before=service["serviceArn"], why="on_prepare_failure: delete"))
        elif service is not None:
            intents.append(Intent(KEEP, SERVICE, plan.ecs_service, why="already being deleted"))
        return intents + deletes
    if service is not None:
        return intents + [decisions.obsolete_mark(plan, plan.ecs_service, service, since)]
    # No service was created: nothing would ever find these groups again (cleanup walks the cluster's
    # services), and a new attempt recreates them, so they go now.
    return intents + deletes


def public_rules_back(routes: list[dict[str, Any]], written: dict[str, dict[str, Any]],
                      current: dict[str, dict[str, int]]) -> list[Intent]:
    """Each public rule back on what the release read before it changed anything, when it still holds
    what the release wrote there; a rule someone else changed meanwhile is left as it is."""
    intents = []
    for route in routes:
        now = normalized(current[route["route"]])
        original = {arn: int(w) for arn, w in route["forward"].items()}
        if now == normalized(original):
            intents.append(Intent(KEEP, PUBLIC_RULE, route["rule"], before=now, after=now, why="already on the old version"))
        elif now == normalized(expected_now(route, {"written": written})):
            intents.append(Intent(CHANGE, PUBLIC_RULE, route["rule"], before=now, after=original, why="back on the old version"))
        else:
            intents.append(Intent(KEEP, PUBLIC_RULE, route["rule"], before=now, after=now, why="changed by someone else; left as it is"))
    return intents


def old_version_back(plan: Plan, name: str, service: dict[str, Any] | None, saved: dict[str, Any],
                     snapshot: dict[str, Any] | None) -> Intent:
    """The old service back at the count and autoscaling remembered when it was retired (`saved`);
    gone or someone else's: kept as it is. (`snapshot`: its scalable target now, read only when
    one was remembered; parked at retirement, or gone, it is restored.)"""
    if service is None:
        return Intent(KEEP, OLD_VERSION, name, why="service no longer exists")
    if not ownership.of_service(plan, tags_of(service)):
        return Intent(KEEP, OLD_VERSION, name, why=ownership.not_ours(tags_of(service)))
    now = {"desired_count": service["desiredCount"]}
    after = dict(now)
    if service["desiredCount"] == 0 and saved.get("desired_count"):
        after["desired_count"] = int(saved["desired_count"])
    if saved.get("autoscaling") and (snapshot is None or parked(snapshot)):
        after["autoscaling"] = saved["autoscaling"]
    if after == now:
        return Intent(KEEP, OLD_VERSION, name, before=now, after=now, why="already at its capacity and autoscaling")
    return Intent(CHANGE, OLD_VERSION, name, before=now, after=after, why="brought back to its capacity and autoscaling")
