"""Shared fixtures for every test tier and every test directory (tests/, tools/tests/, bench/tests/, deploy/tests/)."""

from __future__ import annotations

import os
from collections.abc import Iterator

# LiteLLM fetches its model cost map from the network at import unless told to use its bundled copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import pytest

from sigil_sdk_litellm.proxy.settings.loading import _WARNED


@pytest.fixture(autouse=True)
def _clear_sigil_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's SIGIL_*, AGENTO11Y_* or OTEL_* variables: each sets what it needs."""
    for name in list(os.environ):
        if name.startswith(("SIGIL_", "AGENTO11Y_", "OTEL_")):
            monkeypatch.delenv(name, raising=False)
    _WARNED.clear()  # configuration warnings are logged once per process; each test is a fresh start
    yield


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups (--dist loadgroup)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The container suite on one worker under `make test` (-n 2): its session fixtures build the image
    and start the engine's service once."""
    for item in items:
        if item.get_closest_marker("container") is not None:
            item.add_marker(pytest.mark.xdist_group("container"))
