"""`cutover init-stack DIR`: the CDK app a pip user deploys the stack with (app.py and cdk.json), as the
repository's own, written where they keep their infrastructure."""
from __future__ import annotations

import json
import os

from cutover.exits import UsageError

APP = '''#!/usr/bin/env python3
"""The Cutover stack from the installed package (pip install "cutover[cdk]"): `cdk deploy` deploys it."""
import os

import aws_cdk as cdk

from cutover.cdk import CutoverStack

# The CDK CLI says where to write through CDK_OUTDIR; run directly, the app writes to cdk.out/.
app = cdk.App(outdir=os.environ.get("CDK_OUTDIR", "cdk.out"))
CutoverStack(app, app.node.try_get_context("cutover:stackName") or "Cutover")
app.synth()
'''

# The stack's settings (cutover/cdk/settings.py, docs/deploying.md), each at its default: narrow them
# before deploying to production.
CONTEXT = {
    "cutover:stackName": "Cutover",
    "cutover:clusterNames": [],
    "cutover:listenerRuleArns": [],
    "cutover:listenerArns": [],
    "cutover:taskRoleArns": [],
    "cutover:taskDefinitionFamilies": [],
    "cutover:targetGroupNamePrefix": "",
    "cutover:serviceNamePrefix": "",
    "cutover:configBucketNames": [],
    "cutover:notificationEmails": [],
    "cutover:traceAwsCalls": False,
    "cutover:checkFunctionArns": [],
    "cutover:checkSubnetIds": [],
    "cutover:checkSecurityGroupIds": [],
    "cutover:sweepMinutes": "",
    "cutover:configKeyArns": [],
    "cutover:infrastructureRoleArns": [],
    "cutover:ledgerRetentionDays": 730,
}


def cdk_json() -> str:
    return json.dumps({"app": "python3 app.py", "context": CONTEXT}, indent=2) + "\n"


def write(directory: str, force: bool = False) -> list[str]:
    """app.py and cdk.json in `directory` (made if needed); refuses to overwrite unless `force`."""
    files = {"app.py": APP, "cdk.json": cdk_json()}
    paths = {name: os.path.join(directory, name) for name in files}
    existing = [path for path in paths.values() if os.path.exists(path)]
    if existing and not force:
        raise UsageError(f"{', '.join(existing)} exist already; give --force to overwrite, or another DIR")
    os.makedirs(directory, exist_ok=True)
    for name, text in files.items():
        with open(paths[name], "w", encoding="utf-8") as f:
            f.write(text)
    return list(paths.values())
