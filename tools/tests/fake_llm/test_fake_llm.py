"""The fake OpenAI-compatible upstream as a real process, driven by the official openai client: directly, and
through the real LiteLLM proxy (``litellm --config``) in front of it."""

from __future__ import annotations

import itertools
import json
import math
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from fake_llm.testing import FakeLLMProcess
from sigil_devstack.proxy import ProxyProcess

# one worker runs the module under `make test` (-n 2 --dist loadgroup): its shared stack starts once
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("fake_llm")]

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "parameters": {
                "type": "object",
                "properties": {
                    "q": {"type": "string"},
                    "n": {"type": "integer"},
                    "unit": {"type": "string", "enum": ["c", "f"]},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
    {"type": "function", "function": {"name": "other", "parameters": {"type": "object", "properties": {}}}},
]
LOOKUP_ARGS = {"q": "fake", "n": 1, "unit": "c", "tags": ["fake"]}


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


@pytest.fixture
def client(fake: FakeLLMProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.base_url, api_key="anything", max_retries=0)


# --- chat ----------------------------------------------------------------------------------------


def test_chat_answer_and_usage_are_deterministic(client: openai.OpenAI) -> None:
    first, second = (client.chat.completions.create(model="gpt-4o-mini", messages=user("ping pong")) for _ in "ab")
    assert first.choices[0].message.content == second.choices[0].message.content == "echo: ping pong"
    assert first.choices[0].finish_reason == "stop"
    assert first.usage == second.usage
    assert (first.usage.prompt_tokens, first.usage.completion_tokens, first.usage.total_tokens) == (5, 3, 8)
    assert first.usage.prompt_tokens_details.cached_tokens == 2
    assert first.usage.completion_tokens_details.reasoning_tokens == 0
    assert first.id != second.id and first.id.startswith("chatcmpl-")
    long = client.chat.completions.create(model="m", messages=user("x" * 100))
    assert long.choices[0].message.content == "echo: " + "x" * 60


def test_max_tokens_cuts_the_answer(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="m", messages=user("a b c d e"), max_tokens=2)
    assert (reply.choices[0].message.content, reply.choices[0].finish_reason) == ("echo: a", "length")
    assert reply.usage.completion_tokens == 2


async def test_async_chat(fake: FakeLLMProcess) -> None:
    client = openai.AsyncOpenAI(base_url=fake.base_url, api_key="x", max_retries=0)
    reply = await client.chat.completions.create(model="m", messages=user("async hello"))
    assert reply.choices[0].message.content == "echo: async hello"
    await client.close()


def test_streaming_with_include_usage(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(model="m", messages=user("one two three"))
    chunks = list(
        client.chat.completions.create(
            model="m", messages=user("one two three"), stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content == "echo: one two three"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) == 4  # one chunk per word
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert len({c.id for c in chunks}) == 1
    *body, last = chunks
    assert last.choices == [] and last.usage == whole.usage
    assert all(c.usage is None for c in body)


def test_streaming_without_include_usage_sends_no_usage(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="m", messages=user("quiet"), stream=True))
    assert chunks and all(c.usage is None and c.choices for c in chunks)


def test_sse_wire_format_ends_with_done(fake: FakeLLMProcess) -> None:
    body = {"model": "m", "messages": user("wire"), "stream": True}
    response = httpx.post(f"{fake.base_url}/chat/completions", json=body)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line for line in response.text.split("\n\n") if line]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"
    assert json.loads(events[0][6:])["object"] == "chat.completion.chunk"


# --- tools ---------------------------------------------------------------------------------------


def test_tool_call_round_trip(client: openai.OpenAI) -> None:
    messages: list[dict[str, Any]] = user("find it")
    first = client.chat.completions.create(model="m", messages=messages, tools=TOOLS)
    assert first.choices[0].finish_reason == "tool_calls" and first.choices[0].message.content is None
    [call] = first.choices[0].message.tool_calls
    assert call.function.name == "lookup" and json.loads(call.function.arguments) == LOOKUP_ARGS
    again = client.chat.completions.create(model="m", messages=messages, tools=TOOLS)
    other = client.chat.completions.create(model="m", messages=user("find another"), tools=TOOLS)
    assert again.choices[0].message.tool_calls[0].id == call.id != other.choices[0].message.tool_calls[0].id
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "42 results"},
    ]
    second = client.chat.completions.create(model="m", messages=messages, tools=TOOLS)
    assert second.choices[0].message.content == "The tool said: 42 results"
    assert second.choices[0].finish_reason == "stop" and not second.choices[0].message.tool_calls


