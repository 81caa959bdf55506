"""The fake upstream's Responses API (``/v1/responses``) and Anthropic Messages API (``/v1/messages``), driven
directly by the official ``openai`` and ``anthropic`` clients (through the proxy: test_proxy_routes.py)."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import openai
import pytest
from fake_llm.testing import FakeLLMProcess

pytestmark = pytest.mark.integration

TOOLS: list[Any] = [
    {
        "type": "function",
        "name": "lookup",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}, "n": {"type": "integer"}}},
    }
]
ANTHROPIC_TOOLS: list[Any] = [
    {"name": "lookup", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}},
]


@pytest.fixture
def oai(fake: FakeLLMProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.base_url, api_key="anything", max_retries=0)


@pytest.fixture
def claude(fake: FakeLLMProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=fake.root_url, api_key="anything", max_retries=0)


# --- /v1/responses -------------------------------------------------------------------------------


def test_responses_text_and_usage(oai: openai.OpenAI) -> None:
    reply = oai.responses.create(model="gpt-4o-mini", instructions="be brief", input="hello there")
    assert reply.output_text == "echo: hello there"
    assert (reply.status, reply.instructions, reply.model) == ("completed", "be brief", "gpt-4o-mini")
    assert reply.id.startswith("resp_")
    usage = reply.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (2 + 3 + 2, 3, 10)
    assert usage.input_tokens_details.cached_tokens == 3
    assert usage.output_tokens_details.reasoning_tokens == 0


def test_responses_tool_call_round_trip_and_reasoning(oai: openai.OpenAI) -> None:
    first = oai.responses.create(model="fake-reasoning", input=[{"role": "user", "content": "weather?"}], tools=TOOLS)
    kinds = [item.type for item in first.output]
    assert kinds == ["reasoning", "function_call"]
    call = first.output[1]
    assert call.type == "function_call"
    assert (call.name, json.loads(call.arguments)) == ("lookup", {"q": "fake", "n": 1})
    assert first.output[0].summary[0].text == "thinking about: weather?"  # type: ignore[union-attr]
    assert first.usage is not None and first.usage.output_tokens_details.reasoning_tokens == 3
    again = oai.responses.create(model="fake-reasoning", input=[{"role": "user", "content": "weather?"}], tools=TOOLS)
    assert again.output[1].call_id == call.call_id  # type: ignore[union-attr]  # derived from the request
    history: list[Any] = [
        {"role": "user", "content": "weather?"},
        {"type": "function_call", "call_id": call.call_id, "name": "lookup", "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
    ]
    second = oai.responses.create(model="gpt-4o-mini", input=history, tools=TOOLS)
    assert second.output_text == "The tool said: sunny"


def test_responses_max_output_tokens_makes_it_incomplete(oai: openai.OpenAI) -> None:
    reply = oai.responses.create(model="m", input="a b c d e", max_output_tokens=2)
    assert reply.status == "incomplete" and reply.incomplete_details is not None
    assert reply.incomplete_details.reason == "max_output_tokens"
    assert reply.output_text == "echo: a"


def test_responses_stream_events(oai: openai.OpenAI) -> None:
    whole = oai.responses.create(model="fake-reasoning", input="one two three")
    events = list(oai.responses.create(model="fake-reasoning", input="one two three", stream=True))
    types = [e.type for e in events]
    assert types[:2] == ["response.created", "response.in_progress"] and types[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == whole.output_text
    summary = "".join(e.delta for e in events if e.type == "response.reasoning_summary_text.delta")
    assert summary == "thinking about: one two three"
    assert events[-1].response.usage == whole.usage  # type: ignore[union-attr]
    with oai.responses.stream(model="m", input="x", tools=TOOLS) as stream:
        final = stream.get_final_response()
    assert final.output[0].type == "function_call" and final.output[0].arguments == '{"n": 1, "q": "fake"}'


def test_responses_errors(oai: openai.OpenAI, fake: FakeLLMProcess) -> None:
    with pytest.raises(openai.RateLimitError):
        oai.responses.create(model="fake-error-429", input="x")
    with pytest.raises(openai.NotFoundError):
        oai.responses.create(model="m", input=[{"role": "user", "content": "x [fake:error-404]"}], stream=True)
    assert httpx.post(f"{fake.base_url}/responses", json={"model": "m"}).status_code == 400


# --- /v1/messages --------------------------------------------------------------------------------


def test_messages_text_usage_and_thinking(claude: anthropic.Anthropic) -> None:
    reply = claude.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=100,
        system=[{"type": "text", "text": "be brief"}],
        messages=[{"role": "user", "content": "hi anthropic"}],
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    assert [b.type for b in reply.content] == ["thinking", "text"]
    assert reply.content[0].thinking == "thinking about: hi anthropic"  # type: ignore[union-attr]
    assert reply.content[1].text == "echo: hi anthropic"  # type: ignore[union-attr]
    assert (reply.stop_reason, reply.id[:4], reply.model) == ("end_turn", "msg_", "claude-sonnet-4-5")
    usage = reply.usage
    prompt = 2 + 3 + 2  # words + 3 for the message, the system prompt's words
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (prompt // 2, prompt // 4)
    assert usage.input_tokens == prompt - prompt // 2 - prompt // 4
    assert usage.output_tokens == 4 + 3  # thinking words + answer words


def test_messages_tool_use_round_trip(claude: anthropic.Anthropic) -> None:
    first = claude.messages.create(
        model="m", max_tokens=100, messages=[{"role": "user", "content": "weather?"}], tools=ANTHROPIC_TOOLS
    )
    assert first.stop_reason == "tool_use"
    [use] = first.content
    assert use.type == "tool_use" and (use.name, use.input) == ("lookup", {"q": "fake"})
    second = claude.messages.create(
        model="m",
        max_tokens=100,
        tools=ANTHROPIC_TOOLS,
        messages=[
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [use.model_dump()]},  # type: ignore[list-item]
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]},
        ],
    )
    assert second.content[0].text == "The tool said: sunny"  # type: ignore[union-attr]
    cut = claude.messages.create(model="m", max_tokens=2, messages=[{"role": "user", "content": "a b c d"}])
    assert (cut.content[0].text, cut.stop_reason) == ("echo: a", "max_tokens")  # type: ignore[union-attr]


def test_messages_stream(claude: anthropic.Anthropic, fake: FakeLLMProcess) -> None:
    with claude.messages.stream(
        model="fake-reasoning", max_tokens=100, messages=[{"role": "user", "content": "use it"}], tools=ANTHROPIC_TOOLS
    ) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "tool_use"]
    assert final.content[0].signature  # type: ignore[union-attr]
    assert final.content[1].input == {"q": "fake"}  # type: ignore[union-attr]
    whole = claude.messages.create(
        model="fake-reasoning", max_tokens=100, messages=[{"role": "user", "content": "use it"}], tools=ANTHROPIC_TOOLS
    )
    assert final.usage.output_tokens == whole.usage.output_tokens
    assert final.usage.cache_read_input_tokens == whole.usage.cache_read_input_tokens
    body = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "wire"}], "stream": True}
    text = httpx.post(f"{fake.root_url}/v1/messages", json=body).text
    names = [block.split("\n")[0] for block in text.split("\n\n") if block]
    assert names[0] == "event: message_start" and names[-2:] == ["event: message_delta", "event: message_stop"]


def test_messages_errors_in_anthropics_envelope(claude: anthropic.Anthropic, fake: FakeLLMProcess) -> None:
    with pytest.raises(anthropic.RateLimitError) as limited:
        claude.messages.create(model="fake-error-429", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert limited.value.body == {
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": "fake-llm: error-429 requested by the model name or a [fake:] marker",
        },
    }
    with pytest.raises(anthropic.InternalServerError):
        claude.messages.create(model="m", max_tokens=10, messages=[{"role": "user", "content": "[fake:error-500]"}])
    response = httpx.post(f"{fake.root_url}/v1/messages", json={"model": "m"})
    assert response.status_code == 400 and response.json()["type"] == "error"
