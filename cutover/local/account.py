"""The emulated account's names: region, account id, the stack's resources and the functions' ARNs."""
from __future__ import annotations

from cutover.aws import connection

REGION = "us-east-1"
PARTITION = "aws"
ACCOUNT = "123456789012"
STATE_MACHINE_NAME = "cutover-release"
TABLE_NAME = connection.TABLE_NAME  # where the command line finds the table without a stack
TOPIC_NAME = "cutover-notifications"
FUNCTION_PREFIX = "cutover-"
# The local stack lets releases invoke check functions with names like this one (check_function_arns).
CHECK_FUNCTION_PREFIX = "check-"


def function_name(key: str) -> str:
    """The local function that runs a step."""
    return f"{FUNCTION_PREFIX}{key}"


def check_function_arn(name: str) -> str:
    return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{name}"


def function_arn(key: str) -> str:
    return check_function_arn(function_name(key))
