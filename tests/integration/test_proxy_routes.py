"""The Responses API and the Anthropic Messages API through the real proxy (``config/config.yaml``), driven
by the official ``openai`` and ``anthropic`` clients, recorded into the mock sink: both provider paths
(an OpenAI model and the Anthropic model on each API), sync and streaming, tool calls and results,
thinking, usage with cache tokens, failures; once per recorder placement (one proxy each).

Also: with the default config, a request that fails upstream does not take the model out of service.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import openai
import pytest
from fake_llm.testing import FakeLLMProcess
from sigil_devstack.proxy import ProxyProcess
from sigil_mock_sink.testing import SinkProcess

from tests.scenarios import SinkReader, texts, tool_calls, tool_results, usage

# one worker runs the module under `make test` (-n 2 --dist loadgroup): its shared stack starts once
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("proxy_routes")]

TOOLS = [
    {
        "type": "function",
        "name": "lookup",
        "description": "Look something up.",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
    }
]
ANTHROPIC_TOOLS = [
    {
        "name": "lookup",
        "description": "Look something up.",
        "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
    }
]


@dataclass
class Stack:
    proxy: ProxyProcess
    sink: SinkReader

    def openai(self, conversation: str) -> openai.OpenAI:
        headers = {"x-litellm-session-id": conversation}
        return openai.OpenAI(
            base_url=f"{self.proxy.base_url}/v1", api_key=self.proxy.master_key, max_retries=0, default_headers=headers
        )

    def anthropic(self, conversation: str) -> anthropic.Anthropic:
        headers = {"x-litellm-session-id": conversation}
        return anthropic.Anthropic(
            base_url=self.proxy.base_url, api_key=self.proxy.master_key, max_retries=0, default_headers=headers
        )

    def only(self, conversation: str) -> dict[str, Any]:
        """The conversation's one generation (watching a while longer, so a duplicate would show)."""
        [generation] = self.sink.wait_for(1, conversation_id=conversation, settle=0.5)
        return generation


@pytest.fixture(scope="module", params=["process", "inprocess"])
def stack(request: pytest.FixtureRequest, fake: FakeLLMProcess) -> Iterator[Stack]:
    env = {
        "SIGIL_PROTOCOL": "http",
        "SIGIL_INSECURE": "true",
        "SIGIL_AUTH_MODE": "none",
        "SIGIL_RECORDER": request.param,
        "SIGIL_FLUSH_INTERVAL": "0.2",
        "OPENAI_API_BASE": fake.base_url,
        "OPENAI_API_KEY": "fake-key",
        "ANTHROPIC_API_BASE": fake.root_url,
        "ANTHROPIC_API_KEY": "fake-key",
    }
    with SinkProcess(auth="none") as sink:
        env["SIGIL_ENDPOINT"] = sink.http_url
        with ProxyProcess(env=env) as proxy:
            yield Stack(proxy, SinkReader(sink.http_url))


def conversation() -> str:
    return f"conv-{uuid.uuid4().hex[:12]}"


def tool_input(call: dict[str, Any]) -> Any:
    return json.loads(base64.b64decode(call["input_json"]))


def thinking(messages: list[dict[str, Any]]) -> list[str]:
    return [part["thinking"] for message in messages for part in message.get("parts", []) if "thinking" in part]


# --- Responses API -------------------------------------------------------------------------------


def test_responses_sync_with_tools_and_reasoning(stack: Stack) -> None:
    conv = conversation()
    reply = stack.openai(conv).responses.create(
        model="gpt-4o-mini", instructions="Be terse.", input="weather? [fake:reasoning]", tools=TOOLS
    )
    call = next(item for item in reply.output if item.type == "function_call")
    g = stack.only(conv)
    assert g["mode"] == "GENERATION_MODE_SYNC"
    assert g["model"] == {"provider": "openai", "name": "gpt-4o-mini"}
    assert g["metadata"]["litellm.call_type"] == "aresponses"
    assert g["system_prompt"] == "Be terse."
    assert texts(g["input"]) == ["weather? [fake:reasoning]"]
    assert thinking(g["output"]) == ["thinking about: weather? [fake:reasoning]"]
    [recorded] = tool_calls(g["output"])
    assert (recorded["name"], recorded["id"], tool_input(recorded)) == ("lookup", call.call_id, {"q": "fake"})
    assert [t["name"] for t in g["tools"]] == ["lookup"]
    assert g["stop_reason"] == "completed"
    assert g["response_id"] == reply.id
    counts = usage(g)
    assert (counts["input_tokens"], counts["output_tokens"]) == (reply.usage.input_tokens, reply.usage.output_tokens)
    assert counts["cache_read_input_tokens"] == reply.usage.input_tokens_details.cached_tokens > 0
    assert counts["reasoning_tokens"] == reply.usage.output_tokens_details.reasoning_tokens > 0


