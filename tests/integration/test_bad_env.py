"""The real LiteLLM proxy with a wrong SIGIL_* value: it must not start, and say why in one line.

One row through a real ``litellm --config`` (the process's exit status and the last line of its output); the
others, and the guardrail configured alone, through the same start path in process
(tests/unit/proxy/test_bad_env.py), where a LiteLLM start each would cost its import.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sigil_devstack.proxy import LAUNCH_ENV, ProxyProcess

from tests.integration.conftest import ProxyConfig
from tests.unit.proxy.test_bad_env import CASES, TOKEN

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("env", "expected"), [c[1:] for c in CASES[:1]], ids=[c[0] for c in CASES[:1]])
def test_a_bad_setting_stops_the_proxy_with_one_line(
    tmp_path: Path, proxy_config: ProxyConfig, env: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(LAUNCH_ENV, raising=False)  # the real ``litellm`` executable, not a fork
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
