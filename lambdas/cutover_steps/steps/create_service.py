"""Create the new version's ECS service, wired to every target group, and its autoscaling.

For a rollback the retired service exists at zero: it is scaled back up, its recorded
autoscaling restored and its obsolete mark removed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cutover_steps.adapters import autoscaling, ecs, elbv2
from cutover_steps.decisions import descriptions, ownership
from cutover_steps.decisions import forward as decisions
from cutover_steps.decisions.intent import CHANGE, CREATE, KEEP, Intent
from cutover_steps.errors import ServiceConflict
from cutover_steps.plan.service_spec import configured_autoscaling, create_request
from cutover_steps.plan.view import TAG_PREFIX, PlanView as Plan
from cutover_steps.results import Service
from cutover_steps.runtime.protocol import StepProtocol
from cutover_steps.runtime.step import StepEvent

OBSOLETE_TAGS = [f"{TAG_PREFIX}obsolete-since", f"{TAG_PREFIX}obsoleted-by"]


@dataclass(frozen=True)
class Found:
    # The new version's ECS service as described (a rollback: the retired version's); None: the name is free.
    service: dict[str, Any] | None
    # Its scalable target (`autoscaling.snapshot`), read only for a service of this release's own when
    # there is autoscaling to register or restore.
    scaling: dict[str, Any] | None = None


@dataclass(frozen=True)
class Decided:
    found: Found
    # Create the service, keep it, or bring it back up (a rollback, or a version released before);
    # None when refused.
    service: Intent | None
    # The autoscaling to register (the config's; a rollback: what the record remembered) and its
    # `scalable target` intent; None for both when there is none.
    wanted: dict[str, Any] | None
    scaling: Intent | None
    # Who holds the service's name, as `cutover plan` shows it (`ecs_service_taken_by`).
    taken_by: str | None
    refusal: ServiceConflict | None

    @property
    def intents(self) -> list[Intent]:
        return [intent for intent in (self.service, self.scaling) if intent is not None]

    @property
    def exists(self) -> bool:
        """`cutover plan`'s `ecs_service_exists`."""
        return self.found.service is not None


def groups_of(event: StepEvent) -> dict[str, str | None]:
    """Route -> the new version's target group ARN (None in a plan, for a group not created yet)."""
    return {g["route"]: g["arn"] for g in event.results.target_groups.target_groups}


def wanted_autoscaling(event: StepEvent) -> dict[str, Any] | None:
    plan = event.plan
    if plan.action == "rollback":
        return (plan.restore or {}).get("autoscaling")
    # A group not created yet has no ARN for a policy's label: the decision compares bounds and policy
    # names only, and the step itself runs with every group created.
    groups = groups_of(event)
    return configured_autoscaling(plan, {r.route.name: groups.get(r.route.name) or "" for r in plan.routes})


def found_with(plan: Plan, service: dict[str, Any] | None, wanted: dict[str, Any] | None) -> Found:
    """The service as found, with its scalable target when the step would decide on it (a service of
    this version, a rollback: of this service, that is not draining, with autoscaling wanted)."""
    of_ours = ownership.of_service if plan.action == "rollback" else ownership.of_version
    ours = service is not None and service.get("status") != "DRAINING" and of_ours(plan, descriptions.tags_of(service))
    return Found(service, autoscaling.snapshot(plan.cluster, plan.ecs_service) if ours and wanted is not None else None)


def read(event: StepEvent) -> Found:
    plan = event.plan
    return found_with(plan, ecs.service_unless_no_cluster(plan.cluster, plan.ecs_service), wanted_autoscaling(event))


def restored_count(plan: Plan) -> int:
    return int((plan.restore or {}).get("desired_count") or plan.config.service_settings.desired_count)


def marked_obsolete(existing: dict[str, Any]) -> bool:
    tags = descriptions.tags_of(existing)
    return any(t in tags for t in OBSOLETE_TAGS)


def wake_changes(existing: dict[str, Any], desired: int) -> list[str]:
    """What waking a retired service changes, in the words of the step's result."""
    changes = []
    if existing["desiredCount"] != desired:
        changes.append(f"desired count {existing['desiredCount']} -> {desired}")
    if marked_obsolete(existing):
        changes.append("obsolete mark removed")
    return changes


def revival(plan: Plan, existing: dict[str, Any] | None) -> Intent:
    """Rollback: the retired version back at the capacity it had, its obsolete mark taken off; one
    draining, gone or someone else's is refused."""
    decisions.refuse_draining(plan, existing)
    if existing is None:
        raise ServiceConflict(f"the retired service {plan.ecs_service} no longer exists; nothing to bring back")
    tags = descriptions.tags_of(existing)
    if not ownership.of_service(plan, tags):
        raise ServiceConflict(ownership.refusal(plan, "ECS service", plan.ecs_service, tags))
    desired = restored_count(plan)
    before, after = {"desired_count": existing["desiredCount"]}, {"desired_count": desired}
    changes = wake_changes(existing, desired)
    if not changes:
        return Intent(KEEP, "ECS service", plan.ecs_service, before=before, after=after, why="already brought back")
    return Intent(CHANGE, "ECS service", plan.ecs_service, before=before, after=after,
                  why="retired by the release rolled back from; " + ", ".join(changes))


