"""The command line's arguments: every command, its options and the exit codes of `--help`."""
from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from cutover import exits
from cutover.cli.context import Context
from cutover.cli import configs, generate, ledger, local, releases


EXIT_CODES = {e.code: e.meaning for e in exits.TABLE}


def _common(suppress: bool) -> argparse.ArgumentParser:
    """Options every command takes; given before or after the command name."""
    default = argparse.SUPPRESS if suppress else None
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("AWS and output")
    g.add_argument("--region", default=default, help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION or the profile's)")
    g.add_argument("--profile", default=default, help="AWS profile (default: AWS_PROFILE)")
    g.add_argument("--endpoint-url", default=default, help="AWS endpoint, e.g. http://127.0.0.1:4566 for the sandbox (default: AWS_ENDPOINT_URL)")
    g.add_argument("--state-machine-arn", default=default,
                   help="the release state machine, its ARN or name (default: CUTOVER_STATE_MACHINE_ARN, else the stack's StateMachineArn output, "
                        "else the state machine named cutover-release)")
    g.add_argument("--stack-name", default=default, help="the Cutover stack (default: CUTOVER_STACK_NAME or Cutover)")
    g.add_argument("--output", choices=["text", "json"], default=argparse.SUPPRESS if suppress else "text",
                   help="text for people (default) or json for scripts")
    return p


def _wait_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--wait", action="store_true", help="follow the release to its end; exit 1 if it fails")
    p.add_argument("--timeout", type=float, default=None, help="with --wait: stop following after this many seconds (exit 5)")
    p.add_argument("--poll", type=float, default=2.0, help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    exit_codes = "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES.items())
    parser = argparse.ArgumentParser(
        prog="cutover", parents=[_common(False)], formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Release a new version of an ECS service behind ALBs: prepare, approve, shift traffic, retire, clean up.",
        epilog=f"exit codes:\n{exit_codes}\n\nEXECUTION is an execution ARN or its name.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = [_common(True)]

    def command(name: str, handler: Callable[[Context], int], help_text: str, **kwargs: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=common, help=help_text, description=help_text, **kwargs)
        p.set_defaults(handler=handler)
        return p

    p = command("start", releases.cmd_start, "Start a release (or attach to the same one, when a CI job is retried).")
    p.add_argument("--env", required=True, help="environment, e.g. staging")
    p.add_argument("--version", required=True, help="the version being released, e.g. 1.4.2 or a commit")
    p.add_argument("--image", required=True, help="container image for the containers whose image the config leaves empty")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", metavar="FILE", help="deploy config file (YAML or JSON), sent inline")
    source.add_argument("--config-uri", metavar="S3_URI", help="deploy config in S3 (s3://bucket/key), read by the release")
    p.add_argument("--name", help="execution name (default: SERVICE-ENV-VERSION-<CI run id or time>, at most 80 characters)")
    p.add_argument("--env-var", action="append", metavar="NAME=VALUE", help="deploy-time environment variable; repeat for more")
    _wait_options(p)

    p = command("approve", releases.cmd_approve, "Approve a release that waits for approval; traffic then shifts.")
    p.add_argument("execution", metavar="EXECUTION")
    p.add_argument("--comment", help="goes into the audit history")
    p.add_argument("--by", help="who approves (default: CUTOVER_USER, GITHUB_ACTOR or your user name)")
    p.add_argument("--wait-seconds", type=float, default=0, help="wait this long for the release to reach approval")

    p = command("reject", releases.cmd_reject, "Reject a release that waits for approval; the prepared version is torn down.")
    p.add_argument("execution", metavar="EXECUTION")
    p.add_argument("--reason", required=True, help="why; goes into the audit history and the failure")
    p.add_argument("--by", help="who rejects (default: CUTOVER_USER, GITHUB_ACTOR or your user name)")
    p.add_argument("--wait-seconds", type=float, default=0, help="wait this long for the release to reach approval")

    p = command("stop", releases.cmd_stop, "Stop a running release; the undo of stopped releases then puts back what it changed.")
    p.add_argument("execution", metavar="EXECUTION")
    p.add_argument("--reason", required=True, help="why; goes into the execution's history, status and the notification")
    p.add_argument("--by", help="who stops it (default: CUTOVER_USER, GITHUB_ACTOR or your user name)")

    p = command("status", releases.cmd_status, "Where a release is now (exit 1 if it failed).")
    p.add_argument("execution", metavar="EXECUTION")

    p = command("history", releases.cmd_history, "The release's timeline: each state, when, how long, what it found and changed.")
    p.add_argument("execution", metavar="EXECUTION")
    p.add_argument("--all", action="store_true", help="include the choice states")

    p = command("rollback", releases.cmd_rollback,
                "Bring back the version the last release retired (or any version still kept), the same careful way. "
                "Checked before it starts: a version nobody kept, or nothing to bring back, exits 3 and starts nothing. "
                "A rollback does not wait for approval, whatever the kept config's approval.mode says: it is the way "
                "out of a bad release; add --require-approval to have an operator approve it first.")
    p.add_argument("--env", required=True)
    p.add_argument("--service", required=True, help="the deploy config's service name")
    p.add_argument("--to", metavar="VERSION", help="a version cleanup still keeps (release.retired_versions_to_keep); "
                                                   "default: the one the last release retired")
    p.add_argument("--require-approval", action="store_true",
                   help="wait for an operator's approval (cutover approve) before traffic moves back, as a release "
                        "with approval.mode manual does; without it a rollback does not wait")
    p.add_argument("--name", help="execution name (default: SERVICE-ENV-rollback-<CI run id or time>)")
    _wait_options(p)

    p = command("releases", ledger.cmd_releases,
                "The release ledger of a service: every release, rollback and stop, with who started and approved it, "
                "when, how long, how it ended and why; kept beyond Step Functions' 90 days (the stack's "
                "ledger_retention_days). --stats: the DORA measures over the period.")
    p.add_argument("--service", required=True, help="the deploy config's service name")
    p.add_argument("--env", help="only this env (default: every env)")
    p.add_argument("--since", metavar="DATE", help="first day, YYYY-MM-DD in UTC (default: 29 days before --until, 30 days in all)")
    p.add_argument("--until", metavar="DATE", help="last day, YYYY-MM-DD in UTC (default: today)")
    p.add_argument("--stats", action="store_true",
                   help="deploy frequency, change failure rate, time to restore and time from start to all traffic")

    p = command("validate", configs.cmd_validate, "Check a deploy config file offline (exit 2 when it is not valid).")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--env", help="check the file as a release to this env reads it (default: every env it names)")

    p = command("render", configs.cmd_render, "Print the deploy config as a release to ENV reads it: merged, references resolved.")
    p.add_argument("--env", required=True)
    p.add_argument("--config", required=True, metavar="FILE")

    p = command("plan", configs.cmd_plan, "What a release would create, change, retire and delete in this account. Changes nothing. "
                                  "Exits 1 when it predicts the release would fail (a missing cluster, a name taken, "
                                  "the service locked by a running release).")
    p.add_argument("--env", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--config", required=True, metavar="FILE")
    p.add_argument("--env-var", action="append", metavar="NAME=VALUE")

    p = command("adopt", configs.cmd_adopt,
                "Let Cutover retire a service it did not create: check it, tag it and record it as the version that "
                "serves, so the next release retires it and rollback can bring it back.")
    p.add_argument("--config", required=True, metavar="FILE", help="the deploy config the next releases will use")
    p.add_argument("--env", required=True)
    p.add_argument("--ecs-service", required=True, metavar="NAME", help="the ECS service that serves the public rules today")
    p.add_argument("--version", required=True, metavar="LABEL", help="the version label it gets, e.g. pre-cutover")
    p.add_argument("--dry-run", action="store_true", help="check and show what would be tagged and recorded; change nothing")
    p.add_argument("--settings", metavar="FILE",
                   help="the stack's settings (cdk.json, or its context) whose name prefixes the service must fit "
                        "(default: the stack's NameScope output)")

    p = command("diagram", generate.cmd_diagram, "Print the release flow as a Mermaid flowchart, from the state machine definition.")
    p.add_argument("--definition", metavar="FILE", help="an ASL file (default: statemachine/release.asl.json)")

    p = command("iam-policy", generate.cmd_iam_policy,
                "Print the least-privilege IAM policy for the CI role that starts releases, for approvers, or for "
                "readers (plan, status, history: nothing changed).")
    p.add_argument("role", choices=["ci", "approver", "reader"])
    p.add_argument("--config-bucket", help="the bucket CI uploads deploy configs to (default: a placeholder)")
    p.add_argument("--config-key", action="append", metavar="KEY_ARN",
                   help="the customer managed KMS key that encrypts that bucket (SSE-KMS); repeat for more")
    p.add_argument("--release-table", metavar="NAME",
                   help="the release table (the stack's ReleaseTableName output; default: a placeholder)")

    command("schema", generate.cmd_schema, "Print the JSON Schema of the deploy config (also in docs/config.schema.json).")

    p = command("init-stack", generate.cmd_init_stack,
                "Write the CDK app that deploys the Cutover stack (app.py and cdk.json) into DIR, for `cdk deploy`.")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--force", action="store_true", help="overwrite app.py and cdk.json if DIR has them")
    command("demo", local.cmd_demo, "Run two releases over a live version on the local engine, no AWS account needed.")

    p = command("sandbox", None, "The local engine as an AWS endpoint on 127.0.0.1.")
    sandbox_sub = p.add_subparsers(dest="sandbox_command", metavar="SUBCOMMAND", required=True)
    up = sandbox_sub.add_parser("up", parents=common, help="start it and serve until Ctrl-C",
                                description="Start the sandbox: an AWS endpoint with the release state machine and a demo environment.")
    up.add_argument("--port", type=int, default=4566)
    up.add_argument("--dir", default=".sandbox", help="where to write deploy.yaml and env (default: .sandbox)")
    up.add_argument("--fail", action="append", metavar="STEP:MODE",
                    help="make a step fail every time, to rehearse what a release does when it breaks; STEP is a "
                         "step key (e.g. RecordRelease), MODE is error, throttle or crash; repeat for more")
    up.add_argument("--function", action="append", metavar="NAME=FILE:FUNCTION",
                    help="serve the Python function FUNCTION(event, context) of FILE as the Lambda function NAME "
                         "(named check-…), for verification checks (release.verify[].lambda); repeat for more")
    up.add_argument("--slow", action="append", metavar="STEP:SECONDS",
                    help="the step's function sleeps SECONDS after it starts, before it changes anything, as a slow "
                         "function would (Lambda stops it at its timeout); a stop meanwhile lets its change land "
                         "after the stop; repeat for more")
    up.add_argument("--time-limit", action="append", metavar="STEP:SECONDS",
                    help="deploy the step's function with a timeout of SECONDS instead of the stack's: Lambda stops "
                         "it then, and the undo of a stopped release waits only that long for it; repeat for more")
    up.add_argument("--event-delivery", default="normal", metavar="normal|twice|late:SECONDS|lost",
                    help="how the status change of a stopped, timed-out or failed release reaches its undo: once at "
                         "once (normal), twice at once, SECONDS late, or never (lost) (default: normal)")
    up.add_argument("--sweep-every", type=float, default=None, metavar="SECONDS",
                    help="how often the stack's schedule sweeps for releases that ended holding their lock with no "
                         "undo started (default: never in the sandbox)")
    up.add_argument("--settings", metavar="FILE",
                    help="the stack's settings (cdk.json, or a JSON object of cutover:… keys): the steps' IAM is "
                         "scoped as that stack's, so the rehearsal runs under your own names (default: the demo's)")
    up.add_argument("--traffic", type=float, metavar="RPS",
                    help="send RPS simulated requests a second through the public rule, split by its weights, and "
                         "publish each target group's AWS/ApplicationELB metrics (for release.analysis)")
    up.add_argument("--version-behaviour", action="append", metavar="VERSION:error_rate=R,p99_ms=N",
                    help="how a version answers the simulated requests: a share of 5XX answers and a p99 response "
                         "time (default 0 and 100 ms); needs --traffic; repeat for more versions")
    up.set_defaults(handler=local.cmd_sandbox_up)
    return parser
