"""`cutover adopt`: make a running service that Cutover did not create the version its next release retires.

An operator runs it once, from the command line, before the first release over a service that
another tool made. It reads the live world and checks all of it first (the public rules forward to
target groups the named service is registered with, the service is ACTIVE, nothing of Cutover's
owns any of it, the version label is valid and free, no release is running); only then does it tag
the service and those target groups with Cutover's ownership tags and write the release record's
`current`. The next release then retires it like any old version, and `cutover rollback` can bring
it back. A dry run stops after the checks; a second run finds everything done and changes nothing.
"""
from __future__ import annotations

import json
import pathlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from cutover_steps.plan import naming
from cutover_steps.decisions import descriptions, ownership
from cutover_steps.adapters.executions import owner_running
from cutover_steps.adapters import ecs, elbv2, records
from cutover_steps.config.models import ENV_PATTERN, VERSION_PATTERN, DeployConfig
from cutover_steps.errors import InvalidReleaseInput
from cutover_steps.plan.models import TAG_PREFIX, Plan, build_plan
from cutover_steps.config.references import check_references

from cutover.aws.connection import Connection
from cutover.exits import UsageError

# The `cutover:release` tag of an adopted resource. No release has this id, so no release's undo
# ever deletes what was adopted (an undo deletes only what its own release created).
ADOPTED = "adopted"
# ECS and Elastic Load Balancing allow 50 tags per resource; `aws:` tags do not count.
MAX_TAGS = 50


class AdoptionRefused(UsageError):
    """The world is not as adoption needs it; the message names the field and the fix. Nothing changed."""


@dataclass(frozen=True)
class NameScope:
    """The names the stack lets the release functions change (its settings `service_name_prefix` and
    `target_group_name_prefix`), and where they were read from."""
    service_name_prefix: str = ""
    target_group_name_prefix: str = ""
    source: str = "the stack's settings"


def _within_scope(scope: NameScope, ecs_service: str, groups: dict[str, dict[str, Any]]) -> None:
    """The first release retires the adopted service and a rollback brings it and its target groups back:
    the release functions may do that only to names within the stack's prefixes (AccessDenied, after
    traffic moved, otherwise)."""
    outside = [f"ECS service {ecs_service!r} does not start with service_name_prefix {scope.service_name_prefix!r} "
               "(context cutover:serviceNamePrefix)"] if not ecs_service.startswith(scope.service_name_prefix) else []
    outside += [f"target group {g['TargetGroupName']!r} (route {route}) does not start with target_group_name_prefix "
                f"{scope.target_group_name_prefix!r} (context cutover:targetGroupNamePrefix)"
                for route, g in groups.items() if not g["TargetGroupName"].startswith(scope.target_group_name_prefix)]
    if outside:
        raise AdoptionRefused(
            f"--ecs-service: the release functions may change only the names {scope.source} allow, and "
            + "; ".join(outside) + ". Its first release, and its rollback, would be refused (AccessDenied) after "
            "traffic moved. Widen the prefixes in the stack's settings to cover these names (a shorter prefix, or '' "
            "for any name) and deploy the stack again, then adopt; nothing was changed")


@dataclass
class Tagging:
    kind: str  # "target group" or "ECS service"
    name: str
    arn: str
    tags: dict[str, str]
    missing: dict[str, str]
    route: str | None = None

    def report(self, applied: bool) -> dict[str, Any]:
        return {"resource": self.kind, "name": self.name, "arn": self.arn, "route": self.route, "tags": self.tags,
                "changed": "tagged" if applied and self.missing else None,
                "found": None if self.missing else "already tagged"}


@dataclass
class Adoption:
    """What adoption found and what it would change: the same for a dry run and for the real one."""

    plan: Plan
    taggings: list[Tagging]
    current: dict[str, Any]
    recorded: bool

    @property
    def done(self) -> bool:
        return self.recorded and not any(t.missing for t in self.taggings)

    def report(self, *, dry_run: bool, applied: bool = False) -> dict[str, Any]:
        return {
            "env": self.plan.env, "service": self.plan.service, "version": self.plan.version,
            "cluster": self.plan.cluster, "ecs_service": self.plan.ecs_service,
            "dry_run": dry_run, "already_adopted": self.done,
            "tag": [t.report(applied) for t in self.taggings],
            "record": {"key": self.plan.record_key, "current": self.current,
                       "changed": "written" if applied and not self.recorded else None,
                       "found": "already records this adoption" if self.recorded else None},
        }


