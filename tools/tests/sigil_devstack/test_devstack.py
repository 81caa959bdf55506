"""``make run``'s launcher: four processes up, a request's generation and an MCP tool call's span on the
sink, Ctrl-C stops all."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import anthropic
import openai
import pytest
from sigil_devstack.children import free_port
from sigil_mock_sink.testing import SinkProcess

from tests.scenarios import SinkReader, new_conversation

pytestmark = pytest.mark.integration


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def call_tool(proxy_url: str, key: str) -> tuple[bool, str]:
    """``devstack-echo`` through the proxy's ``/mcp`` with the official ``mcp`` client: (is an error, text)."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async def run() -> tuple[bool, str]:
        async with (
            httpx2.AsyncClient(headers={"x-litellm-api-key": f"Bearer {key}"}, timeout=30) as http,
            Client(streamable_http_client(f"{proxy_url}/mcp/", http_client=http)) as client,
        ):
            result = await client.call_tool("devstack-echo", {"text": "from make run"})
        return bool(result.is_error), "".join(getattr(block, "text", "") for block in result.content)

    return asyncio.run(run())


def test_make_run_stack_serves_records_and_stops_on_ctrl_c() -> None:
    ports = {name: free_port() for name in ("proxy", "http", "grpc", "fake", "mcp")}
    cmd = [
        sys.executable,
        "-m",
        "sigil_devstack",
        "--proxy-port",
        str(ports["proxy"]),
        "--sink-http-port",
        str(ports["http"]),
        "--sink-grpc-port",
        str(ports["grpc"]),
        "--fake-llm-port",
        str(ports["fake"]),
        "--mcp-tools-port",
        str(ports["mcp"]),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGIL_", "OTEL_")) and k != "LITELLM_MASTER_KEY"}
    stack = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 150
        assert stack.stdout is not None
        while time.monotonic() < deadline:
            line = stack.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Ctrl-C stops all four" in line:
                break
        text = "".join(output)
        assert "Ctrl-C stops all four" in text, text[-3000:]
        key = re.search(r"master key\s+(sk-[0-9a-f]{64})", text)
        assert key, text
        assert f"http://127.0.0.1:{ports['http']}/" in text

        conv = new_conversation()
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{ports['proxy']}/v1", api_key=key.group(1), max_retries=0)
        reply = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hello from make run"}],
            extra_body={"metadata": {"conversation_id": conv}},
        )
        assert reply.choices[0].message.content == "echo: hello from make run"
        [g] = SinkReader(f"http://127.0.0.1:{ports['http']}").wait_for(1, conversation_id=conv)
        assert g["agent_name"] == "litellm-proxy"
        # its span reached the sink's OTLP receiver (the page shows it with the generation)
        running = SinkProcess(http_port=ports["http"], grpc_port=0)  # a client of the devstack's sink, not started
        spans = running.wait_for_spans(1, trace_id=g["trace_id"], span_id=g["span_id"])
        assert [s["attributes"]["sigil.generation.id"] for s in spans] == [g["id"]]
        # the Anthropic model is served by the fake too, and a failed request leaves the model in service
        claude_conv = new_conversation()
        claude = anthropic.Anthropic(
            base_url=f"http://127.0.0.1:{ports['proxy']}",
            api_key=key.group(1),
            max_retries=0,
            default_headers={"x-litellm-session-id": claude_conv},
        )
        message = claude.messages.create(
            model="claude-sonnet-4-5", max_tokens=32, messages=[{"role": "user", "content": "hello claude"}]
        )
        assert message.content[0].text == "echo: hello claude"  # type: ignore[union-attr]
        [g] = SinkReader(f"http://127.0.0.1:{ports['http']}").wait_for(1, conversation_id=claude_conv)
        assert g["model"] == {"provider": "anthropic", "name": "claude-sonnet-4-5"}
        with pytest.raises(openai.NotFoundError):
            client.responses.create(model="gpt-4o-mini", input="[fake:error-404]")
        assert client.responses.create(model="gpt-4o-mini", input="still here").output_text == "echo: still here"
        # the MCP server's tools at the proxy's /mcp; a call is an execute_tool span at the sink
        assert call_tool(f"http://127.0.0.1:{ports['proxy']}", key.group(1)) == (False, "echo: from make run")
        [tool] = running.wait_for_spans(1, name="execute_tool echo")
        assert tool["attributes"]["litellm.mcp.server.name"] == "devstack"
        with urllib.request.urlopen(f"http://127.0.0.1:{ports['http']}/", timeout=5) as page:
            assert page.status == 200

        stack.send_signal(signal.SIGINT)
        assert stack.wait(60) == 0
        rest = stack.stdout.read()
        assert "devstack: stopped" in rest
        for port in ports.values():
            assert not port_open(port), f"port {port} still open after Ctrl-C"
    finally:
        if stack.poll() is None:
            stack.kill()
            stack.wait(10)
