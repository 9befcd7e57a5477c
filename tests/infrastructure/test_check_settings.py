"""The stack settings for verification checks: which functions releases may invoke, and running the
checks inside the services' VPC (only the two functions that run checks, with what Lambda needs); and the
settings for what AWS checks beyond the steps' calls: the config buckets' KMS keys, the roles handed to ECS."""
from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import Validations
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import lint_file
from cutover_steps.registry import CHECK_RUNNERS, STEPS

from cutover.cdk import CutoverStack
from cutover.cdk.settings import ReleaseOrchestratorProps
from tests.infrastructure.conftest import Synthesized

CHECK = "arn:aws:lambda:eu-west-1:111122223333:function:shop-contract-tests"
SUBNETS = ("subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788")
GROUPS = ("sg-0123456789abcdef0",)
KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
INFRASTRUCTURE_ROLE = "arn:aws:iam::111122223333:role/ecs-infrastructure"
ENI_ACTIONS = {"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
               "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"}


@pytest.fixture(scope="module")
def with_checks(tmp_path_factory) -> Synthesized:
    outdir = tmp_path_factory.mktemp("checks-cdk.out")
    app = cdk.App(outdir=str(outdir), context={"aws:cdk:bundling-stacks": []})
    CutoverStack(app, "Cutover", props=ReleaseOrchestratorProps(
        check_function_arns=(CHECK,), check_subnet_ids=SUBNETS, check_security_group_ids=GROUPS,
        config_bucket_names=("ci-configs",), config_key_arns=(KEY,), infrastructure_role_arns=(INFRASTRUCTURE_ROLE,)))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    error = None
    try:
        app.synth()
    except Exception as exc:  # cdk-nag findings fail synth; the test below reports them
        error = str(exc)
    report_path = outdir / "validation-report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {"pluginReports": []}
    return Synthesized(outdir, json.loads((outdir / "Cutover.template.json").read_text()), report, error)


def _actions(synthesized: Synthesized, step) -> dict[str, set[str]]:
    _, function = synthesized.function_with_handler(step.handler)
    granted: dict[str, set[str]] = {}
    for statement in synthesized.statements_of_role(synthesized.role_of_function(function)):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            granted.setdefault(action, set()).update(json.dumps(r) if not isinstance(r, str) else r for r in resources)
    return granted


def test_only_the_steps_that_run_checks_may_invoke_and_only_the_listed_functions(with_checks):
    for step in STEPS:
        granted = _actions(with_checks, step)
        if step.key in CHECK_RUNNERS:
            # the function itself, and its versions and aliases
            assert granted["lambda:InvokeFunction"] == {CHECK, f"{CHECK}:*"}, step.key
        else:
            assert "lambda:InvokeFunction" not in granted, step.key


def test_the_functions_that_run_checks_join_the_vpc_and_no_other(with_checks):
    for step in STEPS:
        _, function = with_checks.function_with_handler(step.handler)
        vpc = function["Properties"].get("VpcConfig")
        granted = _actions(with_checks, step)
        if step.key in CHECK_RUNNERS:
            assert vpc == {"SubnetIds": list(SUBNETS), "SecurityGroupIds": list(GROUPS)}, step.key
            # Lambda creates the function's network interfaces with its role
            assert ENI_ACTIONS <= set(granted), step.key
        else:
            assert vpc is None, step.key
            assert not ENI_ACTIONS & set(granted), step.key


def test_cdk_nag_finds_nothing_unacknowledged_with_the_check_settings(with_checks):
    findings = [f"{v['ruleName']} at {c['constructPath']}" for report in with_checks.validation_report["pluginReports"]
                for v in report.get("violations", []) for c in v["violatingConstructs"]]
    assert findings == []
    assert with_checks.validation_error is None


def test_subnets_without_security_groups_are_refused():
    with pytest.raises(ValueError, match="check_subnet_ids and check_security_group_ids go together"):
        ReleaseOrchestratorProps(check_subnet_ids=SUBNETS)


