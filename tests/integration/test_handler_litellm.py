"""The handler registered in real LiteLLM (in-process SDK calls with ``mock_response``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import litellm
import pytest
from fake_llm.testing import FakeLLMProcess
from litellm.llms.base_llm.chat.transformation import BaseLLMException
from packaging.version import Version
from sigil_sdk import GenerationMode, MessageRole, PartKind

from sigil_sdk_litellm import SigilLiteLLMLogger
from tests.support import capturing_client, wait_until

# LiteLLM's logging worker binds to the first event loop it sees: one loop for the module's async tests.
# one worker runs the module under `make test` (-n 2 --dist loadgroup): its shared stack starts once
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("handler_litellm")]
same_loop = pytest.mark.asyncio(loop_scope="module")

# what LiteLLM raises for a provider's 429 on /v1/messages: its RateLimitError since 1.100.0 (it maps the
# route's errors); before, the provider config's BaseLLMException (1.99.0 and 1.82.3, read in their sources)
MESSAGES_RATE_LIMITED = (
    litellm.exceptions.RateLimitError if Version(version("litellm")) >= Version("1.100.0") else BaseLLMException
)

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


class Recorded:
    def __init__(self) -> None:
        self.client, self.exporter = capturing_client()
        self.handler = SigilLiteLLMLogger(client=self.client, agent_name="default-agent")

    async def wait(self, count: int, timeout: float = 10.0) -> list[Any]:
        """Poll without blocking the loop: LiteLLM logs success from a task on this loop."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self.client.flush()
            if len(self.exporter.generations) >= count or loop.time() > deadline:
                break
            await asyncio.sleep(0.02)
        assert len(self.exporter.generations) >= count, f"expected {count}, got {len(self.exporter.generations)}"
        return list(self.exporter.generations)


_CALLBACK_LISTS = (
    "callbacks",
    "success_callback",
    "failure_callback",
    "_async_success_callback",
    "_async_failure_callback",
)


@pytest.fixture(scope="module")
def registered() -> Iterator[Recorded]:
    """One handler for the module: LiteLLM copies ``litellm.callbacks`` into its internal callback
    lists on first use, so a handler must be registered once and unregistered from all of them."""
    rec = Recorded()
    litellm.callbacks = [rec.handler]
    try:
        yield rec
    finally:
        for name in _CALLBACK_LISTS:
            lst = getattr(litellm, name, None)
            if isinstance(lst, list):
                lst[:] = [cb for cb in lst if cb is not rec.handler]
        rec.client.shutdown()


@pytest.fixture
def recorded(registered: Recorded) -> Recorded:
    registered.client.flush()
    registered.exporter.generations.clear()
    registered.exporter.protos.clear()
    registered.handler.problems = type(registered.handler.problems)()
    return registered


@same_loop
async def test_acompletion_with_request_metadata(recorded: Recorded) -> None:
    await litellm.acompletion(
        model="openai/gpt-4o-mini",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello?"}],
        mock_response="Hi!",
        temperature=0.3,
        max_tokens=20,
        metadata={"agent_name": "support-bot", "agent_version": "7", "conversation_id": "conv-42"},
    )
    [g] = await recorded.wait(1)
    assert g.mode is GenerationMode.SYNC
    assert (g.model.provider, g.model.name) == ("openai", "gpt-4o-mini")
    assert (g.agent_name, g.agent_version, g.conversation_id) == ("support-bot", "7", "conv-42")
    assert g.system_prompt == "Be brief."
    assert [msg.parts[0].text for msg in g.input] == ["Hello?"]
    assert [msg.parts[0].text for msg in g.output] == ["Hi!"]
    assert (g.temperature, g.max_tokens) == (0.3, 20)
    assert g.usage.input_tokens > 0 and g.usage.output_tokens > 0
    assert g.stop_reason == "stop"
    assert g.response_id.startswith("chatcmpl-")


@same_loop
async def test_streaming_is_one_stream_generation(recorded: Recorded) -> None:
    stream = await litellm.acompletion(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "Count to three"}],
        mock_response="one two three",
        stream=True,
    )
    chunks = [chunk async for chunk in stream]
    assert len(chunks) > 1
    [g] = await recorded.wait(1)
    assert g.mode is GenerationMode.STREAM
    assert g.output[0].parts[0].text == "one two three"
    assert g.started_at <= g.completed_at
    await asyncio.sleep(0.3)
    recorded.client.flush()
    assert len(recorded.exporter.generations) == 1  # one event per stream, not per chunk


@same_loop
async def test_tool_call_round_trip(recorded: Recorded) -> None:
    tool_call = {
        "id": "call_abc",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
    }
    first = await litellm.acompletion(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
        tools=TOOLS,
        tool_choice="auto",
        mock_tool_calls=[tool_call],
    )
    assert first.choices[0].message.tool_calls
    await litellm.acompletion(
        model="openai/gpt-4o-mini",
        messages=[
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": None, "tool_calls": [tool_call]},
            {"role": "tool", "tool_call_id": "call_abc", "content": "4°C and rain"},
        ],
        tools=TOOLS,
        mock_response="It is 4°C and raining in Oslo.",
    )
    calls, answer = await recorded.wait(2)
    assert [t.name for t in calls.tools] == ["get_weather"] and calls.tool_choice == "auto"
    [out_call] = [p for msg in calls.output for p in msg.parts if p.kind is PartKind.TOOL_CALL]
    assert (out_call.tool_call.id, out_call.tool_call.name) == ("call_abc", "get_weather")
    assert json.loads(out_call.tool_call.input_json) == {"city": "Oslo"}
    roles = [msg.role for msg in answer.input]
    assert roles == [MessageRole.USER, MessageRole.ASSISTANT, MessageRole.TOOL]
    assert answer.input[2].parts[0].tool_result.content == "4°C and rain"
    assert answer.output[0].parts[0].text == "It is 4°C and raining in Oslo."


