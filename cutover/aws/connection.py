"""Where the commands talk to: the AWS session (profile, region, endpoint) and its clients, the release
state machine, the release table and executions named by the user."""
from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlparse

import boto3
from botocore.exceptions import BotoCoreError

from cutover_steps.adapters import clients as aws

from cutover import envvars
from cutover.operations import executions as operations
from cutover.aws import stacks, step_functions
from cutover.aws.release_table import table_exists
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
        return stacks.output_if_any(self.client("cloudformation"), self.stack_name, key)

    def name_scope(self) -> dict[str, str] | None:
        """The stack's name prefixes (its NameScope output), or None where no stack says them."""
        found = self._stack_output(SCOPE_OUTPUT)
        return json.loads(found) if found else None

    def release_table(self) -> str:
        """CUTOVER_RELEASE_TABLE, then the stack's ReleaseTableName output, then the local engine's table."""
        name = os.environ.get("CUTOVER_RELEASE_TABLE") or self._stack_output(TABLE_OUTPUT)
        if name:
            return name
        # A refusal is raised: a permission problem, not a missing table (plan must not skip the lock).
        if not table_exists(self.client("dynamodb"), TABLE_NAME):
            raise NotFound(
                f"no release table found: no stack {self.stack_name!r} with output {TABLE_OUTPUT}, and no table "
                f"named {TABLE_NAME!r}; set CUTOVER_RELEASE_TABLE (or --stack-name)")
        return TABLE_NAME

    def _by_name(self, name: str) -> str | None:
        return step_functions.state_machine_named(self.sfn, name)

    def execution_arn(self, execution: str, wait_seconds: float = 0) -> str:
        """An execution ARN, or a bare name resolved against the state machine; it must exist
        (within `wait_seconds`, for an approver started together with the release)."""
        arn = execution if execution.startswith("arn:") else operations.execution_arn(self.state_machine_arn(), execution)
        deadline = time.time() + wait_seconds
        while True:
            if step_functions.describe_if_any(self.sfn, arn, step_functions.NO_EXECUTION) is not None:
                return arn
            if time.time() >= deadline:
                raise NotFound(f"no execution {execution!r} ({arn})")
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


@contextlib.contextmanager
def release_clients(connection: Connection, table: str | None = None) -> Iterator[None]:
    """Point the steps' adapters (which build clients from the environment) at this connection,
    and at the release table when one is given."""
    credentials = connection.session.get_credentials()
    frozen = credentials.get_frozen_credentials() if credentials else None
    values = {
        "AWS_DEFAULT_REGION": connection.session.region_name,
        "AWS_ENDPOINT_URL": connection.endpoint_url,
        "AWS_ACCESS_KEY_ID": frozen.access_key if frozen else None,
        "AWS_SECRET_ACCESS_KEY": frozen.secret_key if frozen else None,
        "AWS_SESSION_TOKEN": frozen.token if frozen else None,
        **({"RELEASE_TABLE": table} if table else {}),
    }
    saved = envvars.apply(values)
    aws.reset()
    try:
        yield
    finally:
        envvars.apply(saved)
        aws.reset()
