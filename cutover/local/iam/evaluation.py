"""IAM policy evaluation for one request: explicit Deny wins, then any Allow, else an implicit deny.

Follows the IAM User Guide, "Policy evaluation logic" (identity-based policies of one role, no
boundaries or SCPs) and "IAM JSON policy elements: Condition operators" for the operators below.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class Request:
    """One authorization AWS makes: an action on a resource, with the request's condition keys."""

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)
    why: str = ""
    """Why AWS checks this beyond the call itself (empty for the call's own action)."""
    refused_as: str = ""
    """The error code AWS gives when this check fails, if not the called service's access-denied code."""


@lru_cache(maxsize=4096)
def _pattern(text: str, case_sensitive: bool) -> re.Pattern[str]:
    # IAM wildcards: `*` any run of characters (`/` and `:` included), `?` one character; nothing
    # else is special (unlike fnmatch, `[` is a plain character).
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(rf"\A{regex}\Z", re.DOTALL | (0 if case_sensitive else re.IGNORECASE))


def matches(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    return bool(_pattern(pattern, case_sensitive).match(value))


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _arn_like(pattern: str, value: str) -> bool:
    # ArnLike compares the six colon-separated parts one by one (wildcards stay within a part,
    # except the resource part, which takes the rest).
    wanted, given = pattern.split(":", 5), value.split(":", 5)
    return len(wanted) == len(given) == 6 and all(matches(w, g) for w, g in zip(wanted, given))


_OPERATORS = {
    "StringEquals": lambda wanted, given: wanted == given,
    "StringNotEquals": lambda wanted, given: wanted != given,
    "StringEqualsIgnoreCase": lambda wanted, given: wanted.lower() == given.lower(),
    "StringLike": lambda wanted, given: matches(wanted, given),
    "StringNotLike": lambda wanted, given: not matches(wanted, given),
    "ArnEquals": lambda wanted, given: wanted == given,
    "ArnLike": _arn_like,
    "ArnNotLike": lambda wanted, given: not _arn_like(wanted, given),
    "Bool": lambda wanted, given: str(wanted).lower() == str(given).lower(),
}
_NEGATED = {"StringNotEquals", "StringNotLike", "ArnNotLike"}


def _condition_holds(operator: str, key: str, wanted: Sequence[str], context: Mapping[str, str]) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    if base not in _OPERATORS:
        raise ValueError(f"condition operator {operator} is not evaluated by the local engine; add it to "
                         f"{__name__}._OPERATORS (IAM User Guide, condition operators)")
    # Condition keys are case-insensitive.
    given = next((v for k, v in context.items() if k.lower() == key.lower()), None)
    if given is None:
        # A missing key: IfExists and negated operators hold, every other operator fails.
        return if_exists or base in _NEGATED
    test = _OPERATORS[base]
    if base in _NEGATED:
        return all(test(str(w), given) for w in wanted)
    return any(test(str(w), given) for w in wanted)


def _applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "NotAction" in statement or "NotResource" in statement:
        raise ValueError("NotAction/NotResource are not used by the stack and not evaluated locally")
    if not any(matches(a, request.action, case_sensitive=False) for a in _listed(statement["Action"])):
        return False
    if not any(matches(r, request.resource) for r in _listed(statement["Resource"])):
        return False
    return all(
        _condition_holds(operator, key, _listed(wanted), request.context)
        for operator, keys in (statement.get("Condition") or {}).items()
        for key, wanted in keys.items()
    )


def decide(statements: Sequence[Mapping[str, Any]], request: Request) -> str:
    """"Allow", "ExplicitDeny" or "ImplicitDeny" for `request` under `statements`."""
    applying = [s for s in statements if _applies(s, request)]
    if any(s["Effect"] == "Deny" for s in applying):
        return "ExplicitDeny"
    if any(s["Effect"] == "Allow" for s in applying):
        return "Allow"
    return "ImplicitDeny"
