"""The data plane wakes on the writes that can change what it does: named as the AWS APIs name them,
a misspelt action would leave it asleep until its longest wait."""
from __future__ import annotations

import threading

import botocore.session
import pytest

from cutover.local import account_changes, dataplane


@pytest.mark.parametrize("watched", [key for key in dataplane.WATCHED if key != dataplane.FAILING])
def test_every_write_the_data_plane_waits_for_is_an_action_of_its_service(watched):
    service, action = watched.split(":")
    assert action in botocore.session.get_session().get_service_model(service).operation_names


def test_a_write_ends_the_wait_of_a_watcher_of_its_action_or_its_service_only():
    stop = threading.Event()
    before = account_changes.seen(("elbv2:ModifyRule",)), account_changes.seen(("ecs",))
    account_changes.written("elbv2", "ModifyRule")
    assert account_changes.seen(("elbv2:ModifyRule",)) == before[0] + 1
    assert account_changes.seen(("ecs",)) == before[1]
    # A watcher of ModifyRule sees it; one of ECS waits its whole time and sees none
    assert account_changes.wait(("elbv2:ModifyRule",), before[0], timeout=30, stop=stop)
    assert not account_changes.wait(("ecs",), before[1], timeout=0.05, stop=stop)


def test_failing_services_wake_the_data_plane_as_a_write_would():
    plane = dataplane.DataPlane(None, make_client=lambda name: None)
    before = account_changes.seen(dataplane.WATCHED)
    plane.failing.add("web-2")
    plane.failing.discard("web-2")
    assert account_changes.seen(dataplane.WATCHED) == before + 2
