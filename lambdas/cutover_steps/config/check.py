"""LoadRelease's check of the start input and the deploy config, without pydantic.

cutover_steps.config.schema, generated from the models of cutover_steps.config.models (`make checker`; a test fails
when it is stale, and the asset build refuses a stale one), describes every field, constraint,
default and rule of the models. This module walks it and proves input valid, giving exactly the data
`model_validate(...).model_dump(mode="json")` gives, with the rules of cutover_steps.config.rules run on
the same data. It proves only input written as the config reference writes it (each value of its
own JSON type); anything else (bad input, or a number given as a string, which the models convert)
goes to the models themselves, which decide and word the problems: the two never disagree.
Importing pydantic and building the models would double LoadRelease's cold start
(docs/development.md, "Cold start"); a release with a valid config never does.
"""
from __future__ import annotations

import copy
import math
import re
from typing import Any

from cutover_steps.config import aws_fields, rules as config_rules, schema as config_schema
from cutover_steps.config.rules import MAX_CONFIG_BYTES, format_validation_error

__all__ = ["MAX_CONFIG_BYTES", "Invalid", "by_models", "deploy_config", "format_validation_error", "start_input"]

# Python's `re` and the models' regex engine (Rust's) agree on the config's patterns for printable
# ASCII; other text (a newline before the end, Unicode classes) is left to the models.
_PATTERNS = {pattern: re.compile(pattern) for pattern in config_schema.PATTERNS}
_RULES = {name: getattr(config_rules, name) for name in config_schema.RULES}


class Invalid(ValueError):
    """The models' verdict on input they refused: one line per problem, each naming the field path."""


class _Unproven(Exception):
    """The input is not plainly valid: the models decide."""


def start_input(raw: Any) -> dict[str, Any]:
    """The validated start input (its config included), as StartInput dumps it; Invalid if it is not."""
    return _checked("StartInput", raw)


def deploy_config(data: Any) -> dict[str, Any]:
    """The validated deploy config, as DeployConfig dumps it; Invalid if it is not."""
    return _checked("DeployConfig", data)


def _checked(model: str, data: Any) -> dict[str, Any]:
    try:
        return _valid(config_schema.ROOTS[model], data)
    except _Unproven:
        return by_models(model, data)


def by_models(model: str, data: Any) -> dict[str, Any]:
    """What the models make of `data`: bad input gets their exact wording."""
    from pydantic import ValidationError

    from cutover_steps.config import models as config

    try:
        return getattr(config, model).model_validate(data).model_dump(mode="json")
    except ValidationError as error:
        raise Invalid(format_validation_error(error)) from error


# -- the walk: each kind of the schema, as pydantic-core validates it, for plainly typed input -----

def _valid(schema: dict[str, Any], value: Any) -> Any:
    return _KINDS[schema["type"]](schema, value)


def _model(node: dict[str, Any], value: Any) -> dict[str, Any]:
    schema = config_schema.MODELS[node["name"]]
    if "before" in schema:
        value = _RULES[schema["before"]](value)
    if type(value) is not dict or not all(type(key) is str for key in value):
        raise _Unproven
    out, used = {}, set()
    for key, names, field in schema["fields"]:
        given = [name for name in names if name in value]
        if len(given) > 1:
            raise _Unproven  # the same field twice, by its name and its alias
        if given:
            used.add(given[0])
            out[key] = _valid(field, value[given[0]])
        elif "default" in field:
            out[key] = copy.deepcopy(field["default"])
        else:
            raise _Unproven
    extra = [key for key in value if key not in used]
    if extra and not schema["extra_allowed"]:
        raise _Unproven
    for key in extra:
        out[key] = _plain(value[key])
    return out


def _plain(value: Any) -> Any:
    """A passed-through value, which the models keep as given: JSON's own types only."""
    kind = type(value)
    if kind is dict and all(type(k) is str for k in value):
        return {k: _plain(v) for k, v in value.items()}
    if kind is list:
        return [_plain(v) for v in value]
    if kind in (str, int, bool) or value is None or (kind is float and math.isfinite(value)):
        return value
    raise _Unproven


def _default(schema: dict[str, Any], value: Any) -> Any:
    return _valid(schema["schema"], value)


def _str(schema: dict[str, Any], value: Any) -> str:
    if type(value) is not str:
        raise _Unproven
    _limits(schema, len(value))
    pattern = schema.get("pattern")
    if pattern is not None:
        if not (value.isascii() and value.isprintable()):
            raise _Unproven
        if not _PATTERNS[pattern].search(value):
            raise _Unproven
    return value


def _int(schema: dict[str, Any], value: Any) -> int:
    if type(value) is not int:
        raise _Unproven
    _bounds(schema, value)
    return value


def _float(schema: dict[str, Any], value: Any) -> float:
    if type(value) is int and abs(value) <= 2 ** 53:
        value = float(value)
    if type(value) is not float or not math.isfinite(value):
        raise _Unproven
    _bounds(schema, value)
    return value


def _bool(schema: dict[str, Any], value: Any) -> bool:
    if type(value) is not bool:
        raise _Unproven
    return value


def _literal(schema: dict[str, Any], value: Any) -> Any:
    if type(value) is not str or value not in schema["expected"]:
        raise _Unproven
    return value


def _nullable(schema: dict[str, Any], value: Any) -> Any:
    return None if value is None else _valid(schema["schema"], value)


def _list(schema: dict[str, Any], value: Any) -> list[Any]:
    if type(value) is not list:
        raise _Unproven
    _limits(schema, len(value))
    return [_valid(schema["items_schema"], item) for item in value]


def _dict(schema: dict[str, Any], value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise _Unproven
    _limits(schema, len(value))
    return {_valid(schema["keys_schema"], k): _valid(schema["values_schema"], v) for k, v in value.items()}


def _after(schema: dict[str, Any], value: Any) -> Any:
    out = _valid(schema["schema"], value)
    try:
        _RULES[schema["rule"]](out)
    except ValueError:
        raise _Unproven from None
    return out


def _aws_fields(schema: dict[str, Any], value: Any) -> Any:
    out = _valid(schema["schema"], value)
    extra = {key: v for key, v in out.items() if key not in schema["own"]}
    if extra:
        try:
            aws_fields.check_extra(schema["shape"], extra)
        except ValueError:
            raise _Unproven from None
    return out


def _limits(schema: dict[str, Any], length: int) -> None:
    if length < schema.get("min_length", 0) or length > schema.get("max_length", length):
        raise _Unproven


def _bounds(schema: dict[str, Any], number: float) -> None:
    if (number < schema.get("ge", number) or number > schema.get("le", number)
            or ("gt" in schema and not number > schema["gt"]) or ("lt" in schema and not number < schema["lt"])):
        raise _Unproven


_KINDS = {"model": _model, "default": _default, "str": _str, "int": _int, "float": _float, "bool": _bool,
          "literal": _literal, "nullable": _nullable, "list": _list, "dict": _dict, "after": _after,
          "aws-fields": _aws_fields}
