"""Each policy `cutover iam-policy` prints is enough for the commands it is for, and no more: the command line runs
under it with the IAM enforcement the steps have (cutover/local/iam), against the local engine."""
from __future__ import annotations

import json
import threading
import time

import pytest
import yaml
from botocore.exceptions import ClientError

from cutover.operations import executions as operations
from cutover.aws import connection
from cutover.local import engine as local, iam
from tests.cli.helpers import cutover

pytestmark = pytest.mark.e2e

BUCKET = "ci-configs"


@pytest.fixture(scope="module")
def live(live, engine):
    """Version 1 serving, and the bucket CI uploads configs to."""
    engine.client("s3").create_bucket(Bucket=BUCKET)
    return live


@pytest.fixture(autouse=True)
def enforced(monkeypatch, engine):
    """The command line's own clients go through the enforcement the steps' clients do (plan's already do).

    The state machine is named as a team using the construct names it (CUTOVER_STATE_MACHINE_ARN): the local
    engine deploys no CloudFormation stack to find it through.
    """
    monkeypatch.setenv("CUTOVER_STATE_MACHINE_ARN", engine.state_machine_arn)
    monkeypatch.setenv("CUTOVER_RELEASE_TABLE", local.TABLE_NAME)
    made = connection.Connection.client

    def client(self, name):
        created = made(self, name)
        iam.enforce_on(created)
        return created

    monkeypatch.setattr(connection.Connection, "client", client)


def printed(role: str, engine, *options: str, bucket: str = BUCKET) -> dict:
    """`cutover iam-policy ROLE` for this deployment, its remaining placeholders filled in."""
    result = cutover("iam-policy", role, "--state-machine-arn", engine.state_machine_arn, "--config-bucket", bucket,
                     "--release-table", local.TABLE_NAME, *options)
    assert result.code == 0, result.err
    text = result.out.replace("${Region}", local.REGION).replace("${Account}", local.ACCOUNT)
    text = text.replace("${StackName}", connection.STACK_NAME)
    assert "${" not in text, text
    return json.loads(text)


def as_(role: str, engine, *argv: str):
    with iam.acting_as(role, printed(role, engine)):
        return cutover(*argv)


def plan_argv(live, version: str) -> tuple[str, ...]:
    return ("plan", "--env", "demo", "--version", version, "--image", f"web:{version}", "--config", live["config_path"])


def test_ci_plans_starts_and_follows_a_release_and_the_approver_approves_it(engine, live):
    # Given CI holding the printed ci policy, and an approver holding the approver policy in another terminal
    def approver() -> None:
        sfn = engine.client("stepfunctions")
        arn = operations.execution_arn(engine.state_machine_arn, "web-2")
        for _ in range(300):
            try:
                sfn.describe_execution(executionArn=arn)
                break
            except sfn.exceptions.ExecutionDoesNotExist:
                time.sleep(0.1)
        answers["approve"] = as_("approver", engine, "approve", "web-2", "--wait-seconds", "60", "--by", "alice")

    answers: dict = {}
    thread = threading.Thread(target=approver)

    # When CI plans the release, uploads its config, starts it and follows it to the end
    plan = as_("ci", engine, *plan_argv(live, "2"))
    # (the workflow's `aws s3 cp`, under the ci policy too)
    uploader = engine.client("s3")
    iam.enforce_on(uploader)
    with iam.acting_as("ci", printed("ci", engine)), open(live["config_path"], "rb") as config:
        uploader.put_object(Bucket=BUCKET, Key="web/deploy.yaml", Body=config.read())
    thread.start()
    started = as_("ci", engine, "start", "--env", "demo", "--version", "2", "--image", "web:2",
                  "--config-uri", f"s3://{BUCKET}/web/deploy.yaml", "--name", "web-2", "--wait", "--poll", "0.5")
    thread.join(60)

    # Then every command was allowed and did its work, plan reading the service's lock
    assert plan.code == 0, plan.err
    assert "Lock: " in plan.out and "not read" not in plan.out, plan.out
    assert answers["approve"].code == 0, answers["approve"].err
    assert started.code == 0, started.out + started.err
    assert "web-2: SUCCEEDED" in started.out
    for command in (("status", "web-2"), ("history", "web-2")):
        result = as_("ci", engine, *command)
        assert result.code == 0, (command, result.err)


