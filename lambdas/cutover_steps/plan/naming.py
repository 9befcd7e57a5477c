"""AWS resource names of a release: deterministic, valid, and one-to-one.

A name is readable (`{env}-{service}-{version}`) only when it can be read back exactly: every part
is letters and digits, so the hyphens between them are the separators and nothing was replaced.
Anything else — a dot, a hyphen or an underscore inside a part, or a name over the limit — ends in
a short hash of the exact parts. So two different (env, service, version) do not share a name (short
of a hash collision, which the release's ownership check before the lock still catches), and the
same input always gives the same one. ELBv2 refuses double hyphens, so the hash has a single one.
"""
from __future__ import annotations

import hashlib
import json
import re

TARGET_GROUP_MAX = 32
ECS_SERVICE_MAX = 255
HASH_LENGTH = 8
_TARGET_GROUP_PART = re.compile(r"[A-Za-z0-9]+")
_ECS_SERVICE_PART = re.compile(r"[A-Za-z0-9_]+")
_ECS_SERVICE_CHARACTERS = "A-Za-z0-9_-"


def _hyphenate(text: str, allowed: str) -> str:
    """Characters the name may not hold become hyphens; runs collapse; none at either end."""
    return re.sub(r"-{2,}", "-", re.sub(f"[^{allowed}]", "-", text)).strip("-")


def digest(parts: list[str]) -> str:
    """A short hash of the exact parts (JSON keeps their boundaries, so ('a-b','c') != ('a','b-c'))."""
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:HASH_LENGTH]


def _name(parts: list[str], limit: int, part_pattern: re.Pattern[str], allowed: str) -> str:
    readable = "-".join(parts)
    if all(part_pattern.fullmatch(p) for p in parts) and len(readable) <= limit:
        return readable
    prefix = _hyphenate(readable, allowed)[: limit - HASH_LENGTH - 1].rstrip("-")
    if not prefix:
        raise ValueError(f"a name needs at least one letter or digit: {parts}")
    return f"{prefix}-{digest(parts)}"


def target_group_name(env: str, service: str, version: str, route: str | None = None) -> str:
    """At most 32 of [A-Za-z0-9-], no hyphen at either end; one route's group when several."""
    parts = [env, service, version] + ([route] if route else [])
    return _name(parts, TARGET_GROUP_MAX, _TARGET_GROUP_PART, "A-Za-z0-9-")


def service_name(service: str, version: str) -> str:
    """ECS service: letters, digits, hyphens, underscores, at most 255."""
    return _name([service, version], ECS_SERVICE_MAX, _ECS_SERVICE_PART, _ECS_SERVICE_CHARACTERS)


def service_name_prefix(service: str) -> str:
    """What the ECS service names of every version of `service` start with, readable or hashed."""
    return _hyphenate(service, _ECS_SERVICE_CHARACTERS) + "-"


def lock_key(cluster: str, service: str) -> str:
    return f"lock#{cluster_name(cluster)}#{service}"


def record_key(env: str, service: str) -> str:
    return f"release#{env}#{service}"


def version_key(env: str, service: str, version: str) -> str:
    """The item of one version of a service: its deploy config and the autoscaling its retirement kept
    (the release record names versions only, so that it stays small however many it keeps)."""
    return f"version#{env}#{service}#{version}"


def cluster_name(cluster: str) -> str:
    """Accept a cluster name or ARN; ECS names are the part after 'cluster/'."""
    return cluster.rsplit("/", 1)[-1]


def client_token(*parts: str) -> str:
    """ECS CreateService clientToken: at most 36 ASCII characters, the same for the same input."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:36]


def target_group_name_of(target_group_arn: str) -> str:
    """A target group's name, from its ARN (…:targetgroup/NAME/ID)."""
    return target_group_arn.split(":targetgroup/", 1)[-1].split("/")[0]
