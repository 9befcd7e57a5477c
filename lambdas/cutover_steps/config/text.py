"""A deploy config as text (YAML or JSON, from a file or S3) read into its settings, with the size limit."""
from __future__ import annotations

from typing import Any

import yaml

from cutover_steps.config.rules import MAX_CONFIG_BYTES
from cutover_steps.errors import InvalidReleaseInput


def parse_config_text(text: str, source: str) -> dict[str, Any]:
    if len(text.encode()) > MAX_CONFIG_BYTES:
        raise InvalidReleaseInput(
            f"config: {source} is {len(text.encode()) // 1024} KiB; at most {MAX_CONFIG_BYTES // 1024} KiB "
            "(keep only the service's settings in it)"
        )
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InvalidReleaseInput(f"config: {source} is neither valid YAML nor JSON: {error}") from error
    if not isinstance(data, dict):
        raise InvalidReleaseInput(f"config: {source} must hold a mapping of settings, not {type(data).__name__}")
    return data