def test_responses_stream_with_a_tool_result(stack: Stack) -> None:
    conv = conversation()
    history: list[Any] = [
        {"role": "user", "content": "weather?"},
        {"type": "function_call", "call_id": "call_7", "name": "lookup", "arguments": '{"q": "berlin"}'},
        {"type": "function_call_output", "call_id": "call_7", "output": "sunny"},
    ]
    events = list(stack.openai(conv).responses.create(model="gpt-4o-mini", input=history, tools=TOOLS, stream=True))
    assert events[-1].type == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    g = stack.only(conv)
    assert g["mode"] == "GENERATION_MODE_STREAM"
    assert texts(g["input"]) == ["weather?"]
    [call] = tool_calls(g["input"])
    assert (call["name"], call["id"], tool_input(call)) == ("lookup", "call_7", {"q": "berlin"})
    [result] = tool_results(g["input"])
    assert (result["tool_call_id"], result["content"]) == ("call_7", "sunny")
    assert texts(g["output"]) == [text] == ["The tool said: sunny"]
    assert g["stop_reason"] == "completed"
    assert g["completed_at"] >= g["started_at"]
    assert usage(g)["output_tokens"] == events[-1].response.usage.output_tokens


def test_responses_on_the_anthropic_model(stack: Stack) -> None:
    conv = conversation()
    reply = stack.openai(conv).responses.create(
        model="claude-sonnet-4-5", instructions="Be terse.", input="hello claude", max_output_tokens=64
    )
    g = stack.only(conv)
    assert g["model"] == {"provider": "anthropic", "name": "claude-sonnet-4-5"}
    assert g["system_prompt"] == "Be terse."
    assert texts(g["output"]) == [reply.output_text] == ["echo: hello claude"]
    assert g["stop_reason"] == "completed"
    counts = usage(g)
    assert counts["input_tokens"] == reply.usage.input_tokens
    assert counts["cache_read_input_tokens"] > 0 and counts["cache_write_input_tokens"] > 0
    conv = conversation()
    with stack.openai(conv).responses.stream(model="claude-sonnet-4-5", input="stream claude") as stream:
        final = stream.get_final_response()
    g = stack.only(conv)
    assert (g["mode"], g["model"]["provider"]) == ("GENERATION_MODE_STREAM", "anthropic")
    assert texts(g["output"]) == [final.output_text] == ["echo: stream claude"]


def test_responses_failure(stack: Stack) -> None:
    conv = conversation()
    with pytest.raises(openai.NotFoundError):  # not retried by LiteLLM: the test stays quick
        stack.openai(conv).responses.create(model="gpt-4o-mini", input="fail [fake:error-404]")
    g = stack.only(conv)
    assert "error-404" in g["call_error"]
    assert g["metadata"]["litellm.error_code"] == "404"
    assert texts(g["input"]) == ["fail [fake:error-404]"]


# --- Anthropic Messages API ----------------------------------------------------------------------


