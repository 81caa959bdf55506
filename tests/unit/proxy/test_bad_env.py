"""A wrong SIGIL_* value at the proxy's start, in process: ``sigil_callback.py`` executed as LiteLLM executes
it, and the guardrail built as LiteLLM builds it from config.yaml, with the proxy's module loaded (so the
bootstrap takes its in-proxy exit, ``os._exit(3)``, recorded here instead of ending pytest).

The same rows through a real ``litellm --config`` cost a LiteLLM start each; one of them still runs that way
(tests/integration/test_bad_env.py: the exit status and the last line of the process's output).
"""

from __future__ import annotations

import os
import runpy
import sys
import types
from pathlib import Path

import pytest

from sigil_sdk_litellm.proxy import bootstrap
from sigil_sdk_litellm.proxy.guardrail import SigilGuardrail

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "sk-sigil-bad-env-token-4c1d"
# a few rows of the settings table through the proxy's start (test_bootstrap.py runs them all through
# bootstrap_from_env); the whole line is compared for the first, the start of it for the others
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
    (
        "redact-secrets",
        {"AGENTO11Y_REDACT_SECRETS": "strict"},
        "sigil: invalid configuration: SIGIL_REDACT_SECRETS='strict' (from AGENTO11Y_REDACT_SECRETS) — accepted: "
        "off, lightweight, full",
    ),
]


@pytest.fixture
def exits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Inside the proxy: its module is loaded (the bootstrap's sign), ``os._exit`` records its status and
    raises SystemExit; no handler is cached from another test."""
    statuses: list[int] = []

    def record_exit(status: int) -> None:
        statuses.append(status)
        raise SystemExit(status)

    monkeypatch.setattr(os, "_exit", record_exit)
    monkeypatch.setitem(sys.modules, "litellm.proxy.proxy_server", types.ModuleType("litellm.proxy.proxy_server"))
    monkeypatch.setattr(bootstrap, "_bootstrapped", None)
    return statuses


def printed(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> str:
    """Everything the process would have printed: stdout, stderr and the log."""
    captured = capsys.readouterr()
    return captured.out + captured.err + caplog.text


@pytest.mark.parametrize(("env", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_setting_stops_the_bootstrap_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    exits: list[int],
    env: dict[str, str],
    expected: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit):
        runpy.run_path(str(ROOT / "sigil_callback.py"))
    output = printed(capsys, caplog)
    assert exits == [3], output[-3000:]  # bootstrap's EXIT_STARTUP_FAILURE: non-zero, and no restart loop
    assert bootstrap._bootstrapped is None, "a handler was built: the proxy would serve"
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines[-1].startswith(expected), output[-3000:]
    assert lines[-1] == expected or expected != CASES[0][2]
    assert output.count("sigil: invalid configuration") == 1
    assert "Traceback" not in output
    assert TOKEN not in output


def test_the_guardrail_alone_stops_the_bootstrap_with_one_line_too(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    exits: list[int],
) -> None:
    """The Sigil guardrail in config.yaml without the Sigil callback reads the same settings, and stops the
    proxy the same way on a wrong value (built with the options LiteLLM passes from ``guardrails:``)."""
    monkeypatch.setenv("SIGIL_HOOKS_TIMEOUT", "500ms")
    with pytest.raises(SystemExit):
        SigilGuardrail(guardrail_name="sigil", event_hook=["pre_call"], default_on=True)
    output = printed(capsys, caplog)
    assert exits == [3], output[-3000:]
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines[-1].startswith("sigil: invalid configuration: SIGIL_HOOKS_TIMEOUT='500ms'"), output[-3000:]
    assert "Traceback" not in output
