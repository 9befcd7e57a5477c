"""AWS resource names of a release: deterministic, valid, and never shared by two versions."""
from __future__ import annotations

import hashlib
import re

TARGET_GROUP_MAX = 32
ECS_SERVICE_MAX = 255
HASH_LENGTH = 7


def _hyphenate(text: str) -> str:
    """Characters ELBv2 and ECS reject (dots, underscores…) become hyphens; runs collapse."""
    return re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9-]", "-", text)).strip("-")


def _shorten(full: str, limit: int, digest_source: str | None = None) -> str:
    """Keep a readable prefix and append a hash of the whole name, so long names stay distinct."""
    digest = hashlib.sha256((digest_source or full).encode()).hexdigest()[:HASH_LENGTH]
    prefix = full[: limit - HASH_LENGTH - 1].rstrip("-")
    return f"{prefix}-{digest}"


def target_group_name(env: str, service: str, version: str, route: str | None = None) -> str:
    """`{env}-{service}-{version}[-{route}]`, at most 32 of [A-Za-z0-9-], no hyphen at either end."""
    parts = [env, service, version] + ([route] if route else [])
    full = _hyphenate("-".join(parts))
    if not full:
        raise ValueError("a target group name needs at least one letter or digit")
    if len(full) <= TARGET_GROUP_MAX:
        return full
    # The hash covers the raw parts, so versions that differ only beyond the cut (or only in a
    # character that became a hyphen) never collide.
    return _shorten(full, TARGET_GROUP_MAX, "\x1f".join(parts))


def service_name(service: str, version: str) -> str:
    """ECS service `{service}-{version}`: letters, digits, hyphens, underscores, at most 255."""
    full = re.sub(r"[^A-Za-z0-9_-]", "-", f"{service}-{version}")
    return full if len(full) <= ECS_SERVICE_MAX else _shorten(full, ECS_SERVICE_MAX)


def lock_key(cluster: str, service: str) -> str:
    return f"lock#{cluster_name(cluster)}#{service}"


def record_key(env: str, service: str) -> str:
    return f"release#{env}#{service}"


def cluster_name(cluster: str) -> str:
    """Accept a cluster name or ARN; ECS names are the part after 'cluster/'."""
    return cluster.rsplit("/", 1)[-1]


def client_token(*parts: str) -> str:
    """ECS CreateService clientToken: at most 36 ASCII characters, the same for the same input."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:36]
