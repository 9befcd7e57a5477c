"""JSON Schema of the deploy config, generated from the model the release itself validates with."""
from __future__ import annotations

import json
import os

from cutover_steps.config import aws_fields, environments
from cutover_steps.config.models import Container, DeployConfig, ServiceSettings, TaskDefinition

from cutover import ROOT

SCHEMA_FILE = os.path.join(ROOT, "docs", "config.schema.json")
SCHEMA_ID = "https://github.com/cutover/cutover/blob/main/docs/config.schema.json"


def config_schema() -> dict:
    schema = DeployConfig.model_json_schema()
    # The file may also carry per-env settings, merged over the rest for each env (cutover_steps.config.environments);
    # the merged result is what the model validates.
    schema["properties"][environments.KEY] = {
        "type": "object", "title": "Environments",
        "description": "Per env: settings deep-merged over the rest of the file for a release to that env "
                       "(mappings merge key by key; lists and values replace)",
        "additionalProperties": {"type": "object"},
    }
    # The ECS request fields a model passes through, from botocore's model of the request, as the config
    # writes them (cutover_steps.config.aws_fields).
    for model in (Container, TaskDefinition, ServiceSettings):
        definition = schema["$defs"][model.__name__]
        definition["properties"].update(aws_fields.extra_properties(model.aws_shape, set(definition["properties"])))
        definition["additionalProperties"] = False
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def text() -> str:
    return json.dumps(config_schema(), indent=2, sort_keys=False) + "\n"