def check_names(env: str, version: str) -> None:
    if not re.fullmatch(ENV_PATTERN, env):
        raise AdoptionRefused(f"--env {env!r}: an environment is 1 to 20 lowercase letters, digits or '-', as in `cutover start --env`")
    if not re.fullmatch(VERSION_PATTERN, version):
        raise AdoptionRefused(
            f"--version {version!r}: a version label is 1 to 64 letters, digits, '.', '_' or '-', starting and "
            "ending with a letter or digit (for example: pre-cutover)")


def decide(config: DeployConfig, env: str, ecs_service: str, version: str, adopted_by: str | None,
           scope: NameScope | None = None) -> Adoption:
    """Read the world, check every rule, and say what adoption would tag and record. Changes nothing.
    (`scope`: the stack's name prefixes; None: the names are not checked.)"""
    check_names(env, version)
    try:
        check_references(config)
    except InvalidReleaseInput as error:
        raise AdoptionRefused(f"config: {error}") from error
    service = _adoptable_service(config, ecs_service)
    groups = {route.name: _serving_group(config, index, route, service) for index, route in enumerate(config.routes)}
    if scope is not None:
        _within_scope(scope, ecs_service, groups)
    plan = build_plan(action="release", env=env, version=version, image=None, environment={}, config=config,
                      release_id=ADOPTED, names={"ecs_service": ecs_service,
                                                 "target_groups": {r: g["TargetGroupName"] for r, g in groups.items()}})
    group_tags = elbv2.tags_of(g["TargetGroupArn"] for g in groups.values())
    taggings = [
        _tagging(plan, "target group", g["TargetGroupName"], g["TargetGroupArn"], group_tags.get(g["TargetGroupArn"], {}),
                 plan.tags(route=route, **{"ecs-service": ecs_service}), route)
        for route, g in groups.items()
    ]
    taggings.append(_tagging(plan, "ECS service", ecs_service, service["serviceArn"], descriptions.tags_of(service), plan.tags()))
    current, recorded = _record(plan, adopted_by)
    if not recorded:
        _label_free(plan, service, [g["TargetGroupArn"] for g in groups.values()])
        _no_release_running(plan)
    return Adoption(plan, taggings, current, recorded)


def apply(adoption: Adoption) -> None:
    """Tags first, the record last: a run cut short is finished by the next run, which finds the tags."""
    for tagging in adoption.taggings:
        if not tagging.missing:
            continue
        if tagging.kind == "ECS service":
            ecs.tag(tagging.arn, tagging.missing)
        else:
            elbv2.add_tags(tagging.arn, tagging.missing)
    if not adoption.recorded:
        # The version's own item holds its config (cutover_steps.decisions.record): written before the record names it.
        records.update(naming.version_key(adoption.plan.env, adoption.plan.service, adoption.plan.version),
                       {"version": adoption.plan.version, "config": adoption.plan.config.model_dump(mode="json")})
    if not adoption.recorded and not records.update(adoption.plan.record_key, {"cluster": adoption.plan.cluster,
                                                                                "current": adoption.current},
                                                     unless_set="current"):
        raise AdoptionRefused(
            f"the release record of {adoption.plan.service} in env {adoption.plan.env} was written by a release "
            "while adopting; the tags are set, the record was left as the release wrote it. Run adopt again to see where it stands")