@same_loop
async def test_failure_is_recorded_with_error_class(recorded: Recorded) -> None:
    with pytest.raises(litellm.exceptions.InternalServerError):
        await litellm.acompletion(
            model="openai/gpt-4o-mini",
            messages=[{"role": "user", "content": "fail please"}],
            mock_response=Exception("upstream exploded"),
        )
    [g] = await recorded.wait(1)
    assert "upstream exploded" in g.call_error
    assert g.metadata["litellm.error_class"] == "InternalServerError"
    assert g.metadata["litellm.error_code"] == "500"
    assert g.metadata["call_error"]  # the SDK's own copy of the error


@same_loop
async def test_text_completion(recorded: Recorded) -> None:
    await litellm.atext_completion(model="openai/gpt-3.5-turbo-instruct", prompt="Once upon a", mock_response="time")
    [g] = await recorded.wait(1)
    assert g.model.name == "gpt-3.5-turbo-instruct"
    assert g.input[0].parts[0].text
    assert g.output and g.output[0].parts[0].text == "time"


@same_loop
async def test_embedding_is_not_a_generation(recorded: Recorded) -> None:
    await litellm.aembedding(model="openai/text-embedding-3-small", input=["a", "b"], mock_response=[0.1, 0.2])
    await litellm.acompletion(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "x"}], mock_response="y"
    )
    generations = await recorded.wait(1)
    await asyncio.sleep(0.3)
    recorded.client.flush()
    assert [g.model.name for g in recorded.exporter.generations] == ["gpt-4o-mini"]
    assert len(generations) == 1
    assert recorded.handler.problems.counts == {}


def test_sync_completion_is_recorded_once(recorded: Recorded) -> None:
    import time

    litellm.completion(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "sync"}], mock_response="ok")

    def arrived() -> bool:
        recorded.client.flush()
        return len(recorded.exporter.generations) >= 1

    assert wait_until(arrived)
    time.sleep(0.5)
    recorded.client.flush()
    assert len(recorded.exporter.generations) == 1
    assert recorded.exporter.generations[0].output[0].parts[0].text == "ok"


# --- the Responses API and the Anthropic Messages API, through LiteLLM's SDK to the fake upstream --


@same_loop
async def test_aresponses_sync_and_stream(recorded: Recorded, fake: FakeLLMProcess) -> None:
    upstream = {"api_base": fake.base_url, "api_key": "fake-key"}
    tools = [{"type": "function", "name": "get_weather", "parameters": TOOLS[0]["function"]["parameters"]}]
    reply = await litellm.aresponses(
        model="openai/gpt-4o-mini", instructions="Be terse.", input="weather? [fake:reasoning]", tools=tools, **upstream
    )
    [g] = await recorded.wait(1)
    assert (g.system_prompt, g.input[0].parts[0].text) == ("Be terse.", "weather? [fake:reasoning]")
    kinds = [part.kind for part in g.output[0].parts]
    assert kinds == [PartKind.THINKING, PartKind.TOOL_CALL]
    assert g.output[0].parts[1].tool_call.id == reply.output[1].call_id
    assert (g.response_id, g.stop_reason, g.usage.reasoning_tokens > 0) == (reply.id, "completed", True)
    recorded.exporter.generations.clear()
    stream = await litellm.aresponses(model="openai/gpt-4o-mini", input="stream it", stream=True, **upstream)
    events = [event async for event in stream]
    assert events[-1].type == "response.completed"
    [g] = await recorded.wait(1)
    assert g.mode is GenerationMode.STREAM
    assert g.output[0].parts[0].text == "echo: stream it"


@same_loop
async def test_anthropic_messages_sync_stream_and_failure(recorded: Recorded, fake: FakeLLMProcess) -> None:
    upstream = {"api_base": fake.root_url, "api_key": "fake-key"}
    question = [{"role": "user", "content": "hello claude"}]
    reply = await litellm.anthropic.messages.acreate(
        model="anthropic/claude-sonnet-4-5", max_tokens=64, system="Be terse.", messages=question, **upstream
    )
    [g] = await recorded.wait(1)
    assert (g.model.provider, g.system_prompt, g.stop_reason) == ("anthropic", "Be terse.", "end_turn")
    assert g.output[0].parts[0].text == reply["content"][0]["text"] == "echo: hello claude"
    assert g.usage.cache_read_input_tokens == reply["usage"]["cache_read_input_tokens"] > 0
    recorded.exporter.generations.clear()
    stream = await litellm.anthropic.messages.acreate(
        model="anthropic/claude-sonnet-4-5", max_tokens=64, messages=question, stream=True, **upstream
    )
    assert [chunk async for chunk in stream]
    [g] = await recorded.wait(1)
    assert (g.mode, g.output[0].parts[0].text) == (GenerationMode.STREAM, "echo: hello claude")
    recorded.exporter.generations.clear()
    with pytest.raises(MESSAGES_RATE_LIMITED):
        await litellm.anthropic.messages.acreate(
            model="anthropic/claude-sonnet-4-5",
            max_tokens=64,
            messages=[{"role": "user", "content": "[fake:error-429]"}],
            **upstream,
        )
    [g] = await recorded.wait(1)
    assert "error-429" in g.call_error
    assert recorded.handler.problems.counts == {}
