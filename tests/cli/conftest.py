"""The command line's tests against the local engine share this: one account per test module, whose
tests follow one another's releases, and the demo service with version 1 serving in it."""
from __future__ import annotations

from typing import Any

import pytest

from cutover.local import environment
from tests.cli.helpers import demo_service


@pytest.fixture(scope="module")
def engine(worker_engine):
    with worker_engine.new_account() as running:
        yield running


@pytest.fixture(scope="module")
def demo(engine, tmp_path_factory) -> dict[str, Any]:
    """The demo environment, no version deployed yet, and its config written where a user keeps it."""
    return demo_service(engine, tmp_path_factory.mktemp("service"))


@pytest.fixture(scope="module")
def live(engine, demo) -> dict[str, Any]:
    """Version 1 serves the public rule, as an earlier release left it."""
    environment.bootstrap_live_version(engine.client, demo["config"])
    return demo
