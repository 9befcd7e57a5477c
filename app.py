#!/usr/bin/env python3
"""Synthesizes the Cutover stack (`cdk synth`, `cdk deploy`, or `python app.py` into cdk.out/)."""
import os

import aws_cdk as cdk

from cutover.cdk import CutoverStack

# The CDK CLI says where to write through CDK_OUTDIR; run directly, the app writes to cdk.out/.
app = cdk.App(outdir=os.environ.get("CDK_OUTDIR", "cdk.out"))
CutoverStack(app, app.node.try_get_context("cutover:stackName") or "Cutover")
app.synth()
