"""The named errors: what AWS error codes become, and the exit code each gives the command line."""
from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from cutover import exits
from cutover_steps.adapters import aws_errors
from cutover_steps.errors import AwsThrottled, CutoverError, InvalidReleaseInput, domain_errors


def stubbed_ecs():
    client = boto3.session.Session().client("ecs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    aws_errors.install(client)
    return client, Stubber(client)


def test_a_call_still_throttled_after_the_sdks_retries_is_aws_throttled_which_the_state_machine_retries():
    client, stub = stubbed_ecs()
    stub.add_client_error("describe_clusters", service_error_code="ThrottlingException", http_status_code=400)
    with stub, pytest.raises(AwsThrottled, match="ecs DescribeClusters was still throttled") as raised:
        client.describe_clusters(clusters=["demo"])
    assert raised.value.retried and raised.value.code == "ThrottlingException"


def test_other_aws_errors_stay_what_aws_said():
    client, stub = stubbed_ecs()
    stub.add_client_error("describe_clusters", service_error_code="AccessDeniedException", http_status_code=400)
    with stub, pytest.raises(client.exceptions.ClientError, match="AccessDeniedException"):
        client.describe_clusters(clusters=["demo"])


def test_every_domain_error_gives_an_exit_code_of_the_command_lines_table():
    assert all(error.exit_code in {e.code for e in exits.TABLE} for error in domain_errors())
    # Bad input is a usage error, AWS throttling is AWS's, whatever command meets them
    assert exits.exit_of(exits.of(InvalidReleaseInput("config.cluster: no such cluster"))) is exits.USAGE
    throttled = exits.of(AwsThrottled("ecs DescribeClusters was still throttled"))
    assert (exits.exit_of(throttled), str(throttled)) == (exits.AWS_ERROR, "ecs DescribeClusters was still throttled")


def test_the_release_s_errors_and_the_command_line_s_are_one_hierarchy_that_carries_exit_codes():
    # Given a named error of the release and one of the command line
    refused, missing = InvalidReleaseInput("config.cluster: no such cluster"), exits.NotFound("no execution 'web-9'")
    # Then both are Cutover's errors, each with its exit code, and ending a command keeps them as they are
    assert isinstance(refused, CutoverError) and isinstance(missing, CutoverError)
    assert (refused.exit_code, missing.exit_code) == (exits.USAGE.code, exits.NOT_FOUND.code)
    assert exits.of(refused) is refused and exits.of(missing) is missing
