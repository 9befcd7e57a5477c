"""Where the commands talk to: AWS session (profile, region, endpoint) and the release state machine."""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from urllib.parse import urlparse

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from cutover import operations
from cutover.exits import NotFound, UsageError

STACK_NAME = "Cutover"
STACK_OUTPUT = "StateMachineArn"
TABLE_OUTPUT = "ReleaseTableName"
SCOPE_OUTPUT = "NameScope"
STATE_MACHINE_NAME = "cutover-release"  # what the local engine deploys
TABLE_NAME = "cutover-releases"  # the local engine's release table
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class Unusable(UsageError):
    """The settings cannot work as given."""


@dataclass
class Connection:
    session: boto3.session.Session
    endpoint_url: str | None
    state_machine_arn_option: str | None = None
    stack_name: str = STACK_NAME

    def client(self, name: str):
        return self.session.client(name, endpoint_url=self.endpoint_url)

    @property
    def sfn(self):
        return self.client("stepfunctions")

    def state_machine_arn(self) -> str:
        """--state-machine-arn, then CUTOVER_STATE_MACHINE_ARN (each an ARN or a state machine's
        name), then the stack's StateMachineArn output, then the state machine named cutover-release."""
        given = self.state_machine_arn_option or os.environ.get("CUTOVER_STATE_MACHINE_ARN")
        if given and given.startswith("arn:"):
            return given
        if given:
            found = self._by_name(given)
            if found is None:
                raise NotFound(f"no state machine named {given!r} in this account and region")
            return found
        from_stack = self._stack_output(STACK_OUTPUT)
        if from_stack:
            return from_stack
        found = self._by_name(STATE_MACHINE_NAME)
        if found is None:
            raise NotFound(
                f"no release state machine found: no stack {self.stack_name!r} with output {STACK_OUTPUT}, and no "
                f"state machine named {STATE_MACHINE_NAME!r}; give --state-machine-arn or set "
                "CUTOVER_STATE_MACHINE_ARN (an ARN or a name)")
        return found

    def _stack_output(self, key: str) -> str | None:
        try:
            stacks = self.client("cloudformation").describe_stacks(StackName=self.stack_name)["Stacks"]
        except ClientError:
            return None  # no such stack here: the sandbox deploys without CloudFormation
        return next((o["OutputValue"] for s in stacks[:1] for o in s.get("Outputs", []) if o["OutputKey"] == key), None)

    def name_scope(self) -> dict[str, str] | None:
        """The stack's name prefixes (its NameScope output), or None where no stack says them."""
        found = self._stack_output(SCOPE_OUTPUT)
        return json.loads(found) if found else None

    def release_table(self) -> str:
        """CUTOVER_RELEASE_TABLE, then the stack's ReleaseTableName output, then the local engine's table."""
        name = os.environ.get("CUTOVER_RELEASE_TABLE") or self._stack_output(TABLE_OUTPUT)
        if name:
            return name
        try:
            self.client("dynamodb").describe_table(TableName=TABLE_NAME)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise  # a refusal is a permission problem, not a missing table: plan must not skip the lock
            raise NotFound(
                f"no release table found: no stack {self.stack_name!r} with output {TABLE_OUTPUT}, and no table "
                f"named {TABLE_NAME!r}; set CUTOVER_RELEASE_TABLE (or --stack-name)") from error
        return TABLE_NAME

    def _by_name(self, name: str) -> str | None:
        for page in self.sfn.get_paginator("list_state_machines").paginate():
            for machine in page["stateMachines"]:
                if machine["name"] == name:
                    return machine["stateMachineArn"]
        return None

    def execution_arn(self, execution: str, wait_seconds: float = 0) -> str:
        """An execution ARN, or a bare name resolved against the state machine; it must exist
        (within `wait_seconds`, for an approver started together with the release)."""
        arn = execution if execution.startswith("arn:") else operations.execution_arn(self.state_machine_arn(), execution)
        deadline = time.time() + wait_seconds
        while True:
            try:
                self.sfn.describe_execution(executionArn=arn)
                return arn
            except ClientError as error:
                if error.response["Error"]["Code"] not in ("ExecutionDoesNotExist", "InvalidArn", "ResourceNotFound"):
                    raise
                if time.time() >= deadline:
                    raise NotFound(f"no execution {execution!r} ({arn})") from error
            time.sleep(0.5)


def connect(*, profile: str | None = None, region: str | None = None, endpoint_url: str | None = None,
            state_machine_arn: str | None = None, stack_name: str | None = None) -> Connection:
    """A session from the usual AWS settings; a local endpoint without credentials gets test ones."""
    endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    try:
        session = boto3.session.Session(profile_name=profile, region_name=region)
    except BotoCoreError as error:
        raise Unusable(str(error)) from error
    local = bool(endpoint_url) and urlparse(endpoint_url).hostname in LOOPBACK
    if local and (session.get_credentials() is None or not session.region_name):
        # The sandbox accepts any credentials; nobody should need real ones to talk to it.
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing",
            region_name=session.region_name or "us-east-1",
        )
    if not session.region_name:
        raise Unusable("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a profile's region), or give --region")
    return Connection(session, endpoint_url, state_machine_arn,
                      stack_name or os.environ.get("CUTOVER_STACK_NAME") or STACK_NAME)