def _adoptable_service(config: DeployConfig, name: str) -> dict[str, Any]:
    cluster = naming.cluster_name(config.cluster)
    service = ecs.service(cluster, name)
    if service is None:
        raise AdoptionRefused(f"--ecs-service: no service {name!r} in cluster {cluster} (the config's cluster); "
                              "give the name of the service that serves today, or fix the config's cluster")
    if service["status"] != "ACTIVE":
        raise AdoptionRefused(f"--ecs-service: {name} is {service['status']}, being deleted; only an ACTIVE service can be adopted")
    if service["serviceArn"].split(":", 5)[-1].count("/") < 2:
        raise AdoptionRefused(
            f"--ecs-service: {name} has a short ARN ({service['serviceArn']}), which ECS does not let anyone tag; "
            "migrate it to the long ARN format (Amazon ECS developer guide: service ARN migration), then adopt it")
    if not service.get("desiredCount"):
        raise AdoptionRefused(f"--ecs-service: {name} has desired count 0, so it serves nothing to retire or bring "
                              "back; adopt the service that serves the public rules")
    return service


def _serving_group(config: DeployConfig, index: int, route: Any, service: dict[str, Any]) -> dict[str, Any]:
    """The one target group the route's public rule forwards to; the service must be registered with it."""
    field_name = f"routes.{index}.public_rule_arn"
    forward = {arn: weight for arn, weight in descriptions.forward_of(elbv2.rule(route.public_rule_arn, field_name)).items() if weight}
    registered = descriptions.target_group_arns(service)
    if len(forward) != 1:
        what = "does not forward to any target group" if not forward else f"forwards to {len(forward)} target groups"
        raise AdoptionRefused(
            f"{field_name}: the rule {what}; adoption needs the one that forwards all of route {route.name}'s traffic "
            f"to a target group of {service['serviceName']}")
    (arn,) = forward
    if arn not in registered:
        raise AdoptionRefused(
            f"{field_name}: the rule forwards to {elbv2.name_of(arn)}, which ECS service {service['serviceName']} is not "
            f"registered with (it is with {', '.join(map(elbv2.name_of, registered)) or 'no target group'}); point the "
            "config at the rule that serves this service, or name the service behind that rule")
    return elbv2.target_groups([arn])[0]


def _tagging(plan: Plan, kind: str, name: str, arn: str, tags: dict[str, str], wanted: dict[str, str],
             route: str | None = None) -> Tagging:
    ours = {k: v for k, v in tags.items() if k.startswith(TAG_PREFIX)}
    if any(wanted.get(k) != v for k, v in ours.items()):
        raise AdoptionRefused(
            f"{kind} {name} already belongs to {ownership.describe(tags)}: Cutover manages it, so there is nothing "
            "to adopt (a release retires it, `cutover rollback` brings it back)")
    missing = {k: v for k, v in wanted.items() if k not in ours}
    counted = [k for k in tags if not k.startswith("aws:")]
    if len(counted) + len(missing) > MAX_TAGS:
        raise AdoptionRefused(f"{kind} {name} has {len(counted)} tags; Cutover's {len(missing)} would pass AWS's "
                              f"limit of {MAX_TAGS}: remove some, then adopt")
    return Tagging(kind, name, arn, wanted, missing, route)


def _record(plan: Plan, adopted_by: str | None) -> tuple[dict[str, Any], bool]:
    """The record's `current` to write, and whether it is written already."""
    current = (records.get(plan.record_key) or {}).get("current")
    if current:
        if (current.get("release"), current.get("version"), current.get("ecs_service")) == (ADOPTED, plan.version, plan.ecs_service):
            return current, True
        how = "adopted" if current.get("release") == ADOPTED else "released by Cutover"
        raise AdoptionRefused(
            f"--env {plan.env}: the release record says {plan.service} version {current.get('version')} (ECS service "
            f"{current.get('ecs_service')}) serves, {how}; adoption is only for a service Cutover has never released. "
            "Release the next version with `cutover start`")
    return {
        "version": plan.version, "ecs_service": plan.ecs_service, "release": ADOPTED,
        "target_groups": {r.route.name: r.target_group_name for r in plan.routes},
        "at": datetime.now(timezone.utc).isoformat(), "adopted_by": adopted_by,
    }, False


