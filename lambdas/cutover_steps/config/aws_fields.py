"""Any field an AWS request accepts, in the deploy config's snake_case: checked against botocore's own
service model and mapped to the request's member names mechanically, so the list follows AWS.

The deploy config models name the fields Cutover reads itself; every other member of
RegisterTaskDefinition, of its container definitions and of CreateService is accepted through here,
except the ones Cutover owns (`OWNED`), which are refused with the reason.
"""
from __future__ import annotations

import functools
from typing import Any

from botocore import xform_name

TASK_DEFINITION, CONTAINER, SERVICE = "RegisterTaskDefinitionRequest", "ContainerDefinition", "CreateServiceRequest"

# Members of those shapes Cutover sets itself, and why a config may not.
OWNED: dict[str, dict[str, str]] = {
    TASK_DEFINITION: {
        "container_definitions": "give them as task_definition.containers",
        "tags": "Cutover tags each revision with the env, service, version and release it belongs to",
    },
    CONTAINER: {},
    SERVICE: {
        "cluster": "it is the config's top-level cluster",
        "service_name": "Cutover names each version's service {service}-{version}",
        "task_definition": "each release registers its own revision",
        "load_balancers": "Cutover wires the service to each route's target group (routes)",
        "client_token": "Cutover makes one per release so that a re-run creates no second service",
        "tags": "Cutover tags each service with the env, service, version and release it belongs to",
        "propagate_tags": "Cutover propagates the service's tags to its tasks",
        "deployment_controller": "Cutover is the deployment controller: ECS's own (ECS) must stay",
        "scheduling_strategy": "a release needs REPLICA services, with a desired count to wait for",
        "network_configuration": "give it as service_settings.network",
    },
}


@functools.lru_cache(maxsize=1)
def _ecs() -> Any:
    # Loaded only when a config uses a field of its own: the model takes about 0.1 s to read.
    import botocore.session

    return botocore.session.get_session().get_service_model("ecs")


def shape(name: str) -> Any:
    return _ecs().shape_for(name)


def _members(structure: Any) -> dict[str, str]:
    """snake_case name -> member name."""
    return {xform_name(member): member for member in structure.members}


def check_extra(shape_name: str, extra: dict[str, Any], own: Any = ()) -> None:
    """Raise ValueError naming the field (from the model's own level) when AWS or Cutover refuses it;
    for a misspelt key, the closest of the model's `own` keys and the request's."""
    structure = shape(shape_name)
    members = _members(structure)
    for key, value in extra.items():
        if key in OWNED[shape_name]:
            raise ValueError(f"{key}: set by Cutover, not by the config: {OWNED[shape_name][key]}")
        if key not in members:
            import difflib

            close = difflib.get_close_matches(key, [*own, *(m for m in members if m not in OWNED[shape_name])], n=1, cutoff=0.6)
            raise ValueError(f"{key}: unknown key; not a field of ECS {structure.name.removesuffix('Request')} "
                             "either (check its spelling against the config reference and the AWS API reference)"
                             + (f"; did you mean {close[0]}?" if close else ""))
        to_request(structure.members[members[key]], value, key)


def request_fields(shape_name: str, extra: dict[str, Any]) -> dict[str, Any]:
    """The config's own fields as request members (already checked by `check_extra`)."""
    if not extra:
        return {}  # without reading the service model, which the step would otherwise load for nothing
    structure = shape(shape_name)
    members = _members(structure)
    return {members[key]: to_request(structure.members[members[key]], value, key) for key, value in extra.items()}


def to_request(member: Any, value: Any, path: str) -> Any:
    """`value` in the member's request form, snake_case keys mapped; ValueError names what AWS would refuse."""
    kind = member.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise ValueError(f"{path}: must be a mapping of {', '.join(_members(member)) or 'fields'}")
        members = _members(member)
        unknown = [k for k in value if k not in members]
        if unknown:
            raise ValueError(f"{path}.{unknown[0]}: not a field here; one of {', '.join(sorted(members))}")
        converted = {members[k]: to_request(member.members[members[k]], v, f"{path}.{k}") for k, v in value.items()}
        missing = [xform_name(m) for m in member.required_members if m not in converted]
        if missing:
            raise ValueError(f"{path}.{missing[0]}: required")
        return converted
    if kind == "list":
        if not isinstance(value, list):
            raise ValueError(f"{path}: must be a list")
        return [to_request(member.member, v, f"{path}.{i}") for i, v in enumerate(value)]
    if kind == "map":
        if not isinstance(value, dict):
            raise ValueError(f"{path}: must be a mapping")
        return {k: to_request(member.value, v, f"{path}.{k}") for k, v in value.items()}
    if kind == "string":
        if not isinstance(value, str):
            raise ValueError(f"{path}: must be a string")
        if member.enum and value not in member.enum:
            raise ValueError(f"{path}: {value!r} is not one of {', '.join(member.enum)}")
        return value
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{path}: must be a whole number")
        return value
    if kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{path}: must be a number")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"{path}: must be true or false")
        return value
    return value


def json_schema(member: Any, depth: int = 0) -> dict[str, Any]:
    """A JSON Schema of the member as the config writes it (snake_case)."""
    kind = member.type_name
    if kind == "structure" and depth < 12:
        return {"type": "object", "additionalProperties": False,
                "properties": {xform_name(m): json_schema(s, depth + 1) for m, s in member.members.items()},
                **({"required": [xform_name(m) for m in member.required_members]} if member.required_members else {})}
    if kind == "list":
        return {"type": "array", "items": json_schema(member.member, depth + 1)}
    if kind == "map":
        return {"type": "object", "additionalProperties": json_schema(member.value, depth + 1)}
    if kind == "string":
        return {"type": "string", **({"enum": list(member.enum)} if member.enum else {})}
    return {"integer": {"type": "integer"}, "long": {"type": "integer"}, "boolean": {"type": "boolean"},
            "double": {"type": "number"}, "float": {"type": "number"}}.get(kind, {})


def extra_properties(shape_name: str, known: set[str]) -> dict[str, dict[str, Any]]:
    """Schemas of the members a config may add to a model (not its own fields, not Cutover's)."""
    structure = shape(shape_name)
    return {snake: {**json_schema(structure.members[member]),
                    "description": f"ECS {structure.name.removesuffix('Request')}.{member}, passed through"}
            for snake, member in sorted(_members(structure).items())
            if snake not in known and snake not in OWNED[shape_name]}
