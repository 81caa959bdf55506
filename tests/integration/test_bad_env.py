"""The real LiteLLM proxy with a wrong SIGIL_* value: it must not start, and say why in one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sigil_devstack.proxy import ProxyProcess

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = "sigil: invalid configuration: SIGIL_AUTH_MODE='bearr' — accepted: none, tenant, bearer, basic"
CONFIG = """\
model_list:
  - model_name: m
    litellm_params: {{model: openai/m, api_base: "{api_base}", api_key: x}}
litellm_settings:
  callbacks: sigil_callback.sigil_handler
"""


def proxy_config(directory: Path, api_base: str = "http://127.0.0.1:9/v1") -> Path:
    """config.yaml with sigil_callback.py next to it: LiteLLM executes that file (this checkout's)."""
    config = directory / "config.yaml"
    config.write_text(CONFIG.format(api_base=api_base))
    shutil.copy(ROOT / "sigil_callback.py", directory / "sigil_callback.py")
    return config


def test_bad_auth_mode_stops_the_proxy_with_one_line(tmp_path: Path) -> None:
    proxy = ProxyProcess(
        config=proxy_config(tmp_path),
        env={"SIGIL_AUTH_MODE": "bearr", "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
    )
    try:
        proxy.start(wait=False)
        status = proxy.wait_exit(timeout=120)
        output = proxy.output()
        assert status is not None, f"the proxy is still running:\n{output[-3000:]}"
        assert status == 3, output[-3000:]  # bootstrap's EXIT_STARTUP_FAILURE: non-zero, and no restart loop
        assert not proxy.is_live()
        lines = [line for line in output.splitlines() if line.strip()]
        assert lines[-1] == EXPECTED, output[-3000:]
        assert output.count("sigil: invalid configuration") == 1
        assert "Traceback" not in output
    finally:
        proxy.stop()
