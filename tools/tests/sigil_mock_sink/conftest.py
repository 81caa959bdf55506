"""The sink the test_sink_* modules share: one per module (module scope), tenant auth."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sigil_mock_sink.testing import SinkProcess


@pytest.fixture(scope="module")
def sink() -> Iterator[SinkProcess]:
    with SinkProcess(auth="tenant") as process:
        yield process
