"""Load and validate: parse the start input and deploy config, check what they name exists, plan.

Every bad input stops here, before the release changes anything in AWS. The input is checked by
cutover_steps.config.check, the models' rules without pydantic, and read through cutover_steps.plan.view.
"""
from __future__ import annotations

import json
from typing import Any

from cutover_steps.config import check as config_check, rules as config_rules, environments, service_roles
from cutover_steps.plan import naming
from cutover_steps.decisions import descriptions, ownership, record as record_decision
from cutover_steps.adapters import ecs, objects, records
from cutover_steps.config.check import MAX_CONFIG_BYTES
from cutover_steps.config.text import parse_config_text
from cutover_steps.errors import InvalidReleaseInput, NothingToRollBack
from cutover_steps.reads import target_groups
from cutover_steps.plan.view import DeployConfigView, StartInputView, plan_data, read_plan, release_id_of, summary
from cutover_steps.config.references import check_references
from cutover_steps.results import Planned
from cutover_steps.runtime.step import StepEvent, lambda_step

# A service name deleted shortly before is DRAINING and cannot be created again; wait this long
# for it (well within the function's timeout) before telling the caller to come back later.
DRAIN_WAIT_SECONDS = 30


def _read_s3(uri: str) -> str:
    body = objects.read(uri)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidReleaseInput(f"config_uri: {uri} is not UTF-8 text") from error


def parse_start_input(raw: Any) -> StartInputView:
    if not isinstance(raw, dict):
        raise InvalidReleaseInput("input: the start input must be a JSON object")
    inline = raw.get("config")
    if isinstance(inline, dict) and len(json.dumps(inline).encode()) > MAX_CONFIG_BYTES:
        parse_config_text(json.dumps(inline), "the inline config")
    if isinstance(inline, dict) and environments.KEY in inline and isinstance(raw.get("env"), str):
        raw = {**raw, "config": environments.for_env(inline, raw["env"])}
    if isinstance(raw.get("config"), dict):
        environments.refuse_unresolved(raw["config"])
    try:
        return StartInputView(config_check.start_input(raw))
    except config_check.Invalid as error:
        raise InvalidReleaseInput(str(error)) from error


def _under_config(error: config_check.Invalid) -> str:
    """The problems of a deploy config, each field path named from the start input's `config`."""
    return "config." + str(error).replace("; ", "; config.")


def load_config(start: StartInputView) -> DeployConfigView:
    if start.config is not None:
        return start.config
    data = environments.for_env(parse_config_text(_read_s3(start.config_uri), start.config_uri), start.env)
    environments.refuse_unresolved(data)
    try:
        return DeployConfigView(config_check.deploy_config(data))
    except config_check.Invalid as error:
        raise InvalidReleaseInput(_under_config(error)) from error


def rollback_target(start: StartInputView) -> tuple[DeployConfigView, str, dict[str, Any], dict[str, Any]]:
    """The config, version, resource names and capacity to bring back: the version given (`--to`), one
    the release record keeps, or else the one the last release retired. The names are the ones the
    version has (an adopted version's are not Cutover's own)."""
    record = records.get(naming.record_key(start.env, start.service))
    target = record_decision.rollback_target(record, start.env, start.service, start.version)
    names = {"ecs_service": target.get("ecs_service"), "target_groups": target.get("target_groups")}
    # Its config and autoscaling are in its own item (a record of an older Cutover holds them inline).
    item = records.get(naming.version_key(start.env, start.service, target["version"])) or {}
    target = {**item, **target}
    restore = {"desired_count": target.get("desired_count"), "autoscaling": target.get("autoscaling")}
    if not target.get("config"):
        raise NothingToRollBack(f"version: no config is kept for version {target['version']!r} of {start.service!r} "
                                f"in env {start.env!r}; release that version again instead of rolling back")
    try:
        config = DeployConfigView(config_check.deploy_config(target["config"]))
    except config_check.Invalid as error:
        # Kept by an older Cutover whose rules were looser: bad input, not a crash to retry.
        raise InvalidReleaseInput(
            f"version: the config kept for version {target['version']!r} does not pass today's rules "
            f"({_under_config(error)}); release that version again instead of rolling back"
        ) from error
    return config, target["version"], names, restore


@lambda_step
def handler(event: StepEvent) -> Planned:
    start = parse_start_input(event.raw.get("input"))
    names = restore = None
    if start.action == "rollback":
        config, version, names, restore = rollback_target(start)
        image = None
    else:
        config, version, image = load_config(start), start.version, start.image
        if start.config_uri is not None:
            # An inline config's deploy-time variables were checked with the start input; one read from S3 only now.
            try:
                config_rules.refuse_deploy_time_secrets(dict(start.environment), config.model_dump(mode="json"))
            except ValueError as error:
                raise InvalidReleaseInput(str(error)) from error
    try:
        data = plan_data(
            action=start.action, env=start.env, version=version, image=image,
            environment=dict(start.environment), config=config, release_id=release_id_of(event.raw.get("input")),
            names=names, restore=restore, require_approval=bool(start.require_approval),
        )
    except ValueError as error:
        raise InvalidReleaseInput(f"routes: {error}") from error
    plan = read_plan(data)
    check_references(config)
    # Before anything changes: a role the stack may not hand to ECS would fail CreateService much later.
    service_roles.refuse_unlisted(plan.config.service_settings.request_fields())
    if plan.action == "release":
        # Before the lock: a name someone else holds is bad input, not a failure to undo.
        # One read of the new version's service serves both checks.
        service = ecs.service(plan.cluster, plan.ecs_service)
        taken = ownership.taken_names(plan, target_groups.tags_by_name(plan), service)
        if taken:
            raise InvalidReleaseInput("; ".join(taken) + " (give another version, or remove or rename that resource)")
        if service and service.get("status") == "DRAINING" and not ecs.wait_while_draining(plan.cluster, plan.ecs_service, DRAIN_WAIT_SECONDS):
            raise InvalidReleaseInput(f"version: {descriptions.draining_message(plan.ecs_service)}")
    return Planned(plan=data, summary=summary(plan))