def test_messages_sync_with_system_blocks_thinking_and_tools(stack: Stack) -> None:
    conv = conversation()
    reply = stack.anthropic(conv).messages.create(
        model="claude-sonnet-4-5",
        max_tokens=256,
        system=[{"type": "text", "text": "You are a weather bot."}],
        messages=[{"role": "user", "content": "weather in berlin?"}],
        tools=ANTHROPIC_TOOLS,  # type: ignore[arg-type]
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    use = next(block for block in reply.content if block.type == "tool_use")
    g = stack.only(conv)
    assert g["model"] == {"provider": "anthropic", "name": "claude-sonnet-4-5"}
    assert g["metadata"]["litellm.call_type"] == "anthropic_messages"
    assert g["system_prompt"] == "You are a weather bot."
    assert texts(g["input"]) == ["weather in berlin?"]
    assert thinking(g["output"]) == ["thinking about: weather in berlin?"]
    [call] = tool_calls(g["output"])
    assert (call["name"], call["id"], tool_input(call)) == ("lookup", use.id, use.input)
    assert g["stop_reason"] == reply.stop_reason == "tool_use"
    assert g["thinking_enabled"] is True
    assert int(g["max_tokens"]) == 256
    [tool] = g["tools"]
    assert json.loads(base64.b64decode(tool["input_schema_json"])) == ANTHROPIC_TOOLS[0]["input_schema"]
    counts = usage(g)
    read, write = reply.usage.cache_read_input_tokens, reply.usage.cache_creation_input_tokens
    assert (counts["cache_read_input_tokens"], counts["cache_write_input_tokens"]) == (read, write)
    assert read and write
    assert counts["input_tokens"] == reply.usage.input_tokens + read + write  # Anthropic counts them apart
    assert counts["output_tokens"] == reply.usage.output_tokens


def test_messages_stream_with_a_tool_result(stack: Stack) -> None:
    conv = conversation()
    history: list[Any] = [
        {"role": "user", "content": "weather in berlin?"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "I should look it up.", "signature": "sig"},
                {"type": "tool_use", "id": "toolu_7", "name": "lookup", "input": {"q": "berlin"}},
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_7", "content": "sunny"}]},
    ]
    with stack.anthropic(conv).messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=256,
        messages=history,
        tools=ANTHROPIC_TOOLS,  # type: ignore[arg-type]
    ) as stream:
        final = stream.get_final_message()
    g = stack.only(conv)
    assert g["mode"] == "GENERATION_MODE_STREAM"
    assert texts(g["input"]) == ["weather in berlin?"]
    assert thinking(g["input"]) == ["I should look it up."]
    [call] = tool_calls(g["input"])
    assert (call["id"], tool_input(call)) == ("toolu_7", {"q": "berlin"})
    [result] = tool_results(g["input"])
    assert (result["tool_call_id"], result["content"]) == ("toolu_7", "sunny")
    assert texts(g["output"]) == [final.content[0].text] == ["The tool said: sunny"]  # type: ignore[union-attr]
    assert g["stop_reason"] == final.stop_reason == "end_turn"
    assert usage(g)["cache_read_input_tokens"] == final.usage.cache_read_input_tokens


def test_messages_on_the_openai_model(stack: Stack) -> None:
    conv = conversation()
    client = stack.anthropic(conv)
    reply = client.messages.create(
        model="gpt-4o-mini",
        max_tokens=64,
        system="Be terse.",
        messages=[{"role": "user", "content": "hello gpt"}],
    )
    g = stack.only(conv)
    assert g["model"] == {"provider": "openai", "name": "gpt-4o-mini"}
    assert g["system_prompt"] == "Be terse."
    assert texts(g["output"]) == [reply.content[0].text] == ["echo: hello gpt"]  # type: ignore[union-attr]
    assert g["stop_reason"] == reply.stop_reason == "end_turn"
    conv = conversation()
    with stack.anthropic(conv).messages.stream(
        model="gpt-4o-mini", max_tokens=64, messages=[{"role": "user", "content": "stream gpt"}]
    ) as stream:
        final = stream.get_final_message()
    g = stack.only(conv)
    assert g["mode"] == "GENERATION_MODE_STREAM"
    assert texts(g["output"]) == [final.content[0].text] == ["echo: stream gpt"]  # type: ignore[union-attr]


def test_messages_failure(stack: Stack) -> None:
    conv = conversation()
    with pytest.raises(anthropic.APIStatusError):
        stack.anthropic(conv).messages.create(
            model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "x [fake:error-400]"}]
        )
    g = stack.only(conv)
    assert "error-400" in g["call_error"]
    assert g["model"] == {"provider": "anthropic", "name": "claude-sonnet-4-5"}


# --- the default config's router settings --------------------------------------------------------


@pytest.mark.parametrize("status", [404, 429, 500])
def test_a_failing_request_does_not_take_the_model_out_of_service(stack: Stack, status: int) -> None:
    """LiteLLM's default router cools a lone deployment down after one 404 (or a run of failures):
    every later request would get 429 "No deployments available" for seconds."""
    if stack.proxy.env["SIGIL_RECORDER"] != "process":
        pytest.skip("router behaviour, not recording: one placement is enough")
    client = stack.openai(conversation())
    with pytest.raises(openai.APIStatusError) as failed:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"[fake:error-{status}]"}]
        )
    assert failed.value.status_code == status
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "still there?"}])
    assert reply.choices[0].message.content == "echo: still there?"
    assert stack.openai(conversation()).responses.create(model="gpt-4o-mini", input="and here?").output_text