def test_context_gives_the_check_settings():
    app = cdk.App(context={"cutover:checkFunctionArns": CHECK, "cutover:checkSubnetIds": ",".join(SUBNETS),
                           "cutover:checkSecurityGroupIds": json.dumps(list(GROUPS))})
    props = ReleaseOrchestratorProps.from_context(app.node)
    assert (props.check_function_arns, props.check_subnet_ids, props.check_security_group_ids) == ((CHECK,), SUBNETS, GROUPS)


def test_cfn_lint_reports_no_errors_with_the_check_settings(with_checks):
    errors = [str(m) for m in lint_file(with_checks.outdir / "Cutover.template.json") if m.rule.id.startswith("E")]
    assert errors == []


def test_without_check_function_arns_no_step_may_invoke_any_function(synthesized):
    # Given the stack as `python app.py` builds it, with no check functions listed
    # When its roles are read
    # Then no step may invoke a Lambda function: not `function:*`, not Cutover's own
    for step in STEPS:
        assert "lambda:InvokeFunction" not in _actions(synthesized, step), step.key


@pytest.mark.parametrize("arn", ["*", "arn:aws:lambda:eu-west-1:111122223333:function:*",
                                 "arn:aws:lambda:*:*:function:**", "shop-contract-tests"])
def test_check_function_arns_refuses_every_function_and_what_is_not_a_function_arn(arn):
    # Given a setting that would let releases invoke any function (or is no function ARN)
    # When the stack's settings are built from it
    # Then they are refused, naming the setting and how to list the check functions
    with pytest.raises(ValueError, match=r"check_function_arns \(cutover:checkFunctionArns\)"):
        ReleaseOrchestratorProps(check_function_arns=(CHECK, arn))


def test_check_function_arns_from_context_refuses_a_wildcard():
    app = cdk.App(context={"cutover:checkFunctionArns": "arn:aws:lambda:eu-west-1:111122223333:function:*"})
    with pytest.raises(ValueError, match="every function of the account"):
        CutoverStack(app, "Cutover")


def test_only_load_release_may_decrypt_configs_and_only_through_s3(with_checks):
    for step in STEPS:
        _, function = with_checks.function_with_handler(step.handler)
        statements = with_checks.statements_of_role(with_checks.role_of_function(function))
        decrypting = [s for s in statements if "kms:Decrypt" in json.dumps(s["Action"]) and KEY in json.dumps(s["Resource"])]
        if step.key == "LoadRelease":
            (statement,) = decrypting
            assert statement["Action"] == "kms:Decrypt" and statement["Resource"] == KEY
            assert "kms:ViaService" in statement["Condition"]["StringLike"]
        else:
            assert decrypting == [], step.key


def test_only_create_service_may_pass_the_listed_roles_and_only_to_ecs(with_checks):
    for step in STEPS:
        _, function = with_checks.function_with_handler(step.handler)
        statements = with_checks.statements_of_role(with_checks.role_of_function(function))
        passing = [s for s in statements if s["Action"] == "iam:PassRole" and s["Resource"] == INFRASTRUCTURE_ROLE]
        if step.key == "CreateService":
            (statement,) = passing
            assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs.amazonaws.com"}}
        else:
            assert passing == [], step.key


def test_the_ci_policy_may_encrypt_uploads_with_the_listed_key(with_checks):
    ci = with_checks.resources[with_checks.template["Outputs"]["CiPolicyArn"]["Value"]["Ref"]]
    (statement,) = [s for s in ci["Properties"]["PolicyDocument"]["Statement"] if s["Sid"] == "EncryptDeployConfigs"]
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"] and statement["Resource"] == KEY


@pytest.mark.parametrize("name", ["config_key_arns", "infrastructure_role_arns"])
def test_key_and_role_settings_take_one_arn_each(name):
    with pytest.raises(ValueError, match=name):
        ReleaseOrchestratorProps(**{name: ("arn:aws:iam::111122223333:role/*",)})
