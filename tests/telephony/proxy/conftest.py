"""Fixtures every proxy test file shares: the SIPp peers of a test, a free port for a callee."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.telephony.proxy.harness import Peers, free_port


@pytest.fixture
def peers(tmp_path: Path) -> Iterator[Peers]:
    made = Peers(tmp_path)
    yield made
    made.close()


@pytest.fixture
def callee_port() -> int:
    return free_port()
