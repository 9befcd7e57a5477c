from __future__ import annotations

import pytest

from tests.unit.configs import raw_config


@pytest.fixture
def raw() -> dict:
    return raw_config()
