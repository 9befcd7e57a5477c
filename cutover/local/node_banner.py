"""Keeps the CDK's Node end-of-life banner out of the sandbox's output when Cutover synthesizes the stack itself.

jsii, which runs the CDK in Node, prints a large banner on every start whose Node release is past its
end of life. It stays quiet only when JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION lists that
release's major version, comma-separated (aws/jsii#4325, `@jsii/check-node`): any other value, `1`
included, silences nothing. The banner says nothing about the rehearsal that a user could act on
there, so `sandbox up --settings` and the tests name the Node that will run. `cdk synth` and
`cdk deploy` of a user's own app keep it.
"""
from __future__ import annotations

import os
import subprocess
from functools import lru_cache

VARIABLE = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"


@lru_cache(maxsize=None)
def major_version(node: str) -> str | None:
    """The major version of the Node at `node` ("20" for v20.20.2); None when it does not run. Asked once
    per process: the sandbox quiets the banner when it reads the settings and again when it synthesizes."""
    try:
        done = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    version = done.stdout.strip().removeprefix("v")
    return version.split(".")[0] if done.returncode == 0 and version[:1].isdigit() else None


def quiet() -> None:
    """Name the Node jsii will run (JSII_NODE, else `node`) in the variable, unless it names it already."""
    listed = [v.strip() for v in os.environ.get(VARIABLE, "").split(",") if v.strip()]
    major = major_version(os.environ.get("JSII_NODE", "node"))
    if major and major not in listed:
        os.environ[VARIABLE] = ",".join([*listed, major])