def test_tool_choice_none_and_named(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(model="m", messages=user("no tools"), tools=TOOLS, tool_choice="none")
    assert plain.choices[0].message.content == "echo: no tools" and not plain.choices[0].message.tool_calls
    named = client.chat.completions.create(
        model="m", messages=user("x"), tools=TOOLS, tool_choice={"type": "function", "function": {"name": "other"}}
    )
    assert named.choices[0].message.tool_calls[0].function.name == "other"


def test_streamed_tool_call(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(model="m", messages=user("x"), tools=TOOLS)
    chunks = list(client.chat.completions.create(model="m", messages=user("x"), tools=TOOLS, stream=True))
    deltas = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert len(deltas) == 3  # id and name, then the arguments in two pieces
    assert (deltas[0].id, deltas[0].function.name) == (whole.choices[0].message.tool_calls[0].id, "lookup")
    assert json.loads("".join(d.function.arguments or "" for d in deltas)) == LOOKUP_ARGS
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_response_format_json_schema(client: openai.OpenAI) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "ok": {"type": "boolean"}}}
    reply = client.chat.completions.create(
        model="m",
        messages=user("json please"),
        response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": schema}},
    )
    assert json.loads(reply.choices[0].message.content) == {"city": "fake", "ok": True}


# --- other endpoints -----------------------------------------------------------------------------


def test_legacy_completions(client: openai.OpenAI) -> None:
    reply = client.completions.create(model="m", prompt="once upon")
    assert reply.object == "text_completion" and reply.choices[0].text == " and then: once upon"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (2, 4)
    chunks = list(
        client.completions.create(model="m", prompt="once upon", stream=True, stream_options={"include_usage": True})
    )
    assert "".join(c.choices[0].text for c in chunks if c.choices) == reply.choices[0].text
    assert chunks[-1].choices == [] and chunks[-1].usage == reply.usage
    several = client.completions.create(model="m", prompt=["a", "b"])
    assert [(c.index, c.text) for c in several.choices] == [(0, " and then: a"), (1, " and then: b")]


def test_embeddings(client: openai.OpenAI) -> None:
    first = client.embeddings.create(model="e", input=["alpha", "beta"], dimensions=16)  # base64 on the wire
    floats = client.embeddings.create(model="e", input="alpha", dimensions=16, encoding_format="float")
    assert [len(d.embedding) for d in first.data] == [16, 16] and [d.index for d in first.data] == [0, 1]
    alpha, beta = (d.embedding for d in first.data)
    assert alpha != beta
    assert math.isclose(sum(v * v for v in alpha), 1.0, rel_tol=1e-5)
    assert floats.data[0].embedding == pytest.approx(alpha, abs=1e-6)  # same input, same vector, either format
    assert first.usage.prompt_tokens == 2
    default = client.embeddings.create(model="e", input=[[1, 2, 3]])
    assert len(default.data) == 1 and len(default.data[0].embedding) == 8  # token ids: one input; 8 by default


def test_image_generations(client: openai.OpenAI) -> None:
    image = client.images.generate(model="dall-e-3", prompt="a cat", n=2)
    assert len(image.data) == 2 and image.data[0].b64_json and image.data[0].revised_prompt == "a cat"
    as_url = client.images.generate(model="dall-e-3", prompt="a dog", response_format="url")
    assert as_url.data[0].url and not as_url.data[0].b64_json
    with pytest.raises(openai.BadRequestError):
        client.images.generate(model="dall-e-3", prompt=None)  # type: ignore[arg-type]


def test_models_list_and_retrieve(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list().data]
    assert {"gpt-4o-mini", "text-embedding-3-small", "fake-reasoning", "fake-error-500"} <= set(ids)
    assert client.models.retrieve("anything").id == "anything"


def test_routes_without_v1_prefix(fake: FakeLLMProcess) -> None:
    bare = openai.OpenAI(base_url=fake.root_url, api_key="x", max_retries=0)
    assert bare.chat.completions.create(model="m", messages=user("bare")).choices[0].message.content == "echo: bare"
    assert len(bare.embeddings.create(model="e", input="bare").data) == 1
    assert httpx.get(f"{fake.root_url}/health").status_code == 200


def test_a_body_that_is_not_json_is_a_400(fake: FakeLLMProcess) -> None:
    response = httpx.post(f"{fake.base_url}/chat/completions", content=b"not json")
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"


# --- special behaviours --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "error", "status"),
    [
        ("fake-error-500", openai.InternalServerError, 500),
        ("fake-error-429", openai.RateLimitError, 429),
        ("fake-error-400", openai.BadRequestError, 400),
        ("fake-error-401", openai.AuthenticationError, 401),
        ("gpt-4o-error-503", openai.InternalServerError, 503),
    ],
)
def test_error_models(client: openai.OpenAI, model: str, error: type[openai.APIStatusError], status: int) -> None:
    for stream in (False, True):
        with pytest.raises(error) as caught:
            client.chat.completions.create(model=model, messages=user("x"), stream=stream)
        assert caught.value.status_code == status
        assert f"error-{status}" in caught.value.message
    body = caught.value.body
    assert isinstance(body, dict) and {"message", "type", "param", "code"} <= set(body)


