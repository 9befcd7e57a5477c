"""The commands that print something to use elsewhere: the flow diagram, the config schema, IAM policies,
the CDK app."""
from __future__ import annotations

import os

from cutover import exits
from cutover.output import reports
from cutover.cli.context import Context


def cmd_diagram(ctx: Context) -> int:
    from cutover import DEFINITION
    from cutover.definition import diagram

    path = ctx.args.definition or DEFINITION
    text = diagram.mermaid(path)
    return ctx.show(reports.Report({"definition": path, "mermaid": text}, lambda: text.rstrip("\n")))


def cmd_schema(ctx: Context) -> int:
    from cutover.definition import schema

    # The schema is JSON already: --output json prints the same document.
    ctx.out.write(schema.text())
    return exits.OK.code


def cmd_iam_policy(ctx: Context) -> int:
    from cutover.operations import access

    a, given = ctx.args, {}
    if a.stack_name:
        given["stack_arn"] = f"arn:aws:cloudformation:${{Region}}:${{Account}}:stack/{a.stack_name}/*"
    if a.config_bucket:
        given["config_objects_arns"] = (f"arn:aws:s3:::{a.config_bucket}/*",)
    if a.config_key:
        given["config_key_arns"] = tuple(a.config_key)
    if a.release_table:
        given["table_arn"] = f"arn:aws:dynamodb:${{Region}}:${{Account}}:table/{a.release_table}"
    # Like every command: the option, else CUTOVER_STATE_MACHINE_ARN (a name alone names no ARN to scope to).
    machine = a.state_machine_arn or os.environ.get("CUTOVER_STATE_MACHINE_ARN")
    machine = machine if machine and machine.startswith("arn:") else None
    targets = access.Targets.of_state_machine(machine, **given) if machine else access.Targets(**given)
    # A policy document is JSON whatever --output says: it is meant for `aws iam create-policy`.
    ctx.emit(access.policy(a.role, targets))
    return exits.OK.code


def cmd_init_stack(ctx: Context) -> int:
    from cutover.operations import stack_files

    written = stack_files.write(ctx.args.dir, force=ctx.args.force)
    return ctx.show(reports.Report(
        {"written": written},
        lambda: "\n".join([*(f"wrote {path}" for path in written), "",
                            "Next (docs/deploying.md has the whole runbook):",
                            f"  cd {ctx.args.dir}",
                            "  pip install 'cutover[cdk]'   # the CDK library; the CDK CLI: npm install -g aws-cdk",
                            "  edit cdk.json: cutover:clusterNames, cutover:listenerArns, cutover:taskRoleArns …",
                            "  cdk bootstrap   # once per account and region",
                            "  cdk deploy"])))
