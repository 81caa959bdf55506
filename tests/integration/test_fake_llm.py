"""The fake OpenAI-compatible upstream, driven by the official openai client (directly and via LiteLLM)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest
from fake_llm.testing import FakeLLMProcess

pytestmark = pytest.mark.integration

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}, "n": {"type": "integer"}}},
        },
    }
]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLLMProcess]:
    with FakeLLMProcess() as process:
        yield process


@pytest.fixture
def client(fake: FakeLLMProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.base_url, api_key="anything", max_retries=0)


def test_chat_is_deterministic_with_usage(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "ping pong"}])
    assert reply.choices[0].message.content == "echo: ping pong"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens == 5 and reply.usage.completion_tokens == 3
    assert reply.usage.prompt_tokens_details.cached_tokens == 2


def test_streaming_with_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "one two three"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip() == "echo: one two three"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


async def test_async_client(fake: FakeLLMProcess) -> None:
    client = openai.AsyncOpenAI(base_url=fake.base_url, api_key="x", max_retries=0)
    reply = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "async"}])
    assert reply.choices[0].message.content == "echo: async"


def test_tool_call_round_trip(client: openai.OpenAI) -> None:
    messages: list[dict] = [{"role": "user", "content": "find it"}]
    first = client.chat.completions.create(model="m", messages=messages, tools=TOOLS)
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "lookup" and json.loads(call.function.arguments) == {"q": "fake", "n": 1}
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "42 results"},
    ]
    second = client.chat.completions.create(model="m", messages=messages, tools=TOOLS)
    assert second.choices[0].message.content == "The tool said: 42 results"


def test_streamed_tool_call(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], tools=TOOLS, stream=True)
    )
    args = "".join(
        tc.function.arguments or "" for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])
    )
    assert json.loads(args) == {"q": "fake", "n": 1}


def test_reasoning_model(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="fake-reasoning", messages=[{"role": "user", "content": "why"}])
    assert reply.choices[0].message.model_extra["reasoning_content"] == "thinking about: why"
    assert reply.usage.completion_tokens_details.reasoning_tokens == 3


@pytest.mark.parametrize(
    ("model", "error"),
    [
        ("fake-error-500", openai.InternalServerError),
        ("fake-error-429", openai.RateLimitError),
        ("fake-error-400", openai.BadRequestError),
    ],
)
def test_error_models(client: openai.OpenAI, model: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}])


def test_completions_embeddings_models(client: openai.OpenAI) -> None:
    assert client.completions.create(model="m", prompt="once").choices[0].text == " and then: once"
    vectors = client.embeddings.create(model="e", input=["a", "b"], dimensions=16)
    assert len(vectors.data) == 2 and len(vectors.data[0].embedding) == 16
    assert vectors.data[0].embedding != vectors.data[1].embedding
    assert "gpt-4o-mini" in [m.id for m in client.models.list().data]


def test_request_recording(fake: FakeLLMProcess, client: openai.OpenAI) -> None:
    fake.clear_requests()
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "remember me"}])
    [seen] = fake.requests()
    assert seen["path"] == "/v1/chat/completions"
    assert seen["body"]["messages"][0]["content"] == "remember me"
    assert all(k.lower() != "authorization" for k in seen["headers"])
    assert fake.stats()["requests"] >= 1