def decide(event: StepEvent, found: Found) -> Decided:
    plan = event.plan
    wanted = wanted_autoscaling(event)
    try:
        if plan.action == "rollback":
            service = revival(plan, found.service)
        else:
            groups = groups_of(event)
            # Groups not all created yet (a plan): the wiring cannot be compared.
            wired = groups if groups and all(groups.values()) else None
            service = decisions.service(plan, found.service, wired)
    except ServiceConflict as conflict:
        taken_by = ownership.describe(descriptions.tags_of(found.service)) if found.service is not None else None
        # The scaling a release of the name would register, shown beside the refusal as `cutover plan` shows it.
        return Decided(found, None, wanted, decisions.scalable_target(plan, wanted, None), taken_by, conflict)
    return Decided(found, service, wanted, decisions.scalable_target(plan, wanted, found.scaling), None, None)


def autoscaling_result(wanted: dict[str, Any] | None, intent: Intent | None) -> dict[str, Any]:
    if intent is None:
        return {"autoscaling": None, "changed": None, "found": "no autoscaling configured"}
    bounds = {"min": wanted["min"], "max": wanted["max"]}
    if not intent.acts:
        return {"autoscaling": bounds, "changed": None}
    before = intent.before and {"min": intent.before["min"], "max": intent.before["max"]}
    return {"autoscaling": bounds, "before": before, "changed": "registered"}


def apply_autoscaling(plan: Plan, wanted: dict[str, Any] | None, intent: Intent | None,
                      policies: bool = True) -> dict[str, Any]:
    if intent is not None and intent.acts:
        # RegisterScalableTarget and PutScalingPolicy replace what they find.
        autoscaling.restore(plan.cluster, plan.ecs_service, wanted, policies=policies)
    return autoscaling_result(wanted, intent)


def wake(plan: Plan, existing: dict[str, Any], desired: int) -> str | None:
    """Scale a retired service back up and take its obsolete mark off, so cleanup spares it."""
    if existing["desiredCount"] != desired:
        ecs.set_desired(plan.cluster, plan.ecs_service, desired)
    if marked_obsolete(existing):
        ecs.untag(existing["serviceArn"], OBSOLETE_TAGS)
        for arn in descriptions.target_group_arns(existing):
            elbv2.remove_tags(arn, OBSOLETE_TAGS)
    return ", ".join(wake_changes(existing, desired)) or None


def apply(event: StepEvent, decided: Decided) -> Service:
    plan = event.plan
    if plan.action == "rollback":
        existing, desired = decided.found.service, decided.service.after["desired_count"]
        woken = wake(plan, existing, desired)
        # A parked target kept its own policies and scheduled actions: only its bounds and suspension
        # go back, so each policy keeps its ARN (which a step-scaling alarm names).
        scaling = apply_autoscaling(plan, decided.wanted, decided.scaling, policies=decided.found.scaling is None)
        return Service(service=plan.ecs_service, arn=existing["serviceArn"], desired_count=desired,
                       changed=woken, autoscaling=scaling)
    if decided.service.action == CREATE:
        groups = groups_of(event)
        request = create_request(plan, event.results.task_definition.task_definition, groups)
        # Create first: the usual path is one call. The clientToken gets a re-run back what an earlier
        # attempt made; that, or a name held otherwise, is read and decided on as a read first would have.
        made, created = ecs.create_service(request)
        if created:
            return Service(service=plan.ecs_service, arn=made["serviceArn"], changed="created",
                           desired_count=request["desiredCount"],
                           # A service created now has no scalable target: nothing to read first.
                           autoscaling=apply_autoscaling(plan, decided.wanted, decided.scaling))
        decided = decide(event, found_with(plan, made, decided.wanted))
        if decided.refusal is not None:
            raise decided.refusal
    existing = decided.found.service
    return Service(service=plan.ecs_service, arn=existing["serviceArn"], found="already exists",
                   changed=wake(plan, existing, decided.service.after["desired_count"]) if decided.service.action == CHANGE else None,
                   autoscaling=apply_autoscaling(plan, decided.wanted, decided.scaling))


def expect(event: StepEvent, decided: Decided) -> Service:
    plan = event.plan
    scaling = autoscaling_result(decided.wanted, decided.scaling)
    existing, service = decided.found.service, decided.service
    if service is None:
        return Service(service=plan.ecs_service, arn=None, changed=None, found=str(decided.refusal), autoscaling=scaling)
    woken = existing is not None and ", ".join(wake_changes(existing, service.after["desired_count"])) or None
    if plan.action == "rollback":
        return Service(service=plan.ecs_service, arn=existing["serviceArn"], desired_count=service.after["desired_count"],
                       changed=woken, autoscaling=scaling)
    if service.action == CREATE:
        # Its ARN is ECS's to give.
        return Service(service=plan.ecs_service, arn=None, changed="created",
                       desired_count=service.after["desired_count"], autoscaling=scaling)
    return Service(service=plan.ecs_service, arn=existing["serviceArn"], found="already exists",
                   changed=woken if service.action == CHANGE else None, autoscaling=scaling)


class CreatingFirst(StepProtocol[Found, Decided]):
    """The three parts, run with CreateService's cheap path: a release's step does not read its
    service before creating it, since the usual path finds the name free and one CreateService call
    (with its clientToken) then does it all. It decides on the name free, and `apply` reads and
    decides again only when ECS answers that the name is held. `read` still reads first, for
    `cutover plan` and for a rollback, whose service exists."""

    def run(self, event: StepEvent) -> Service:
        if event.plan.action == "rollback":
            return super().run(event)
        return self.apply(event, self.decide(event, Found(None)))


STEP = CreatingFirst(read, decide, apply, expect)
handler = STEP.handler()
