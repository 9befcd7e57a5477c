"""Deployments are configured through CDK context (`-c cutover:…=…` or cdk.json), as lists or CSV."""
from __future__ import annotations

import json

import aws_cdk as cdk
import pytest

from tests.infrastructure.conftest import REPO_ROOT
from cutover.cdk.settings import CONTEXT_KEYS, ReleaseOrchestratorProps


def test_context_lists_may_be_json_arrays_or_comma_separated():
    # Given the values a user passes on the command line or writes in cdk.json
    app = cdk.App(context={
        "cutover:clusterNames": "prod, staging",
        "cutover:taskRoleArns": '["arn:aws:iam::111122223333:role/a", "arn:aws:iam::111122223333:role/b"]',
        "cutover:notificationEmails": ["ops@example.com"],
        "cutover:targetGroupNamePrefix": "prod-",
    })

    # When the props are read
    props = ReleaseOrchestratorProps.from_context(app.node)

    # Then each list holds the values given, however they were written
    assert props.cluster_names == ("prod", "staging")
    assert props.task_role_arns == ("arn:aws:iam::111122223333:role/a", "arn:aws:iam::111122223333:role/b")
    assert props.notification_emails == ("ops@example.com",)
    assert props.target_group_name_prefix == "prod-"
    assert props.listener_rule_arns == ()


def test_tracing_of_aws_calls_is_a_true_or_false_setting():
    assert ReleaseOrchestratorProps.from_context(cdk.App(context={"cutover:traceAwsCalls": "true"}).node).trace_aws_calls
    assert not ReleaseOrchestratorProps.from_context(cdk.App(context={"cutover:traceAwsCalls": False}).node).trace_aws_calls
    with pytest.raises(ValueError, match="cutover:traceAwsCalls must be true or false"):
        ReleaseOrchestratorProps.from_context(cdk.App(context={"cutover:traceAwsCalls": "yes please"}).node)


def test_no_context_gives_the_defaults():
    assert ReleaseOrchestratorProps.from_context(cdk.App().node) == ReleaseOrchestratorProps()


@pytest.mark.parametrize("key", sorted(set(CONTEXT_KEYS.values()) - {"cutover:stateMachineName"}))
def test_cdk_json_documents_every_setting_with_an_empty_default(key):
    # cdk.json lists what can be set; the values there change nothing until filled in
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    assert key in context
    name = next(name for name, k in CONTEXT_KEYS.items() if k == key)
    assert context[key] in ("", [], False) or context[key] == getattr(ReleaseOrchestratorProps(), name)


def test_init_stack_writes_the_repository_s_app_and_settings_for_a_pip_user(tmp_path):
    from cutover.operations import stack_files
    from tests.cli.helpers import cutover

    # When a user who installed the wheel asks for the app
    result = cutover("init-stack", str(tmp_path / "infra"))
    # Then app.py and cdk.json are written, with every setting the repository's cdk.json has
    assert result.code == 0, result.err
    written = json.loads((tmp_path / "infra" / "cdk.json").read_text())
    assert written["app"] == "python3 app.py"
    assert written["context"] == json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    app = (tmp_path / "infra" / "app.py").read_text()
    assert app == stack_files.APP and "CutoverStack(app" in app
    compile(app, "app.py", "exec")
    # And it does not overwrite them unless told to
    again = cutover("init-stack", str(tmp_path / "infra"))
    assert again.code == 2 and "--force" in again.err
