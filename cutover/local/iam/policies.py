"""Each release function's IAM statements, as the CDK stack synthesizes them for the local engine.

`policies.json` beside this file is the stack synthesized with LOCAL_SETTINGS (the local engine's
account, region, table, topic, state machine name, and the demo environment's cluster, name
prefixes, task family and role, so that resource scoping is exercised), with every CloudFormation
reference resolved to what the local engine deploys. It is committed, so `cutover demo` and the
sandbox need no synth at start; tests/infrastructure fails when it is stale. Regenerate with
`python -m cutover.local.iam` (or `make policies`).
"""
from __future__ import annotations

import json
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

POLICY_FILE = Path(__file__).with_name("policies.json")
REGENERATE = "python -m cutover.local.iam"
STACK_NAME = "CutoverLocal"


def local_settings() -> dict[str, Any]:
    """The ReleaseOrchestratorProps fields the local stack is synthesized with."""
    from cutover.local import account, environment

    return {
        "cluster_names": ("demo",),
        "target_group_name_prefix": f"{environment.ENV}-",
        "service_name_prefix": "web-",
        "task_definition_families": ("web",),
        "task_role_arns": (f"arn:aws:iam::{account.ACCOUNT}:role/{environment.EXECUTION_ROLE}",),
        "state_machine_name": account.STATE_MACHINE_NAME,
        "check_function_arns": (account.check_function_arn(f"{account.CHECK_FUNCTION_PREFIX}*"),),
    }


def synthesize_template(settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """The CloudFormation template of the stack with the local settings, or with `settings` (ReleaseOrchestratorProps
    fields) in their place (no asset bundling)."""
    from cutover.local import node_banner

    node_banner.quiet()
    import aws_cdk as cdk

    from cutover.cdk import CutoverStack
    from cutover.cdk.settings import ReleaseOrchestratorProps

    with tempfile.TemporaryDirectory() as outdir:
        # Bundling the dependency layer only builds an asset; the roles do not depend on it.
        app = cdk.App(outdir=outdir, context={"aws:cdk:bundling-stacks": []})
        CutoverStack(app, STACK_NAME, props=ReleaseOrchestratorProps(**(local_settings() if settings is None else settings)))
        app.synth()
        return json.loads((Path(outdir) / f"{STACK_NAME}.template.json").read_text())


def from_template(template: dict[str, Any]) -> dict[str, Any]:
    """{account, region, partition, functions: {step key: {role, statements}}}, references resolved."""
    from cutover.local import account
    from cutover_steps.registry import STEPS

    resources = template["Resources"]
    where = {"AWS::Partition": "aws", "AWS::Region": account.REGION, "AWS::AccountId": account.ACCOUNT,
             "AWS::URLSuffix": "amazonaws.com"}

    def arn_of(logical_id: str) -> str:
        kind = resources[logical_id]["Type"]
        if kind == "AWS::DynamoDB::Table":
            return f"arn:aws:dynamodb:{account.REGION}:{account.ACCOUNT}:table/{account.TABLE_NAME}"
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{account.REGION}:{account.ACCOUNT}:{account.TOPIC_NAME}"
        # Keys and log groups: the local engine has none; their calls are not the handlers' own.
        service = kind.split("::")[1].lower()
        return f"arn:aws:{service}:{account.REGION}:{account.ACCOUNT}:local/{logical_id}"

    def resolve(value: Any) -> Any:
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            return where.get(value["Ref"]) or arn_of(value["Ref"])
        if "Fn::GetAtt" in value:
            return arn_of(value["Fn::GetAtt"][0])
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(resolve(p) for p in parts)
        return {k: resolve(v) for k, v in value.items()}

    def statements_of(role: str) -> list[dict[str, Any]]:
        found = [s for p in resources[role]["Properties"].get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
        for policy in resources.values():
            if policy["Type"] == "AWS::IAM::Policy" and {"Ref": role} in policy["Properties"].get("Roles", []):
                found += policy["Properties"]["PolicyDocument"]["Statement"]
        return resolve(found)

    functions = {}
    for step in STEPS:
        (function,) = [r for r in resources.values()
                       if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") == step.handler]
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        functions[step.key] = {"role": role, "statements": statements_of(role)}
    return {"partition": "aws", "region": account.REGION, "account": account.ACCOUNT,
            "regenerate": REGENERATE, "functions": functions}


def render(policies: dict[str, Any]) -> str:
    return json.dumps(policies, indent=1, sort_keys=True) + "\n"


_installed: list[dict[str, Any]] = []


def load() -> dict[str, Any]:
    """The statements the engine enforces: the committed file, or those `install` put in its place."""
    return _installed[0] if _installed else _committed()


@lru_cache(maxsize=1)
def _committed() -> dict[str, Any]:
    return json.loads(POLICY_FILE.read_text())


def install(settings: dict[str, Any]) -> dict[str, Any]:
    """Enforce, in this process, the stack synthesized with `settings` (ReleaseOrchestratorProps fields; the
    engine's state machine name is kept): the sandbox's `--settings`."""
    data = from_template(synthesize_template({**settings, "state_machine_name": local_settings()["state_machine_name"]}))
    _installed[:] = [data]
    return data


def uninstall() -> None:
    _installed.clear()


def main() -> int:
    POLICY_FILE.write_text(render(from_template(synthesize_template())))
    print(f"wrote {POLICY_FILE}", file=sys.stderr)
    return 0



def infrastructure_roles() -> str:
    """What the stack tells LoadRelease (cutover_steps.config.service_roles): the roles CreateService may pass to ECS under
    the statements enforced now, comma-separated."""
    found = []
    for statement in load()["functions"]["CreateService"]["statements"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        passed_to = ((statement.get("Condition") or {}).get("StringEquals") or {}).get("iam:PassedToService")
        if "iam:PassRole" in actions and passed_to == "ecs.amazonaws.com":
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            found += resources
    return ",".join(found)