def test_error_marker_in_the_message_and_other_endpoints(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o-mini", messages=user("please fail [fake:error-429]"))
    with pytest.raises(openai.InternalServerError):
        client.embeddings.create(model="fake-error-500", input="x")
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model="m", prompt="[fake:error-400]")


def test_reasoning_model(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="fake-reasoning", messages=user("why"))
    assert reply.choices[0].message.model_extra["reasoning_content"] == "thinking about: why"
    assert reply.choices[0].message.content == "echo: why"
    assert reply.usage.completion_tokens_details.reasoning_tokens == 3
    assert reply.usage.completion_tokens == 2 + 3
    chunks = list(client.chat.completions.create(model="fake-reasoning", messages=user("why"), stream=True))
    kinds = [
        "reasoning" if (c.choices[0].delta.model_extra or {}).get("reasoning_content") else "content"
        for c in chunks
        if c.choices and ((c.choices[0].delta.model_extra or {}).get("reasoning_content") or c.choices[0].delta.content)
    ]
    assert kinds == ["reasoning"] * 3 + ["content"] * 2  # reasoning deltas come first
    marked = client.chat.completions.create(model="gpt-4o-mini", messages=user("why [fake:reasoning]"))
    assert "reasoning_content" in marked.choices[0].message.model_extra


def test_slow_model_streams_with_a_delay_between_chunks(client: openai.OpenAI) -> None:
    def gaps(model: str) -> list[float]:
        stamps = []
        for _ in client.chat.completions.create(model=model, messages=user("a b c"), stream=True):
            stamps.append(time.monotonic())
        return [b - a for a, b in itertools.pairwise(stamps)]

    assert min(gaps("fake-slow-80")) >= 0.06
    assert sum(gaps("gpt-4o-mini")) < 0.2


def test_latency_from_the_environment_and_recording_off() -> None:
    with FakeLLMProcess(env={"FAKE_LLM_LATENCY_MS": "300"}, keep_requests=0) as slow:
        client = openai.OpenAI(base_url=slow.base_url, api_key="x", max_retries=0)
        client.models.list()  # connection up; GET /models is not delayed
        started = time.monotonic()
        client.chat.completions.create(model="m", messages=user("wait"))
        assert time.monotonic() - started >= 0.3
        assert slow.requests() == [] and slow.stats()["requests"] == 2  # counted, not kept


# --- request recording and the process helper ----------------------------------------------------


def test_request_recording(fake: FakeLLMProcess) -> None:
    client = openai.OpenAI(base_url=fake.base_url, api_key="sk-secret-value", max_retries=0)
    before = fake.stats()
    fake.clear_requests()
    client.chat.completions.create(model="m", messages=user("remember me"))
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="fake-error-429", messages=user("and me"))
    first, second = fake.requests()
    assert (first["method"], first["path"], first["status"]) == ("POST", "/v1/chat/completions", 200)
    assert first["body"]["messages"][0]["content"] == "remember me"
    assert (second["body"]["model"], second["status"]) == ("fake-error-429", 429)  # newest last
    assert first["headers"]["User-Agent"].startswith("OpenAI/Python")
    assert all(k.lower() != "authorization" for k in first["headers"])
    assert "sk-secret-value" not in json.dumps(fake.requests())
    after = fake.stats()
    assert after["requests"] - before["requests"] == 2 and after["errors"] - before["errors"] == 1
    assert fake.requests(path="/embeddings") == []
    fake.clear_requests()
    assert fake.requests() == []


def test_process_is_stopped_on_exit_and_on_failed_start() -> None:
    with FakeLLMProcess() as fake:
        process = fake.process
        assert process is not None and process.poll() is None
    assert process.poll() is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{fake.root_url}/health")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        broken = FakeLLMProcess(port=taken.getsockname()[1], startup_timeout=10)
        with pytest.raises(RuntimeError, match=r"cannot listen on .*address already in use"), broken:
            pass
    assert broken.process is not None and broken.process.poll() is not None
    assert fake.output() == ""  # a clean exit removes the log; a failed start keeps it for the error
    broken.log_path.unlink()


# --- through the real LiteLLM proxy --------------------------------------------------------------


