"""The CDK's Node end-of-life banner is quieted by naming the Node's major version, which is what jsii reads."""
from __future__ import annotations

import os
import stat

from cutover.local import node_banner


def _node(tmp_path, prints: str, code: int = 0) -> str:
    path = tmp_path / "node"
    path.write_text(f"#!/bin/sh\necho '{prints}'\nexit {code}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_the_variable_names_the_major_version_of_the_node_jsii_runs(tmp_path, monkeypatch):
    # Given jsii pointed at a Node 20, and the variable set as it once was (a value jsii does not match)
    monkeypatch.setenv("JSII_NODE", _node(tmp_path, "v20.20.2"))
    monkeypatch.setenv(node_banner.VARIABLE, "1")
    # When the banner is quieted, twice
    node_banner.quiet()
    node_banner.quiet()
    # Then the variable lists 20 once, beside what was there
    assert os.environ[node_banner.VARIABLE] == "1,20"


def test_a_node_that_does_not_run_leaves_the_variable_as_it_was(tmp_path, monkeypatch):
    monkeypatch.delenv(node_banner.VARIABLE, raising=False)
    monkeypatch.setenv("JSII_NODE", str(tmp_path / "absent"))
    node_banner.quiet()
    monkeypatch.setenv("JSII_NODE", _node(tmp_path, "not a version", code=1))
    node_banner.quiet()
    assert node_banner.VARIABLE not in os.environ
