"""The release flow as a Mermaid flowchart, drawn from the state machine definition itself."""
from __future__ import annotations

import json
from typing import Any

from cutover import DEFINITION

SHAPES = {
    "Choice": ('{"', '"}'),
    "Wait": ('[/"', '"/]'),
    "Succeed": ('(["', '"])'),
    "Fail": ('(["', '"])'),
}
COMPARATORS = {
    "BooleanEquals": "=", "StringEquals": "=", "NumericEquals": "=", "NumericGreaterThan": ">",
    "NumericLessThan": "<", "NumericGreaterThanEquals": ">=", "NumericLessThanEquals": "<=",
}


def _text(label: str) -> str:
    return label.replace('"', "#quot;")


def _condition(rule: dict[str, Any]) -> str:
    """`healthy = true` from {"Variable": "$.results.health.healthy", "BooleanEquals": true}."""
    for joiner in ("Or", "And"):
        if joiner in rule:
            return f" {joiner.lower()} ".join(_condition(r) for r in rule[joiner])
    if "Not" in rule:
        return f"not {_condition(rule['Not'])}"
    field = rule.get("Variable", "?").rsplit(".", 1)[-1]
    if "IsPresent" in rule:
        return f"{field} {'given' if rule['IsPresent'] else 'missing'}"
    if "IsString" in rule:
        return f"{field} {'is' if rule['IsString'] else 'is not'} text"
    for key, symbol in COMPARATORS.items():
        if key in rule:
            value = rule[key]
            return f"{field} {symbol} {json.dumps(value) if not isinstance(value, str) else value}"
    return field


def mermaid(path: str = DEFINITION) -> str:
    with open(path, encoding="utf-8") as f:
        definition = json.load(f)
    states: dict[str, Any] = definition["States"]
    ids = {name: f"s{i}" for i, name in enumerate(states)}
    lines = ["flowchart TD", '    start((start)) --> ' + ids[definition["StartAt"]]]
    for name, state in states.items():
        opening, closing = SHAPES.get(state["Type"], ('["', '"]'))
        lines.append(f"    {ids[name]}{opening}{_text(name)}{closing}")
    for name, state in states.items():
        source = ids[name]
        for rule in state.get("Choices", []):
            lines.append(f'    {source} -->|"{_text(_condition(rule))}"| {ids[rule["Next"]]}')
        if "Default" in state:
            lines.append(f'    {source} -->|otherwise| {ids[state["Default"]]}')
        if "Next" in state:
            lines.append(f"    {source} --> {ids[state['Next']]}")
        for catch in state.get("Catch", []):
            lines.append(f"    {source} -.->|error| {ids[catch['Next']]}")
    failed = [ids[n] for n, s in states.items() if s["Type"] == "Fail"]
    succeeded = [ids[n] for n, s in states.items() if s["Type"] == "Succeed"]
    lines.append("    classDef failed fill:#fde2e1,stroke:#c0392b")
    lines.append("    classDef succeeded fill:#e3f6e5,stroke:#2e7d32")
    if failed:
        lines.append(f"    class {','.join(failed)} failed")
    if succeeded:
        lines.append(f"    class {','.join(succeeded)} succeeded")
    return "\n".join(lines) + "\n"
