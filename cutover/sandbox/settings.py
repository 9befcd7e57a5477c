"""`cutover sandbox up --settings FILE`: the stack settings a rehearsal's IAM is synthesized with, read from the
same context keys the stack takes (cdk.json, or a file of `cutover:…` keys), and the scope they give, in words."""
from __future__ import annotations

import json
import re
from dataclasses import fields
from typing import Any

from cutover.exits import UsageError
from cutover.local import node_banner

# ARNs name the user's account and region; in the sandbox the same names live in the emulated ones.
_ARN = re.compile(r"^arn:(?P<partition>[^:]+):(?P<service>[^:]+):(?P<region>[^:]*):(?P<account>[^:]*):(?P<rest>.+)$")
# What the sandbox runs, whatever the file says: its own state machine, no mail, no VPC for checks.
_IGNORED = ("state_machine_name", "notification_emails", "check_subnet_ids", "check_security_group_ids",
            "trace_aws_calls")


def _in_sandbox(arn: str, region: str, account: str) -> str:
    found = _ARN.match(arn)
    if not found:
        return arn
    return (f"arn:{found['partition']}:{found['service']}:{region if found['region'] else ''}:"
            f"{account if found['account'] else ''}:{found['rest']}")


def read(path: str, *, region: str, account: str) -> dict[str, Any]:
    """ReleaseOrchestratorProps fields from FILE, every ARN moved into the sandbox's account and region.

    UsageError names the file and the key when the file is not JSON, names a `cutover:` key the stack does not
    take, or holds a value the stack would refuse.
    """
    node_banner.quiet()
    try:
        from cutover.cdk.settings import CONTEXT_KEYS, ReleaseOrchestratorProps
    except ImportError as error:
        raise UsageError(f"--settings needs the CDK construct: install cutover[cdk] ({error})") from error

    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as error:
        raise UsageError(f"--settings {path}: {error.strerror or error}") from error
    except ValueError as error:
        raise UsageError(f"--settings {path}: not JSON ({error}); give cdk.json or a JSON object of cutover:… keys") from error
    context = data.get("context", data) if isinstance(data, dict) else None
    if not isinstance(context, dict):
        raise UsageError(f"--settings {path}: expected a JSON object of cutover:… keys (or cdk.json with its context)")
    known = set(CONTEXT_KEYS.values()) | {"cutover:stackName"}
    unknown = sorted(k for k in context if k.startswith("cutover:") and k not in known)
    if unknown:
        raise UsageError(f"--settings {path}: {', '.join(unknown)}: not a setting of the stack; the settings are "
                         f"{', '.join(sorted(CONTEXT_KEYS.values()))}")
    try:
        props = ReleaseOrchestratorProps.from_settings(context)
    except ValueError as error:
        raise UsageError(f"--settings {path}: {error}") from error
    settings = {}
    for field in fields(props):
        value = getattr(props, field.name)
        if field.name in _IGNORED or field.name not in CONTEXT_KEYS:
            continue
        if isinstance(value, tuple):
            value = tuple(_in_sandbox(v, region, account) for v in value)
        settings[field.name] = value
    return settings


def scope(settings: dict[str, Any]) -> list[str]:
    """What the steps may touch under `settings`, one line each, as the banner shows it."""
    def listed(name: str, anything: str) -> str:
        return ", ".join(settings.get(name) or ()) or anything

    clusters = listed("cluster_names", "any cluster")
    rules = ", ".join((*settings.get("listener_rule_arns", ()), *settings.get("listener_arns", ()))) or "any ALB rule"
    return [
        f"services       named '{settings.get('service_name_prefix', '')}*' in {clusters}",
        f"target groups  named '{settings.get('target_group_name_prefix', '')}*'",
        f"task families  {listed('task_definition_families', 'any')}; task roles {listed('task_role_arns', 'any')}",
        f"listener rules {rules}",
        f"config buckets {listed('config_bucket_names', 'any of the account')}"
        + (f"; keys {listed('config_key_arns', '')}" if settings.get("config_key_arns") else ""),
        f"check functions {listed('check_function_arns', 'none')}; roles for ECS {listed('infrastructure_role_arns', 'none')}",
    ]
