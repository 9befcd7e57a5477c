"""The local engine enforces exactly the IAM statements the stack synthesizes for each function."""
from __future__ import annotations

import pytest

from cutover.local.iam import policies


def test_the_committed_local_policies_are_what_the_stack_synthesizes():
    # Given the stack synthesized with the local engine's settings (account, region, names, scoping)
    fresh = policies.render(policies.from_template(policies.synthesize_template()))

    # Then the policies the local engine enforces are exactly its roles' statements
    if fresh != policies.POLICY_FILE.read_text():
        pytest.fail(f"{policies.POLICY_FILE} is stale: the stack's roles changed. Regenerate it with "
                    f"`{policies.REGENERATE}` and commit it.")


def test_the_local_policies_scope_what_the_stack_lets_users_scope():
    # Given the settings the local policies are synthesized with
    functions = policies.load()["functions"]
    resources = {r for f in functions.values() for s in f["statements"] for r in
                 (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])}

    # Then the demo's cluster, name prefixes, task family and role narrow the grants, as in a real deployment
    assert "arn:aws:ecs:us-east-1:123456789012:service/demo/web-*" in resources
    assert "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-*" in resources
    assert "arn:aws:ecs:us-east-1:123456789012:task-definition/web:*" in resources
    assert "arn:aws:iam::123456789012:role/demo-web-execution" in resources
    assert not any(r.endswith(":service/*/*") for r in resources)
