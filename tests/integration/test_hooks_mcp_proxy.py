"""Sigil's guard on MCP tool calls through LiteLLM's MCP gateway (issue #24, deliverable 3), for real: the
proxy with ``mcp_servers`` naming the dev stack's MCP server (``sigil_devstack.mcp_tools``, the ``mcp``
package), ``SIGIL_HOOKS_ENABLED=true`` for both phases, the mock sink evaluating the rules, and the
official ``mcp`` client over streamable HTTP at the proxy's ``/mcp``.

Preflight over the tool's name and arguments (deny: an MCP tool error naming the rule, the tool never
called; transform: the tool called with the rewritten arguments), postflight over its result (deny and
transform), allow, and the hook metrics.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sigil_devstack.mcp_tools import SERVER, McpToolsProcess, config_with_server
from sigil_devstack.proxy import DEFAULT_CONFIG, ProxyProcess
from sigil_mock_sink.testing import SinkProcess

from tests.integration.hook_stacks import clear_hook_state, evaluated_phases, summed_hook_metrics
from tests.integration.test_hooks_routes_proxy import DENIED, RULES, SQL_DENIED

pytestmark = pytest.mark.integration


@dataclass
class Stack:
    sink: SinkProcess
    proxy: ProxyProcess
    metrics_dir: Path
    tools: McpToolsProcess

    def call(self, tool: str, arguments: dict[str, Any], *, direct: bool = False) -> tuple[bool, str]:
        """One tool call through the proxy (``direct``: to the MCP server itself): (is an error, its text)."""
        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client

        async def run() -> tuple[bool, str]:
            headers = {"x-litellm-api-key": f"Bearer {self.proxy.master_key}"}
            url = self.tools.url if direct else f"{self.proxy.base_url}/mcp/"
            async with (
                httpx2.AsyncClient(headers=headers, timeout=30) as http,
                Client(streamable_http_client(url, http_client=http)) as client,
            ):
                result = await client.call_tool(tool if direct else f"{SERVER}-{tool}", arguments)
            text = "".join(getattr(block, "text", "") for block in result.content)
            return bool(result.is_error), text

        return asyncio.run(run())

    def echoed(self) -> str:
        """What the tool was called with (asked of the server itself, not judged by the proxy's rules)."""
        return self.call("echoed_texts", {}, direct=True)[1]

    def hook_metrics(self) -> Counter[tuple[str, str]]:
        return summed_hook_metrics(self.metrics_dir)

    def phases(self) -> list[str]:
        return evaluated_phases(self.sink)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    metrics_dir = tmp_path_factory.mktemp("mcp-metrics")
    with McpToolsProcess() as tools, SinkProcess(auth="none") as sink:
        config_file = config_with_server(DEFAULT_CONFIG, tools.url, tmp_path_factory.mktemp("mcp-config"))
        sink.request("POST", "/api/v1/hook-rules", RULES)
        env = {
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "SIGIL_ENDPOINT": sink.http_url,
            "SIGIL_PROTOCOL": "http",
            "SIGIL_AUTH_MODE": "none",
            "SIGIL_HOOKS_ENABLED": "true",
            "SIGIL_HOOKS_PHASES": "preflight,postflight",
            "SIGIL_HOOKS_TIMEOUT": "2",
            "SIGIL_HOOKS_FAIL_OPEN": "true",  # as for models: preflight open, postflight closed here
            "SIGIL_HOOKS_POSTFLIGHT_FAIL_OPEN": "false",
        }
        with ProxyProcess(config=config_file, env=env) as proxy:
            yield Stack(sink, proxy, metrics_dir, tools)


@pytest.fixture(autouse=True)
def _clean(stack: Stack) -> None:
    clear_hook_state(stack.sink)


def marker() -> str:
    return uuid.uuid4().hex[:10]


def counted(stack: Stack, before: Counter[tuple[str, str]]) -> dict[tuple[str, str], int]:
    added = stack.hook_metrics() - before
    return {key: n for key, n in added.items() if key[1] != "observed"}


def test_allowed_tool_call_is_judged_before_and_after(stack: Stack) -> None:
    before = stack.hook_metrics()
    text = f"hello {marker()}"
    assert stack.call("echo", {"text": text}) == (False, f"echo: {text}")
    assert stack.phases() == ["preflight", "postflight"]
    assert counted(stack, before) == {("preflight", "allow"): 1, ("postflight", "allow"): 1}


def test_preflight_deny_is_a_tool_error_and_the_tool_is_never_called(stack: Stack) -> None:
    before = stack.hook_metrics()
    secret = f"password {marker()}"
    is_error, text = stack.call("echo", {"text": secret})
    assert is_error and DENIED in text
    assert counted(stack, before) == {("preflight", "deny"): 1}
    assert secret not in stack.echoed(), "the tool was never called"


def test_preflight_transform_rewrites_the_arguments(stack: Stack) -> None:
    tag = marker()
    assert stack.call("echo", {"text": f"card 4111-1111-1111-1111 {tag}"}) == (False, f"echo: card [CARD] {tag}")
    echoed = stack.echoed()
    assert f"card [CARD] {tag}" in echoed and "4111-1111-1111-1111" not in echoed


def test_postflight_transform_rewrites_the_result(stack: Stack) -> None:
    before = stack.hook_metrics()
    tag = marker()
    # LiteLLM 1.108.5 marks a result whose content a post-call hook rewrote as a tool error (its structured
    # output is dropped as stale): the client reads the redacted text, flagged is_error
    assert stack.call("echo", {"text": f"ssn 123-45-6789 {tag}"}) == (True, f"echo: ssn [SSN] {tag}")
    assert counted(stack, before) == {("preflight", "allow"): 1, ("postflight", "transform"): 1}


def test_postflight_deny_withholds_the_result(stack: Stack) -> None:
    is_error, text = stack.call("echo", {"text": f"DROP TABLE users {marker()}"})
    assert is_error and SQL_DENIED in text


def test_sigil_unavailable_preflight_lets_the_call_through_postflight_withholds_the_result(stack: Stack) -> None:
    before = stack.hook_metrics()
    text = f"password {marker()}"
    stack.sink.request("POST", "/api/v1/hook-faults", {"unavailable": True})
    is_error, said = stack.call("echo", {"text": text})
    stack.sink.request("DELETE", "/api/v1/hook-faults")
    assert is_error and "SIGIL_HOOKS_POSTFLIGHT_FAIL_OPEN=false" in said and text not in said
    assert counted(stack, before) == {("preflight", "fail_open"): 1, ("postflight", "fail_closed"): 1}
    assert text in stack.echoed(), "preflight failed open: the tool was called"
