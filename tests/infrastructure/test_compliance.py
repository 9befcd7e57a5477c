"""The synthesized template passes cdk-nag's AwsSolutions checks and cfn-lint, with every exception explained."""
from __future__ import annotations

from cfnlint.api import lint_file

# CDK adds DependsOn next to GetAtt for roles and policies; cfn-lint notes the redundancy. Harmless.
ACCEPTED_LINT_WARNINGS = {"W3005"}


def test_cdk_nag_aws_solutions_finds_nothing_unacknowledged(synthesized):
    # When the AwsSolutions pack checks the stack
    findings = [
        f"{violation['ruleName']} at {construct['constructPath']}: {violation['description']}"
        for report in synthesized.validation_report["pluginReports"]
        for violation in report.get("violations", [])
        for construct in violation["violatingConstructs"]
    ]

    # Then nothing is left but what was deliberately acknowledged
    assert findings == []
    assert synthesized.validation_error is None


def test_every_acknowledged_finding_says_why(synthesized):
    # Given the findings acknowledged in the stack, as written to resource Metadata
    acknowledged = [
        (name, rule)
        for name, resource in synthesized.resources.items()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    assert acknowledged

    # Then each one names the exact finding (for IAM5, the exact resource) and gives a reason of substance
    for name, rule in acknowledged:
        assert rule["id"].startswith("AwsSolutions-"), name
        if rule["id"].startswith("AwsSolutions-IAM5"):
            assert "[Resource::" in rule["id"], (name, rule["id"])
        assert len(rule["reason"]) >= 40, (name, rule)


def test_wildcard_resources_are_explained_by_what_they_cover(synthesized):
    # Resource-pattern acknowledgments say which resources the pattern stands for, not just "needed"
    reasons = {
        rule["id"]: rule["reason"]
        for resource in synthesized.resources.values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    }
    assert "resource-level permissions" in reasons["AwsSolutions-IAM5[Resource::*]"]
    patterns = {rule_id: reason for rule_id, reason in reasons.items() if "[Resource::arn:" in rule_id}
    assert patterns
    for rule_id, reason in patterns.items():
        assert "scoped to" in reason or "only" in reason, (rule_id, reason)


def test_cfn_lint_reports_no_errors(synthesized):
    # When cfn-lint checks the template (including the state machine definition in it)
    matches = lint_file(synthesized.outdir / "Cutover.template.json")

    # Then it finds no error, and no warning beyond the one CDK's output always carries
    errors = [str(m) for m in matches if m.rule.id.startswith("E")]
    assert errors == []
    warnings = [str(m) for m in matches if m.rule.id.startswith("W") and m.rule.id not in ACCEPTED_LINT_WARNINGS]
    assert warnings == []