def test_a_reader_plans_and_reads_status_and_history_but_cannot_start_or_approve(engine, live):
    # Given someone holding the printed reader policy, and a release that ran (web-2, above)
    # When they plan, and read a release's status and history
    results = {"plan": as_("reader", engine, *plan_argv(live, "3")),
               "status": as_("reader", engine, "status", "web-2"),
               "history": as_("reader", engine, "history", "web-2")}

    # Then each works
    assert {name: r.code for name, r in results.items()} == {"plan": 0, "status": 0, "history": 0}, \
        {name: r.err for name, r in results.items()}
    assert "not read" not in results["plan"].out and "SUCCEEDED" in results["status"].out

    # And starting a release is refused by AWS, naming the action it lacks (exit 4: AWS refused)
    start = as_("reader", engine, "start", "--env", "demo", "--version", "3", "--image", "web:3",
                "--config", live["config_path"], "--name", "web-3")
    assert start.code == 4, start.out + start.err
    assert "states:StartExecution" in start.err


def test_plan_without_the_release_table_read_is_refused_as_aws_would(engine, live):
    # Given the ci policy as it was before plan's reads of the lock and the record were in it
    document = printed("ci", engine)
    document["Statement"] = [s for s in document["Statement"] if s["Sid"] != "ReadLocksRecordsAndLedger"]

    # When CI plans
    with iam.acting_as("ci", document):
        result = cutover(*plan_argv(live, "3"))

    # Then AWS's refusal of the read names it
    assert result.code == 4, result.out + result.err
    assert "dynamodb:GetItem" in result.err


def test_ci_uploads_to_a_bucket_encrypted_with_its_key_only_when_the_policy_names_the_key(engine, live):
    # Given a config bucket whose default encryption is a customer managed KMS key
    key = engine.client("kms").create_key(Description="deploy configs")["KeyMetadata"]["Arn"]
    s3 = engine.client("s3")
    s3.create_bucket(Bucket="ci-secure")
    s3.put_bucket_encryption(Bucket="ci-secure", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})
    uploader = engine.client("s3")
    iam.enforce_on(uploader)

    def upload(document: dict) -> None:
        with iam.acting_as("ci", document):
            uploader.put_object(Bucket="ci-secure", Key="web/deploy.yaml", Body=b"service: web\n")

    # When CI uploads under the ci policy printed without the key, S3 refuses: no kms:GenerateDataKey
    with pytest.raises(ClientError) as refused:
        upload(printed("ci", engine, bucket="ci-secure"))
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert f"kms:GenerateDataKey on resource: {key}" in refused.value.response["Error"]["Message"]

    # And under the policy printed with --config-key, the upload goes through
    upload(printed("ci", engine, "--config-key", key, bucket="ci-secure"))
    assert s3.head_object(Bucket="ci-secure", Key="web/deploy.yaml")["SSEKMSKeyId"] == key


def test_the_approver_stops_a_release_and_ci_cannot(engine, live):
    # Given a release CI started, waiting for its approval
    started = as_("ci", engine, "start", "--env", "demo", "--version", "4", "--image", "web:4",
                  "--config", live["config_path"], "--name", "web-4")
    assert started.code == 0, started.out + started.err
    arn = operations.execution_arn(engine.state_machine_arn, "web-4")
    assert operations.wait_for_state(engine.client("stepfunctions"), arn, operations.APPROVAL_STATE, 90)

    # When CI tries to stop it, AWS refuses, naming the action (exit 4), and it runs on
    refused = as_("ci", engine, "stop", "web-4", "--reason", "not CI's call")
    assert refused.code == 4 and "states:StopExecution" in refused.err, refused.out + refused.err
    assert engine.client("stepfunctions").describe_execution(executionArn=arn)["status"] == "RUNNING"

    # Then an approver, who approves and stops, stops it
    stopped = as_("approver", engine, "stop", "web-4", "--reason", "wrong image", "--by", "alice")
    assert stopped.code == 0, stopped.out + stopped.err
    assert "Stopped web-4 as alice" in stopped.out
    engine.wait_for_status_changes()
    assert engine.client("stepfunctions").describe_execution(executionArn=arn)["status"] == "ABORTED"


def test_a_reader_plans_a_release_that_watches_alarms(engine, live, tmp_path):
    # Given a config whose release looks at an alarm before traffic moves (plan reads it, as the switch does)
    config = yaml.safe_load(open(live["config_path"]).read())
    config.setdefault("release", {})["alarm_names"] = ["web-5xx"]
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(config))
    # When someone holding the printed reader policy plans it
    result = as_("reader", engine, "plan", "--env", "demo", "--version", "3", "--image", "web:3", "--config", str(path))
    # Then the plan is allowed its look at the alarms
    assert result.code == 0, result.out + result.err
    assert "Alarms watched: web-5xx" in result.out
