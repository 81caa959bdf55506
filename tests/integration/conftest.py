"""The integration tier's fixtures: the fake upstream, the mock sink and config.yaml for the real proxy.

``fake`` is one fake upstream per test module (as each module had its own before: a module that counts
the upstream's requests sees only its own). ``proxy_config`` writes a config.yaml beside this checkout's
``sigil_callback.py`` (LiteLLM executes that file from the config's directory), and any helper files
the config names (``team_keys_auth.py`` for ``custom_auth``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fake_llm.testing import FakeLLMProcess
from sigil_devstack import proxy as devstack_proxy
from sigil_mock_sink.testing import SinkProcess

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
# one model at an address nobody answers: enough for a proxy that must stop at start
MINIMAL_CONFIG = """\
model_list:
  - model_name: m
    litellm_params: {{model: openai/m, api_base: "{api_base}", api_key: x}}
litellm_settings:
  callbacks: sigil_callback.sigil_handler
"""
ProxyConfig = Callable[..., Path]


def write_proxy_config(directory: Path, text: str, *helpers: str, callback_file: bool = True) -> Path:
    """``directory/config.yaml`` holding ``text``, with each of ``helpers`` (file names in
    tests/integration/) copied beside it, and ``sigil_callback.py`` unless ``callback_file`` is false
    (LiteLLM then imports the installed module of that name: the same file of this checkout)."""
    config = directory / "config.yaml"
    config.write_text(text, encoding="utf-8")
    if callback_file:
        shutil.copy(ROOT / "sigil_callback.py", directory / "sigil_callback.py")
    for name in helpers:
        shutil.copy(HERE / name, directory / name)
    return config


@pytest.fixture(scope="session", autouse=True)
def _proxy_zygote() -> Iterator[None]:
    """Proxies fork from one zygote per pytest worker, which pays LiteLLM's import once (zygote.py)."""
    os.environ.setdefault(devstack_proxy.LAUNCH_ENV, "fork")
    yield
    devstack_proxy.stop_zygote()
    counts = os.environ.get("DEVSTACK_PROXY_LAUNCH_COUNTS")
    if counts:
        with open(counts, "a") as out:
            out.write(f"{dict(devstack_proxy.LAUNCHES)}\n")


@pytest.fixture
def proxy_config() -> ProxyConfig:
    """``proxy_config(directory, api_base=..., text=MINIMAL_CONFIG, helpers=())``: the path of a written
    config.yaml (``text`` is formatted with ``api_base``)."""

    def write(
        directory: Path,
        api_base: str = "http://127.0.0.1:9/v1",
        text: str = MINIMAL_CONFIG,
        helpers: tuple[str, ...] = (),
    ) -> Path:
        return write_proxy_config(directory, text.format(api_base=api_base), *helpers)

    return write


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLLMProcess]:
    """The fake OpenAI/Anthropic upstream, one per test module."""
    with FakeLLMProcess() as process:
        yield process


@pytest.fixture(scope="module")
def tenant_sink() -> Iterator[SinkProcess]:
    """A mock sink requiring ``X-Scope-OrgID`` (auth ``tenant``), one per test module."""
    with SinkProcess(auth="tenant") as sink:
        yield sink
