"""Roles a service's config hands to ECS through CreateService, and the refusal of one the stack may not pass,
before anything changes (on AWS CreateService would fail for want of iam:PassRole, after the target groups,
rules and task definition were made)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from cutover_steps.errors import PermissionDenied

# The roles the stack lets CreateService pass to ECS (its infrastructure_role_arns setting), comma-separated;
# unset where the stack does not say (the check is then AWS's own, at CreateService).
ALLOWED_VARIABLE = "CUTOVER_INFRASTRUCTURE_ROLES"


def handed_to_ecs(request: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(config field, role) for every role a CreateService or UpdateService request hands to ECS: `role`,
    `volumeConfigurations[].managedEBSVolume.roleArn`, `vpcLatticeConfigurations[].roleArn` (ECS API reference)."""
    found = [("role", request["role"])] if request.get("role") else []
    for i, volume in enumerate(request.get("volumeConfigurations") or ()):
        arn = (volume.get("managedEBSVolume") or {}).get("roleArn")
        if arn:
            found.append((f"volume_configurations.{i}.managed_ebs_volume.role_arn", arn))
    for i, lattice in enumerate(request.get("vpcLatticeConfigurations") or ()):
        if lattice.get("roleArn"):
            found.append((f"vpc_lattice_configurations.{i}.role_arn", lattice["roleArn"]))
    return found


def _listed(role: str, allowed: list[str]) -> bool:
    # `role` may be a name (CreateService takes one for a role at the root path) or an ARN.
    return any(role == arn or (not role.startswith("arn:") and arn.endswith(f":role/{role}")) for arn in allowed)


def refuse_unlisted(request_fields: Mapping[str, Any]) -> None:
    """Raise PermissionDenied naming the field and the setting when the config hands ECS a role the stack may not pass."""
    given = os.environ.get(ALLOWED_VARIABLE)
    if given is None:
        return
    allowed = [arn for arn in given.split(",") if arn]
    for field, role in handed_to_ecs(request_fields):
        if not _listed(role, allowed):
            raise PermissionDenied(
                f"service_settings.{field}: {role} is handed to ECS by CreateService, which needs iam:PassRole on it, "
                "and the stack does not allow that role; add it to the stack setting infrastructure_role_arns "
                "(cutover:infrastructureRoleArns) and deploy the stack again"
                + (f" (it allows {', '.join(allowed)})" if allowed else " (it lists none)"))
