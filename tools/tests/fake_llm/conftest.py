"""The fake upstream the fake_llm tests share: one per module (module scope)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_llm.testing import FakeLLMProcess


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLLMProcess]:
    with FakeLLMProcess() as process:
        yield process
