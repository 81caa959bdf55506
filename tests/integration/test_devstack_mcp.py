"""``make run`` (``sigil-litellm-devstack``) serves the dev stack's MCP tools through the proxy's ``/mcp``,
and a tool call there reaches the sink's OTLP receiver as an ``execute_tool`` span."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from typing import Any

import pytest
from sigil_devstack.children import free_port
from sigil_devstack.proxy import new_master_key

pytestmark = pytest.mark.integration
HOST = "127.0.0.1"


def spans(sink_port: int, name: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(
        f"http://{HOST}:{sink_port}/api/v1/spans?{urllib.parse.urlencode({'name': name})}", timeout=5
    ) as response:
        return list(json.loads(response.read())["items"])


def call_tool(proxy_url: str, key: str) -> tuple[bool, str]:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async def run() -> tuple[bool, str]:
        headers = {"x-litellm-api-key": f"Bearer {key}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            Client(streamable_http_client(f"{proxy_url}/mcp/", http_client=http)) as client,
        ):
            result = await client.call_tool("devstack-echo", {"text": "from make run"})
        return bool(result.is_error), "".join(getattr(block, "text", "") for block in result.content)

    return asyncio.run(run())


def test_make_run_serves_the_mcp_tools_and_records_their_calls() -> None:
    ports = {name: free_port(HOST) for name in ("PROXY_PORT", "SINK_HTTP_PORT", "SINK_GRPC_PORT")}
    ports |= {name: free_port(HOST) for name in ("FAKE_LLM_PORT", "MCP_TOOLS_PORT")}
    key = new_master_key()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGIL_", "OTEL_"))}
    env |= {name: str(port) for name, port in ports.items()} | {"LITELLM_MASTER_KEY": key}
    launcher = subprocess.Popen(
        [sys.executable, "-m", "sigil_devstack"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    proxy_url = f"http://{HOST}:{ports['PROXY_PORT']}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and launcher.poll() is None:
            try:
                with urllib.request.urlopen(f"{proxy_url}/health/liveliness", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        assert launcher.poll() is None, "the dev stack stopped"
        assert call_tool(proxy_url, key) == (False, "echo: from make run")
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        while not found and time.monotonic() < deadline:
            found = spans(ports["SINK_HTTP_PORT"], "execute_tool echo")
            time.sleep(0.2)
        assert len(found) == 1
        assert found[0]["attributes"]["litellm.mcp.server.name"] == "devstack"
        assert found[0]["_tenant"] == "dev"
    finally:
        launcher.send_signal(signal.SIGTERM)
        output, _ = launcher.communicate(timeout=60)
    assert launcher.returncode == 0, output.decode()[-3000:]
    assert b"devstack: stopped" in output
