"""Elastic Load Balancing as the command line reads it: a listener rule, as `cutover demo` samples its weights."""
from __future__ import annotations

from typing import Any


def rule(elbv2, rule_arn: str) -> dict[str, Any]:
    """The rule's description (DescribeRules)."""
    return elbv2.describe_rules(RuleArns=[rule_arn])["Rules"][0]
