"""MCP tool calls recorded (issue #24, deliverable 2), for real: the proxy with ``mcp_servers`` naming the
dev stack's MCP server (``sigil_devstack.mcp_tools``), the official ``mcp`` client over streamable HTTP at
the proxy's ``/mcp``, and each call read back as an ``execute_tool`` span at the mock sink's OTLP receiver
(tool executions are spans only).

Three stacks: in process; in a recorder process behind the disk spool; and capture off (no argument or
result text in the span).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sigil_devstack.mcp_tools import SERVER, McpToolsProcess, config_with_server
from sigil_devstack.proxy import DEFAULT_CONFIG, ProxyProcess
from sigil_mock_sink.testing import SinkProcess

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("mcp_tool_calls")]
AGENT = "mcp-agent"


@dataclass
class Stack:
    name: str
    sink: SinkProcess
    proxy: ProxyProcess
    spool: Path | None

    def call(self, tool: str, arguments: dict[str, Any], session: str) -> tuple[bool, str]:
        """One tool call through the proxy's ``/mcp``: (is an error, its text)."""
        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client

        async def run() -> tuple[bool, str]:
            headers = {
                "x-litellm-api-key": f"Bearer {self.proxy.master_key}",
                "x-litellm-agent-id": AGENT,
                "x-litellm-session-id": session,
            }
            async with (
                httpx2.AsyncClient(headers=headers, timeout=30) as http,
                Client(streamable_http_client(f"{self.proxy.base_url}/mcp/", http_client=http)) as client,
            ):
                result = await client.call_tool(f"{SERVER}-{tool}", arguments)
            return bool(result.is_error), "".join(getattr(block, "text", "") for block in result.content)

        return asyncio.run(run())

    def tool_span(self, tool: str, session: str) -> dict[str, Any]:
        """The one ``execute_tool`` span of ``tool`` in conversation ``session``, waited for."""

        def of_session() -> list[dict[str, Any]]:
            spans = self.sink.spans(name=f"execute_tool {tool}")
            return [s for s in spans if s["attributes"].get("gen_ai.conversation.id") == session]

        deadline = time.monotonic() + 30
        while not (found := of_session()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(found) == 1, f"{len(found)} execute_tool spans of {tool} in {session} ({self.name})"
        return found[0]


STACKS = {
    "inprocess": {"SIGIL_RECORDER": "inprocess"},
    "process+spool": {"SIGIL_RECORDER": "process", "SIGIL_SPOOL_DIR": "{tmp}/spool"},
    "capture off": {"SIGIL_RECORDER": "inprocess", "SIGIL_CAPTURE_INPUTS": "false", "SIGIL_CAPTURE_OUTPUTS": "false"},
}


@pytest.fixture(scope="module", params=list(STACKS))
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("mcp-calls")
    with McpToolsProcess() as tools, SinkProcess(auth="none") as sink:
        config_file = config_with_server(DEFAULT_CONFIG, tools.url, tmp)
        env = {
            "SIGIL_ENDPOINT": sink.http_url,
            "SIGIL_PROTOCOL": "http",
            "SIGIL_AUTH_MODE": "none",
            "SIGIL_FLUSH_INTERVAL": "0.2",
            "OTEL_EXPORTER_OTLP_ENDPOINT": sink.otlp_http_endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            **{key: value.format(tmp=tmp) for key, value in STACKS[request.param].items()},
        }
        spool = Path(env["SIGIL_SPOOL_DIR"]) if "SIGIL_SPOOL_DIR" in env else None
        with ProxyProcess(config=config_file, env=env) as proxy:
            yield Stack(request.param, sink, proxy, spool)


def session() -> str:
    return f"mcp-{uuid.uuid4().hex[:12]}"


def test_a_tool_call_is_an_execute_tool_span(stack: Stack) -> None:
    conversation, text = session(), f"hello {uuid.uuid4().hex[:8]}"
    assert stack.call("echo", {"text": text}, conversation) == (False, f"echo: {text}")
    span = stack.tool_span("echo", conversation)
    attributes = span["attributes"]
    assert attributes["gen_ai.operation.name"] == "execute_tool"
    assert attributes["gen_ai.tool.name"] == "echo"
    assert attributes["gen_ai.tool.type"] == "extension"
    assert attributes["litellm.mcp.server.name"] == SERVER
    assert attributes["mcp.method.name"] == "tools/call"
    assert attributes["gen_ai.agent.name"] == AGENT  # the request's x-litellm-agent-id
    assert attributes["litellm.call_type"] == "call_mcp_tool"
    assert attributes["gen_ai.tool.call.id"] == attributes["litellm.call_id"]
    assert span["status"]["code"] != "STATUS_CODE_ERROR"
    if stack.spool is not None:
        assert any(stack.spool.glob("*")), "the call went through the disk spool"
    if stack.name == "capture off":
        assert text not in json.dumps(attributes)
        assert "gen_ai.tool.call.arguments" not in attributes and "gen_ai.tool.call.result" not in attributes
    else:
        assert json.loads(attributes["gen_ai.tool.call.arguments"]) == {"text": text}
        assert f"echo: {text}" in attributes["gen_ai.tool.call.result"]


def test_a_failing_tool_is_an_error_span(stack: Stack) -> None:
    conversation, reason = session(), f"broken {uuid.uuid4().hex[:8]}"
    is_error, _ = stack.call("fail", {"reason": reason}, conversation)
    assert is_error
    span = stack.tool_span("fail", conversation)
    assert span["status"]["code"] == "STATUS_CODE_ERROR"
    assert span["attributes"]["error.type"] == "tool_execution_error"
    assert span["attributes"]["gen_ai.tool.name"] == "fail"
    if stack.name == "capture off":
        assert reason not in json.dumps(span)


def test_a_slow_tool_span_lasts_as_long_as_the_call(stack: Stack) -> None:
    conversation = session()
    assert stack.call("slow", {"seconds": 0.6}, conversation) == (False, "slept 0.6s")
    span = stack.tool_span("slow", conversation)
    seconds = (int(span["end_time_unix_nano"]) - int(span["start_time_unix_nano"])) / 1e9
    assert 0.6 <= seconds < 10
