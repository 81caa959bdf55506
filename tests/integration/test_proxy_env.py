"""The real LiteLLM proxy configured by SIGIL_* only: disabled it serves; enabled it exports, flushing at exit."""

from __future__ import annotations

import json
import secrets
import urllib.request
from pathlib import Path

import pytest
from sigil_devstack.proxy import ProxyProcess

from tests.capture_sink import CaptureSink
from tests.integration.conftest import ProxyConfig

pytestmark = pytest.mark.integration

TOKEN = "tok-" + secrets.token_hex(12)


def chat(proxy: ProxyProcess, **body: object) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        f"{proxy.base_url}/v1/chat/completions",
        data=json.dumps({"model": "m", "messages": [{"role": "user", "content": "Hi"}], **body}).encode(),
        headers={"Authorization": f"Bearer {proxy.master_key}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_disabled_proxy_starts_and_serves(tmp_path: Path, proxy_config: ProxyConfig) -> None:
    env = {"SIGIL_ENABLED": "false", "SIGIL_AUTH_MODE": "bearer"}  # no token: ignored when disabled
    with CaptureSink() as upstream, ProxyProcess(config=proxy_config(tmp_path, f"{upstream.url}/v1"), env=env) as proxy:
        status, body = chat(proxy)
        assert status == 200, body
        output = proxy.output()
        assert upstream.exports == [], "nothing is exported"
    assert output.count("sigil: SIGIL_ENABLED=false: the proxy runs without Sigil telemetry") == 1, output[-3000:]
    assert "sigil: invalid configuration" not in output


def test_enabled_proxy_exports_and_flushes_at_exit(tmp_path: Path, proxy_config: ProxyConfig) -> None:
    with CaptureSink() as sink:
        env = {
            "SIGIL_PROTOCOL": "http",
            "SIGIL_ENDPOINT": sink.url,
            "SIGIL_AUTH_MODE": "bearer",
            "SIGIL_AUTH_TOKEN": TOKEN,
            "SIGIL_FLUSH_INTERVAL": "3600",  # nothing is exported before the proxy exits
            "SIGIL_TAGS": "deployment=test",
        }
        proxy = ProxyProcess(config=proxy_config(tmp_path, f"{sink.url}/v1"), env=env)
        try:
            proxy.start()
            status, body = chat(proxy)
            assert status == 200, body
            assert sink.generations() == []
        finally:
            returncode = proxy.stop()
        output = proxy.output()  # still readable after stop()
        generations = sink.wait_for_generations(1, timeout=10)
    assert returncode is not None
    assert f"sigil: exporting generations to {sink.url} over http (auth: bearer, recorder: " in output, output[-3000:]
    assert TOKEN not in output
    assert len(generations) == 1, output[-3000:]
    assert sink.exports[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert generations[0]["tags"]["deployment"] == "test"
    assert generations[0]["model"] == {"provider": "openai", "name": "m"}
    assert generations[0]["output"][0]["parts"][0]["text"] == "Hello!"
