"""MCP tool calls of a team's key through the real proxy, without LiteLLM's database: its
``general_settings.custom_auth`` (team_keys_auth.py) maps test keys to teams and users, and
SIGIL_TENANT_MAP routes team-alpha to the tenant ``alpha``. The dev stack's MCP server is named in the
config with ``allow_all_keys`` (LiteLLM 1.108.5 refuses a key that is not the master key and has no
object permission for the server: "The key is not allowed to access the requested MCP servers").

Two ways to a tool: ``/mcp`` with the official ``mcp`` client, and LiteLLM's ``/mcp``-backed tool use on
the Responses API (``tools: [{"type": "mcp", "server_url": "litellm_proxy/mcp/devstack",
"require_approval": "never"}]``) with the official ``openai`` client: the proxy asks the fake upstream,
which answers with a ``function_call``, runs the tool, and asks again with its output.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import openai
import pytest
import yaml
from fake_llm.testing import FakeLLMProcess
from sigil_devstack.mcp_tools import SERVER, McpToolsProcess
from sigil_devstack.proxy import ProxyProcess
from sigil_mock_sink.testing import SinkProcess

from tests.integration.conftest import write_proxy_config
from tests.mcp_client import call_tool

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("mcp_teams")]
DEFAULT_TENANT = "platform"  # SIGIL_AUTH_TENANT_ID, and the OTLP export's X-Scope-OrgID
TEAM, USER, TEAM_TENANT = "team-alpha", "ana", "alpha"
TEAM_KEY, OTHER_KEY = "sk-alpha-ana", "sk-nobody"  # team_keys_auth.KEYS: team-alpha/ana, team-unknown


@dataclass
class Stack:
    fake: FakeLLMProcess
    sink: SinkProcess
    proxy: ProxyProcess

    def tool_span(self, tool: str, conversation: str) -> dict[str, Any]:
        """The one ``execute_tool`` span of ``tool`` in ``conversation``, waited for."""
        deadline, found = time.monotonic() + 30, []
        while not found and time.monotonic() < deadline:
            spans = self.sink.spans(name=f"execute_tool {tool}")
            found = [s for s in spans if s["attributes"].get("gen_ai.conversation.id") == conversation]
            time.sleep(0 if found else 0.1)
        assert len(found) == 1, f"{len(found)} execute_tool spans of {tool} in {conversation}"
        return found[0]

    def responses(self, key: str, conversation: str, **extra: Any) -> Any:
        client = openai.OpenAI(base_url=f"{self.proxy.base_url}/v1", api_key=key, max_retries=0, timeout=60)
        return client.responses.create(
            model="gpt-4o-mini",
            input="Please call the echo tool.",
            tools=[
                {
                    "type": "mcp",
                    "server_label": SERVER,
                    "server_url": f"litellm_proxy/mcp/{SERVER}",
                    "require_approval": "never",
                    "allowed_tools": ["echo"],
                }
            ],
            extra_headers={"x-litellm-session-id": conversation, **extra.pop("extra_headers", {})},
            **extra,
        )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    directory = tmp_path_factory.mktemp("mcp-teams")
    with FakeLLMProcess() as fake, McpToolsProcess() as tools, SinkProcess(auth="tenant") as sink:
        config = {
            "model_list": [
                {
                    "model_name": "gpt-4o-mini",
                    "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": fake.base_url, "api_key": "x"},
                }
            ],
            "general_settings": {"custom_auth": "team_keys_auth.user_api_key_auth"},
            "litellm_settings": {"callbacks": "sigil_callback.sigil_handler"},
            "mcp_servers": {SERVER: {"url": tools.url, "transport": "http", "allow_all_keys": True}},
        }
        config_file = write_proxy_config(directory, yaml.safe_dump(config), "team_keys_auth.py")
        env = {
            "SIGIL_ENDPOINT": sink.http_url,
            "SIGIL_PROTOCOL": "http",
            "SIGIL_AUTH_MODE": "tenant",
            "SIGIL_AUTH_TENANT_ID": DEFAULT_TENANT,
            "SIGIL_TENANT_MAP": json.dumps({f"team_id:{TEAM}": {"tenant_id": TEAM_TENANT}}),
            "SIGIL_FLUSH_INTERVAL": "0.2",
            "OTEL_EXPORTER_OTLP_ENDPOINT": sink.otlp_http_endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_HEADERS": f"X-Scope-OrgID={DEFAULT_TENANT}",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        with ProxyProcess(config=config_file, env=env) as proxy:
            yield Stack(fake, sink, proxy)


def conversation() -> str:
    return f"mcp-team-{uuid.uuid4().hex[:12]}"


def test_a_teams_tool_call_carries_the_keys_team_and_user(stack: Stack) -> None:
    session, text = conversation(), f"from ana {uuid.uuid4().hex[:6]}"
    assert call_tool(
        stack.proxy.base_url, TEAM_KEY, f"{SERVER}-echo", {"text": text}, {"x-litellm-session-id": session}
    ) == (
        False,
        f"echo: {text}",
    )
    span = stack.tool_span("echo", session)
    assert span["attributes"]["litellm.team_id"] == TEAM
    assert span["attributes"]["user.id"] == USER
    # tool executions are spans: they go to the process's one OTLP export, whatever the team's tenant
    assert span["_tenant"] == DEFAULT_TENANT


# what a client may send to claim team-alpha's identity or tenant: only the key decides
CLAIMED_HEADERS = {
    "x-litellm-team-id": TEAM,
    "x-litellm-user-id": USER,
    "X-Scope-OrgID": TEAM_TENANT,
    "x-litellm-tags": f"team_id:{TEAM}",
}
CLAIMED_METADATA = {
    "user_api_key_team_id": TEAM,
    "team_id": TEAM,
    "user_api_key_user_id": USER,
    "tenant_id": TEAM_TENANT,
}


def test_a_client_cannot_choose_its_team_or_tenant(stack: Stack) -> None:
    session = conversation()
    meta = {"litellm_metadata": CLAIMED_METADATA, "metadata": CLAIMED_METADATA}
    headers = {"x-litellm-session-id": session, **CLAIMED_HEADERS}
    assert call_tool(stack.proxy.base_url, OTHER_KEY, f"{SERVER}-echo", {"text": "me?"}, headers, meta)[0] is False
    span = stack.tool_span("echo", session)
    assert span["attributes"]["litellm.team_id"] == "team-unknown"
    assert span["attributes"].get("user.id") != USER
    assert span["_tenant"] == DEFAULT_TENANT

    # the same claims on a Responses request whose tool LiteLLM runs: the generation stays in the default tenant
    session = conversation()
    stack.responses(
        OTHER_KEY,
        session,
        extra_headers=CLAIMED_HEADERS,
        extra_body={"metadata": CLAIMED_METADATA, "litellm_metadata": CLAIMED_METADATA},
    )
    span = stack.tool_span("echo", session)
    assert span["attributes"]["litellm.team_id"] == "team-unknown"
    generations = stack.sink.wait_for_count(1, conversation_id=session)
    assert [g["_tenant"] for g in generations] == [DEFAULT_TENANT]


def test_responses_mcp_tool_use_is_recorded_in_the_generations_trace(stack: Stack) -> None:
    """LiteLLM runs the tool between its two upstream calls; the tool execution is a span of the request's
    trace (the client's traceparent) beside the generation's, with the key's team and user, and the
    generation lands in the team's tenant."""
    session, trace_id = conversation(), uuid.uuid4().hex
    traceparent = f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"
    answer = stack.responses(TEAM_KEY, session, extra_headers={"traceparent": traceparent})
    assert answer.output_text == "The tool said: echo: fake", answer.output_text  # fake-llm's argument example
    # the second upstream call carried the tool's output: the tool ran in between
    [follow_up] = [r for r in stack.fake.requests("/responses") if "function_call_output" in json.dumps(r["body"])][-1:]
    assert follow_up["body"]["input"][-1]["output"] == "echo: fake"

    span = stack.tool_span("echo", session)
    attributes = span["attributes"]
    assert span["trace_id"] == trace_id
    assert (attributes["litellm.team_id"], attributes["user.id"]) == (TEAM, USER)
    assert attributes["litellm.mcp.server.name"] == SERVER
    assert json.loads(attributes["gen_ai.tool.call.arguments"]) == {"text": "fake"}
    assert "echo: fake" in attributes["gen_ai.tool.call.result"]
    assert stack.sink.wait_for_spans(1, trace_id=trace_id, name="generateText gpt-4o-mini")

    # LiteLLM 1.108.5 logs one generation per request: the first upstream call's, which asked for the
    # tool (its one logging object is spent on it; the answer's call is never logged: docs/hooks.md)
    [generation] = stack.sink.wait_for_count(1, conversation_id=session)
    assert generation["_tenant"] == TEAM_TENANT
    assert generation["trace_id"] == trace_id
    [part] = generation["output"][0]["parts"]
    assert part["tool_call"]["name"] == f"{SERVER}-echo"
    # the model's call id links the two; LiteLLM's call id is the request's, the generation's id
    assert attributes["gen_ai.tool.call.id"] == part["tool_call"]["id"]
    assert attributes["litellm.call_id"] == generation["id"]
