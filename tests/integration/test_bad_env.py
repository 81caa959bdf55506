"""The real LiteLLM proxy with a wrong SIGIL_* value: it must not start, and say why in one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sigil_devstack.proxy import ProxyProcess

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "sk-sigil-bad-env-token-4c1d"
# a few rows of the settings table through the real proxy (tests/unit/proxy/test_bootstrap.py runs them all
# through the bootstrap); the whole line is compared for the first, the start of it for the others
CASES = [
    (
        "auth-mode",
        {"SIGIL_AUTH_MODE": "bearr"},
        "sigil: invalid configuration: SIGIL_AUTH_MODE='bearr' — accepted: none, tenant, bearer, basic",
    ),
    ("token-missing", {"SIGIL_AUTH_MODE": "bearer"}, "sigil: invalid configuration: SIGIL_AUTH_TOKEN"),
    (
        "token-without-mode",
        {"SIGIL_AUTH_TOKEN": TOKEN},
        "sigil: invalid configuration: SIGIL_AUTH_MODE is not set (so none)",
    ),
    ("ca-file", {"SIGIL_TLS_CA_FILE": "/nonexistent/ca.pem"}, "sigil: invalid configuration: SIGIL_TLS_CA_FILE="),
    (
        "tenant-map-token-file",
        {"SIGIL_TENANT_MAP": '{"team_id:a": {"tenant_id": "a", "token_file": "/nonexistent/token"}}'},
        "sigil: invalid configuration: SIGIL_TENANT_MAP (value hidden) — accepted: a JSON object",
    ),
    (
        "agento11y-alias",
        {"AGENTO11Y_PROTOCOL": "grcp"},
        "sigil: invalid configuration: SIGIL_PROTOCOL='grcp' (from AGENTO11Y_PROTOCOL) — accepted: grpc, http",
    ),
]
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


@pytest.mark.parametrize(("env", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_setting_stops_the_proxy_with_one_line(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    proxy = ProxyProcess(config=proxy_config(tmp_path), env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", **env})
    try:
        proxy.start(wait=False)
        status = proxy.wait_exit(timeout=120)
        output = proxy.output()
        assert status is not None, f"the proxy is still running:\n{output[-3000:]}"
        assert status == 3, output[-3000:]  # bootstrap's EXIT_STARTUP_FAILURE: non-zero, and no restart loop
        assert not proxy.is_live()
        lines = [line for line in output.splitlines() if line.strip()]
        assert lines[-1].startswith(expected), output[-3000:]
        assert lines[-1] == expected or expected != CASES[0][2]
        assert output.count("sigil: invalid configuration") == 1
        assert "Traceback" not in output
        assert TOKEN not in output
    finally:
        proxy.stop()


GUARDRAIL_ONLY = """\
model_list:
  - model_name: m
    litellm_params: {model: openai/m, api_base: "http://127.0.0.1:9/v1", api_key: x}
guardrails:
  - guardrail_name: sigil
    litellm_params: {guardrail: sigil_sdk_litellm.proxy.guardrail.SigilGuardrail, mode: [pre_call], default_on: true}
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
"""


def test_the_guardrail_alone_stops_the_proxy_with_one_line_too(tmp_path: Path) -> None:
    """The Sigil guardrail in config.yaml without the Sigil callback reads the same settings, and stops the
    proxy the same way on a wrong value."""
    config = tmp_path / "config.yaml"
    config.write_text(GUARDRAIL_ONLY)
    proxy = ProxyProcess(config=config, env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", "SIGIL_HOOKS_TIMEOUT": "500ms"})
    try:
        proxy.start(wait=False)
        status = proxy.wait_exit(timeout=120)
        output = proxy.output()
        assert status == 3, output[-3000:]
        lines = [line for line in output.splitlines() if line.strip()]
        assert lines[-1].startswith("sigil: invalid configuration: SIGIL_HOOKS_TIMEOUT='500ms'"), output[-3000:]
        assert "Traceback" not in output
    finally:
        proxy.stop()
