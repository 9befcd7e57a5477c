"""`cutover plan`: the release's own plan, set beside what the account holds now. Reads only.

What the release would do is the steps' own reads and decisions, walked in the definition's order
(`step_walk`); this module lays them out for people and scripts.
"""
from __future__ import annotations

from typing import Any

from cutover_steps.decisions import descriptions
from cutover_steps.adapters import ecs, elbv2
from cutover_steps.config.models import DeployConfig
from cutover_steps.decisions.intent import Intent
from cutover_steps.plan.models import TAG_PREFIX, Plan, build_plan, summary, task_definition_request
from cutover_steps.plan.service_spec import create_request

from cutover.operations import diff, plan_decisions, step_walk
from cutover.operations.step_walk import Walked
from cutover.definition import states
from cutover.exits import UsageError


def _versions(forward: dict[str, int], tags: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    total = sum(forward.values()) or 1
    return [
        {
            "target_group": elbv2.name_of(arn),
            "version": tags.get(arn, {}).get(f"{TAG_PREFIX}version"),
            "service": tags.get(arn, {}).get(f"{TAG_PREFIX}service"),
            "ecs_service": tags.get(arn, {}).get(f"{TAG_PREFIX}ecs-service"),
            "percent": round(100 * weight / total),
        }
        for arn, weight in forward.items()
    ]


# The steps that read or write the release table: a plan for a stack whose table is not known skips them.
NEEDS_TABLE = frozenset({"LockService", "RecordRelease"})


def lock(walked: Walked) -> dict[str, Any]:
    """Whether the release would take the service's lock, take over a stale one, or be refused: the
    lock step's own read and decision, for a release that no execution runs yet."""
    key, held, decided = walked.event.plan.lock_key, walked.found.held, walked.decided
    if decided.refusal is not None:
        return {"key": key, "action": None, "held_by": held["held_by"], "since": held.get("taken_at"),
                "refused": str(decided.refusal)}
    before = decided.intent.before or {}
    return {"key": key, "action": decided.intent.action, "held_by": before.get("held_by"),
            "since": before.get("taken_at"), "refused": None}


def inspect(plan: Plan, with_table: bool = True) -> dict[str, Any]:
    """What the release would create, change, retire and delete, given the account as it is now: the
    steps' own reads and decisions, stopped before each step would apply them. (`with_table` False:
    no release table is known, so neither the lock nor the release record is read.)"""
    cluster_exists = ecs.cluster_active(plan.config.cluster)
    walk = step_walk.walk(plan, frozenset() if with_table else NEEDS_TABLE)
    walked = {key: runs[0] for key, runs in walk.steps.items()}
    # Every decision of every step walked, in the release's order; the lock's is shown apart.
    intents: list[Intent] = [intent for key, runs in walk.steps.items() if key != "LockService"
                             for run in runs for intent in run.decided.intents]
    made, preparing_rules = walked["CreateTargetGroups"], walked["AttachPreparingRules"]
    routes = []
    for route in plan.routes:
        name = route.route.name
        existing, _ = made.found[name]
        routes.append({"route": name, "target_group": route.target_group_name, "target_group_exists": existing is not None,
                       "target_group_taken_by": made.decided.taken_by.get(name),
                       "preparing": descriptions.forward_of(preparing_rules.found[name])})
    service = walked["CreateService"].decided
    live, rule_tags = walked["ReadLiveRoutes"].decided.live, walked["ReadLiveRoutes"].decided.tags
    # Which versions the preparing rules serve now: for people only, no step decides on it.
    preparing_tags = elbv2.tags_of([arn for r in routes for arn in r["preparing"]])
    for entry, route in zip(routes, live["routes"]):
        entry["preparing_now"] = _versions(entry.pop("preparing"), preparing_tags)
        entry["public_now"] = _versions(route["forward"], rule_tags)
    retired, cleanup = walked["RetireOldVersion"].decided, walked["CleanUp"].decided
    marks = cleanup.retired_marks
    retire_list = [{**entry, **marks.get(entry["ecs_service"], {"marked": False, "mark_found": None})}
                   for entry in retired.retire]
    return {
        "plan": summary(plan),
        "cluster_exists": cluster_exists,
        "lock": lock(walked["LockService"]) if with_table else None,
        "ecs_service_exists": service.exists,
        "ecs_service_taken_by": service.taken_by,
        "routes": routes,
        "retire": retire_list,
        "mark_earlier": cleanup.mark_earlier,
        "delete": [_brief(v) for v in cleanup.delete],
        "keep": [_brief(v) for v in cleanup.keep],
        "decisions": plan_decisions.shown(plan, intents),
        "diff": difference(plan, retire_list[0]) if retire_list and retire_list[0]["desired_count"] is not None else None,
        "if_it_fails": [if_it_fails(plan, undo) for undo in step_walk.undos(plan, walk.points)],
    }


def _brief(version: dict[str, Any]) -> dict[str, Any]:
    return {"ecs_service": version["ecs_service"], "version": version["version"], "obsolete_since": version["since"]}


def if_it_fails(plan: Plan, undo: step_walk.Undo) -> dict[str, Any]:
    """What the undo would do after a failure at one state: the undo steps' own decisions, on the
    world as the steps before would have left it."""
    return {"state": undo.point.state, "run": undo.point.run, "undone_by": undo.states,
            "decisions": plan_decisions.undo_shown(plan, undo.intents)}


def difference(plan: Plan, live: dict[str, Any]) -> dict[str, Any] | None:
    """The new version's task definition and service settings against the live version's, field by field."""
    running = ecs.service(plan.cluster, live["ecs_service"])
    revision = ecs.task_definition(running["taskDefinition"]) if running else None
    if revision is None:
        return None
    settings = plan.config.service_settings
    new_service = create_request(plan, "", {r.route.name: "" for r in plan.routes})
    new_scaling = {"min": settings.autoscaling.min, "max": settings.autoscaling.max} if settings.autoscaling else None
    return {
        "against": {"ecs_service": live["ecs_service"], "version": live["version"],
                    "task_definition": running["taskDefinition"].rsplit("/", 1)[-1]},
        "task_definition": diff.changes(diff.task_definition_fields(revision),
                                        diff.task_definition_fields(task_definition_request(plan, plan.image))),
        "service": diff.changes(diff.service_fields(running, live["autoscaling"]), diff.service_fields(new_service, new_scaling)),
    }


def would_fail(report: dict[str, Any]) -> list[str]:
    """Why the release this plan describes would be refused or fail at its start; [] when it would not."""
    why = [] if report["cluster_exists"] else [f"cluster {report['plan']['cluster']} does not exist"]
    why += [f"target group {r['target_group']} is taken" for r in report["routes"] if r.get("target_group_taken_by")]
    if report.get("ecs_service_taken_by"):
        why.append(f"ECS service {report['plan']['ecs_service']} is taken")
    if (report.get("lock") or {}).get("refused"):
        why.append("the service's lock is held by a running release")
    return why


def make_plan(config: DeployConfig, env: str, version: str, image: str, environment: dict[str, str]) -> Plan:
    """The plan a release of this config would make; UsageError when the release could not make one."""
    try:
        return build_plan(action="release", env=env, version=version, image=image, environment=environment,
                          config=config, release_id="plan")
    except ValueError as error:
        raise UsageError(str(error)) from error


def _live(entries: list[dict[str, Any]]) -> str:
    if not entries:
        return "no version (the rule does not forward)"
    return ", ".join(
        f"{e['target_group']}" + (f" (v{e['version']})" if e["version"] else "") + (f" {e['percent']}%" if len(entries) > 1 else "")
        for e in entries
    )


def _state(exists: bool, taken_by: str | None) -> str:
    if taken_by:
        return "TAKEN by another owner, not reused"
    return "this version's, exists already, reused" if exists else "new"


def _value(value: Any) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "(none)"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "(none)"
    return str(value)


def _diff_text(found: dict[str, Any] | None) -> list[str]:
    if not found:
        return []
    against = found["against"]
    lines = [f"Differences from the live version {against['ecs_service']} (v{against['version']}, {against['task_definition']})"]
    for kind, label in (("task_definition", "task definition"), ("service", "service")):
        for change in found[kind]:
            lines.append(f"  {label:<16} {change['field']:<34} {_value(change['before'])} -> {_value(change['after'])}")
    if not found["task_definition"] and not found["service"]:
        lines.append("  none besides the version itself")
    return lines + [""]


def _if_it_fails_text(points: list[dict[str, Any]]) -> list[str]:
    """The undo after a failure, for runs of states whose failure the same undo would undo the same way."""
    groups: list[tuple[Any, list[dict[str, Any]]]] = []
    for point in points:
        key = (point["undone_by"], [(d["action"], d["resource"], d["name"]) for d in point["decisions"]])
        if groups and groups[-1][0] == key:
            groups[-1][1].append(point)
        else:
            groups.append((key, [point]))
    lines = ["", "If it fails"] if groups else []
    for _, group in groups:
        first, last = group[0]["state"], group[-1]["state"]
        where = f"at '{first}'" if first == last else f"from '{first}' to '{last}'"
        lines.append(f"  {where}: {', '.join(group[0]['undone_by'])}")
        acting = [d for d in group[0]["decisions"] if d["action"] != "keep"]
        for d in acting:
            lines.append(f"    {d['action']:<7} {d['resource']} {d['name']}" + (f": {d['why']}" if d["why"] else ""))
        if not acting:
            lines.append("    nothing to undo")
    return lines


def _lock_text(found: dict[str, Any] | None) -> list[str]:
    if found is None:
        return ["Lock: not read (no release table found)", ""]
    if found["refused"]:
        (lock_state,) = states.of_step("LockService")
        return [f"! lock {found['key']} is held: the release would be refused at '{lock_state}'", f"! {found['refused']}", ""]
    if found["action"] == "change":
        # By the execution's name, as `cutover status` takes it.
        holder = found["held_by"].rsplit(":", 1)[-1]
        return [f"Lock: {found['key']} held by {holder}, which has ended; the release takes it over", ""]
    return [f"Lock: {found['key']} is free; the release takes it", ""]


def text(report: dict[str, Any]) -> str:
    s = report["plan"]
    (load,) = states.of_step("LoadRelease")
    lines = [f"Plan: {s['action']} {s['service']} {s['version']} to env {s['env']} (image {s['image']}). Nothing was changed.", ""]
    if not report["cluster_exists"]:
        lines += [f"! cluster {s['cluster']} does not exist: the release would stop at '{load}'", ""]
    taken = [(f"target group {r['target_group']}", r["target_group_taken_by"]) for r in report["routes"] if r.get("target_group_taken_by")]
    if report.get("ecs_service_taken_by"):
        taken.append((f"ECS service {s['ecs_service']}", report["ecs_service_taken_by"]))
    for what, owner in taken:
        lines.append(f"! {what} is taken by {owner}")
    if taken:
        lines += [f"! the release would be refused at '{load}', before the lock; nothing would change", ""]
    lines += _lock_text(report.get("lock"))
    lines.append("Would create")
    for route in report["routes"]:
        state = _state(route["target_group_exists"], route.get("target_group_taken_by"))
        lines.append(f"  target group     {route['target_group']:<32} route {route['route']} ({state})")
    revision = next(d for d in report["decisions"] if d["resource"] == "task definition")
    reuse = f"{revision['before'].rsplit('/', 1)[-1]} reused (same content)" if revision["action"] == "keep" else "a new revision"
    lines.append(f"  task definition  {s['task_definition_family']:<32} {reuse} with image {s['image']}")
    scaling = s.get("autoscaling")
    scaling_text = f", autoscaling {scaling['min']}..{scaling['max']}" if scaling else ", no autoscaling"
    state = _state(report["ecs_service_exists"], report.get("ecs_service_taken_by"))
    lines.append(f"  ECS service      {s['ecs_service']:<32} desired {s['desired_count']}{scaling_text} ({state})")
    for target in (d for d in report["decisions"] if d["resource"] == "scalable target"):
        after = target["after"]
        registered = {"create": "registered", "change": f"registered again (now {_value(target['before'])})",
                      "keep": "already registered"}[target["action"]]
        lines.append(f"  scalable target  {target['name']:<32} {after['min']}..{after['max']}, policies "
                     f"{_value(after['policies'])} ({registered})")
    lines += ["", "Would change"]
    steps = " -> ".join(f"{t['percent']}%" + (f" for {t['hold_seconds']} s" if t["hold_seconds"] else "") for t in s["traffic_steps"])
    if s.get("bake_seconds"):
        steps += f", then a bake of {s['bake_seconds']} s with the old version warm"
    for route in report["routes"]:
        prepared = [d for d in report["decisions"] if d["resource"] == "preparing rule" and d["name"] == route["route"]]
        if prepared and prepared[0]["action"] == "keep":
            lines.append(f"  preparing rule   {route['route']:<12} already forwards to {route['target_group']} (kept)")
        else:
            lines.append(f"  preparing rule   {route['route']:<12} now {_live(route['preparing_now'])} -> {route['target_group']}")
        lines.append(f"  public rule      {route['route']:<12} now {_live(route['public_now'])} -> {route['target_group']}: {steps}")
        for shift in (d for d in report["decisions"] if d["resource"] == "public rule" and d["name"] == route["route"]):
            weights = ", ".join(f"{name} {weight}" for name, weight in shift["after"].items())
            lines.append(f"  {'':<29} {shift['why']}: {weights}")
    lines += ["", *_diff_text(report.get("diff")), "Would retire"]
    for old in report["retire"] or []:
        scaling = old["autoscaling"]
        scaling_text = f"scalable target {scaling['min']}..{scaling['max']} parked at 0..0 with its scaling suspended (policies and scheduled actions kept for a rollback), " if scaling else ""
        now = f"{scaling_text}desired {old['desired_count']} -> 0" if old["changed"] else "already at zero"
        lines.append(f"  {old['ecs_service']} (v{old['version']}): {now}, " + ("marked obsolete" if old["marked"] else old["mark_found"]))
    if not report["retire"]:
        lines.append("  nothing (no version of this service serves the public rules now)")
    for name in report.get("mark_earlier") or []:
        lines.append(f"  {name}: retired by an earlier release that could not mark it; marked obsolete")
    for entry in (d for d in report["decisions"] if d["resource"] == "release record"):
        rollback = ((entry["after"] or {}).get("previous") or {}).get("version") if entry["action"] != "keep" else None
        lines += ["", "Would record", f"  {entry['name']}: {entry['why']}"
                  + (f"; a rollback brings back {rollback}" if rollback else "")]
    lines += ["", "Would delete"]
    for doomed in report["delete"]:
        lines.append(f"  {doomed['ecs_service']} (v{doomed['version']}, obsolete since {doomed['obsolete_since']}) and its target groups")
    if not report["delete"]:
        lines.append("  nothing (no older retired version beyond the ones to keep)")
    lines += _if_it_fails_text(report.get("if_it_fails") or [])
    approval = s["approval"]
    lines += ["", f"Approval: {approval}" + (" - an operator approves before traffic moves" if approval == "manual" else " - no wait")]
    if s["alarms"]:
        lines.append(f"Alarms watched: {', '.join(s['alarms'])}")
    for check in s.get("checks") or []:
        lines.append(f"Check {check['name']} ({check['kind']}): {' and '.join(check['when'])}")
    return "\n".join(lines)