def _label_free(plan: Plan, service: dict[str, Any], adopted_groups: list[str]) -> None:
    """A later release of the same label would use Cutover's own names for it: they must be free too."""
    cutover_names = build_plan(action="release", env=plan.env, version=plan.version, image=None, environment={},
                               config=plan.config, release_id=ADOPTED)
    for route in cutover_names.routes:
        group = elbv2.target_group_by_name(route.target_group_name)
        if group and group["TargetGroupArn"] not in adopted_groups:
            raise AdoptionRefused(f"--version {plan.version}: target group {route.target_group_name} exists already; "
                                  "choose a label no version of this service has had (for example: pre-cutover)")
    other = ecs.service(plan.cluster, cutover_names.ecs_service)
    if other and other["serviceArn"] != service["serviceArn"]:
        raise AdoptionRefused(f"--version {plan.version}: ECS service {cutover_names.ecs_service} exists already; "
                              "choose a label no version of this service has had (for example: pre-cutover)")
    previous = (records.get(plan.record_key) or {}).get("previous") or {}
    if previous.get("version") == plan.version:
        raise AdoptionRefused(f"--version {plan.version}: the release record keeps a retired version of that label; choose another")


def _no_release_running(plan: Plan) -> None:
    holder = (records.get(plan.lock_key) or {}).get("held_by")
    if holder and owner_running(holder):
        raise AdoptionRefused(f"{plan.service} in cluster {plan.cluster} is being released by {holder}; "
                              "adopt after that release ends")


def text(report: dict[str, Any]) -> str:
    """For people: what was (or would be) tagged and recorded, and what happens next."""
    r = report
    if r["already_adopted"]:
        head = f"{r['ecs_service']} is already adopted as {r['service']} version {r['version']} in env {r['env']}; nothing changed."
    elif r["dry_run"]:
        head = f"Dry run: adopting {r['ecs_service']} as {r['service']} version {r['version']} in env {r['env']} would do this. Nothing was changed."
    else:
        head = f"Adopted {r['ecs_service']} as {r['service']} version {r['version']} in env {r['env']}."
    lines = [head, ""]
    verb = "Tagged" if not r["dry_run"] else "Would tag"
    lines.append(verb if not r["already_adopted"] else "Tags")
    for t in r["tag"]:
        where = f" (route {t['route']})" if t["route"] else ""
        state = "already tagged" if t["found"] else ("tagged" if t["changed"] else "to tag")
        tags = ", ".join(f"{k}={v}" for k, v in t["tags"].items())
        lines.append(f"  {t['resource']:<13} {t['name']}{where}: {tags} ({state})")
    record = r["record"]
    lines += ["", f"{'Would record' if r['dry_run'] else 'Record'} {record['key']}: current = version {record['current']['version']}, "
              f"ECS service {record['current']['ecs_service']}"
              + (" (already recorded)" if record["found"] else " (written)" if record["changed"] else "")]
    lines += ["", f"Next: `cutover start --env {r['env']} …` releases a new version; it retires {r['ecs_service']} "
              "(autoscaling recorded and parked, desired count 0) and `cutover rollback` can bring it back."]
    return "\n".join(lines)


def name_scope(connection: Connection, settings: str | None) -> NameScope | None:
    """The stack's name prefixes: --settings (the stack's CDK context: cdk.json or its `context`), else the
    stack's NameScope output, else, against a local endpoint, the local engine's own settings."""
    keys = {"service_name_prefix": "cutover:serviceNamePrefix", "target_group_name_prefix": "cutover:targetGroupNamePrefix"}
    if settings:
        try:
            data = json.loads(pathlib.Path(settings).read_text())
        except (OSError, ValueError) as error:
            raise UsageError(f"--settings {settings}: not a readable JSON file ({error})") from error
        context = data.get("context", data) if isinstance(data, dict) else {}
        return NameScope(**{name: str(context.get(key) or "") for name, key in keys.items()},
                         source=f"the stack settings in {settings}")
    found = connection.name_scope()
    if found is not None:
        return NameScope(**{name: str(found.get(name) or "") for name in keys},
                         source=f"stack {connection.stack_name}'s settings")
    if connection.endpoint_url:
        try:
            from cutover.local.iam.policies import local_settings
        except ImportError:  # an install without the local engine, against some other endpoint
            return None
        local = local_settings()
        return NameScope(**{name: local[name] for name in keys}, source="the local engine's stack settings")
    return None
