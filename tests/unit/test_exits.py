"""Errors carry their exit code: one table says how each kind of failure ends a command."""
from __future__ import annotations

from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from cutover import exits
from cutover.aws.connection import Unusable
from cutover.aws.errors import translate


def test_what_aws_refused_ends_with_the_aws_exit_code_and_its_words():
    refused = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "StartExecution")
    failure = exits.of(translate(refused))
    assert (failure.exit.code, failure.exit.name, str(failure)) == (4, "aws_error", "AWS said AccessDeniedException: not allowed")
    assert exits.of(translate(NoCredentialsError())).exit is exits.AWS_ERROR
    assert exits.of(translate(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))).exit is exits.AWS_ERROR


def test_settings_that_cannot_work_are_bad_input_and_a_bug_is_said_in_one_line():
    assert exits.of(Unusable("no AWS region")).exit.code == 2
    bug = exits.of(KeyError("plan"))
    assert (bug.exit.code, bug.exit.name) == (1, "internal_error")
    assert str(bug) == "unexpected KeyError: 'plan' (CUTOVER_DEBUG=1 shows where)"
    assert exits.of(KeyboardInterrupt()).exit.code == 130


def test_an_error_that_is_not_aws_s_is_left_as_it_is():
    error = KeyError("plan")
    assert translate(error) is error


def test_every_error_name_is_unique_and_every_code_listed_once():
    codes = [e.code for e in exits.TABLE]
    names = [e.name for e in exits.TABLE if e.name]
    assert len(set(codes)) == len(codes) and len(set(names)) == len(names)
