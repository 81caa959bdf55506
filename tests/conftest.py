"""Shared fixtures for every test tier."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _clear_sigil_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's SIGIL_* variables: each sets what it needs."""
    for name in list(os.environ):
        if name.startswith("SIGIL_"):
            monkeypatch.delenv(name, raising=False)
    yield
