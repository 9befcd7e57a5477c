"""A complete deploy config as plain data, and the problems the model finds in one (no AWS)."""
from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from cutover.local.environment import config_text
from cutover_steps.config.models import DeployConfig, format_validation_error

RULE = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/demo/0123abcd/4567ef01/{}"
VALUES = {
    "CLUSTER": "demo", "VPC": "vpc-0abc", "SUBNET_A": "subnet-a", "SUBNET_B": "subnet-b", "SECURITY_GROUP": "sg-1",
    "PREPARING_RULE_ARN": RULE.format("aaaa"), "PUBLIC_RULE_ARN": RULE.format("bbbb"),
    "EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/demo-web-execution",
}


def raw_config() -> dict:
    return yaml.safe_load(config_text(VALUES))


def errors(raw: dict) -> str:
    """Every problem the model finds, one per field, as the release words them."""
    with pytest.raises(ValidationError) as caught:
        DeployConfig.model_validate(raw)
    return format_validation_error(caught.value)