@pytest.fixture(scope="module")
def proxy(fake: FakeLLMProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    """``litellm --config`` whose models all point at the fake (api_base), with retries off."""
    models = ["gpt-4o-mini", "fake-reasoning", "text-embedding-3-small", "fake-error-429"]
    lines = ["model_list:"]
    for name in models:
        params = {"model": f"openai/{name}", "api_base": fake.base_url, "api_key": "fake-key"}
        lines += [f"  - model_name: {name}", f"    litellm_params: {json.dumps(params)}"]
    lines += ["router_settings:", "  num_retries: 0"]  # else 429/500 are tried 3 times, seconds apart
    config = Path(tmp_path_factory.mktemp("litellm")) / "config.yaml"
    config.write_text("\n".join(lines) + "\n")
    # ProxyProcess: .venv/bin/litellm --config … --host 127.0.0.1 --port <free>, LITELLM_MASTER_KEY=sk-<64 hex>,
    # LITELLM_LOCAL_MODEL_COST_MAP=True; waits for /health/liveliness; stopped by the with block
    with ProxyProcess(config=config, startup_timeout=90) as running:
        yield running


def test_through_litellm_chat_and_usage(proxy: ProxyProcess, fake: FakeLLMProcess) -> None:
    client = proxy.openai_client(max_retries=0)
    fake.clear_requests()
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=user("hello proxy"))
    assert reply.choices[0].message.content == "echo: hello proxy"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (5, 3)
    assert reply.usage.prompt_tokens_details.cached_tokens == 2
    [seen] = fake.requests()
    assert seen["body"]["model"] == "gpt-4o-mini"  # LiteLLM strips the openai/ prefix
    assert seen["headers"]["User-Agent"].startswith("AsyncOpenAI/Python")  # LiteLLM's own openai client
    with pytest.raises(openai.APIStatusError):
        openai.OpenAI(base_url=f"{proxy.base_url}/v1", api_key="sk-wrong", max_retries=0).models.list()


def test_through_litellm_stream_usage(proxy: ProxyProcess, fake: FakeLLMProcess) -> None:
    client = proxy.openai_client(max_retries=0)
    fake.clear_requests()
    chunks = list(
        client.chat.completions.create(
            model="fake-reasoning", messages=user("stream it"), stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: stream it"
    reasoning = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning_content") or "" for c in chunks if c.choices
    )
    assert reasoning == "thinking about: stream it"
    [usage] = [c.usage for c in chunks if c.usage is not None]
    assert (usage.prompt_tokens, usage.completion_tokens) == (5, 3 + 4)  # answer words + reasoning words
    assert usage.completion_tokens_details.reasoning_tokens == 4
    # LiteLLM asks the upstream for usage on every stream, even when the client does not
    list(client.chat.completions.create(model="gpt-4o-mini", messages=user("no usage asked"), stream=True))
    assert [r["body"]["stream_options"] for r in fake.requests()] == [{"include_usage": True}] * 2


def test_through_litellm_tool_call_round_trip(proxy: ProxyProcess, fake: FakeLLMProcess) -> None:
    client = proxy.openai_client(max_retries=0)
    direct = openai.OpenAI(base_url=fake.base_url, api_key="x", max_retries=0)
    messages: list[dict[str, Any]] = user("weather in Oslo?")
    first = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)
    [call] = first.choices[0].message.tool_calls
    expected = direct.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.id == expected.choices[0].message.tool_calls[0].id
    assert json.loads(call.function.arguments) == LOOKUP_ARGS
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "4 degrees, rain"},
    ]
    second = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)
    assert second.choices[0].message.content == "The tool said: 4 degrees, rain"
    streamed = list(
        client.chat.completions.create(model="gpt-4o-mini", messages=user("weather in Oslo?"), tools=TOOLS, stream=True)
    )
    deltas = [tc for c in streamed if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert json.loads("".join(d.function.arguments or "" for d in deltas)) == LOOKUP_ARGS


def test_through_litellm_embeddings_and_errors(proxy: ProxyProcess, fake: FakeLLMProcess) -> None:
    client = proxy.openai_client(max_retries=0)
    direct = openai.OpenAI(base_url=fake.base_url, api_key="x", max_retries=0)
    vectors = client.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"], dimensions=4)
    expected = direct.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"], dimensions=4)
    assert [len(d.embedding) for d in vectors.data] == [4, 4]
    for got, want in zip(vectors.data, expected.data, strict=True):
        assert got.embedding == pytest.approx(want.embedding, abs=1e-6)
    assert vectors.usage.prompt_tokens == 2
    fake.clear_requests()
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="fake-error-429", messages=user("x"))
    assert caught.value.status_code == 429 and "error-429" in caught.value.message
    assert len(fake.requests()) == 1  # num_retries: 0 reached the proxy's router
