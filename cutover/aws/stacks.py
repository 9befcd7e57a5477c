"""CloudFormation stacks' outputs: where the command line finds the Cutover stack's resources, and the
values of a deploy config's `${cfn:STACK.OUTPUT}` references."""
from __future__ import annotations

from botocore.exceptions import ClientError

from cutover.aws.errors import translated


def outputs(cloudformation, stack: str) -> list[dict[str, str]]:
    """The stack's outputs (`OutputKey`, `OutputValue`); AwsError when it cannot be read."""
    with translated():
        return cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs") or []


def output_if_any(cloudformation, stack: str, key: str) -> str | None:
    """One output of the stack, or None when there is no such stack (the sandbox deploys without CloudFormation)."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError:
        return None
    return next((o["OutputValue"] for s in stacks[:1] for o in s.get("Outputs", []) if o["OutputKey"] == key), None)
