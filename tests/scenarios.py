"""End-to-end scenarios: the official OpenAI client → the LiteLLM proxy → what the Sigil sink received.

Shared by the process-level integration tests and the container tests: each scenario takes a
:class:`Target` (where the proxy and the sink are) and asserts on the sink's read-back API
(``GET /api/v1/generations`` → proto-JSON with proto field names). Every scenario tags its requests
with a fresh conversation id, so scenarios never see each other's generations.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import openai

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]


class SinkReader:
    """The sink's read-back API over plain HTTP (works for a process or a container)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def generations(self, **filters: str) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({k: v for k, v in filters.items() if v})
        with urllib.request.urlopen(f"{self.base_url}/api/v1/generations?{query}", timeout=10) as response:
            return list(json.loads(response.read())["items"])

    def wait_for(
        self, count: int, *, timeout: float = 30.0, settle: float = 0.0, **filters: str
    ) -> list[dict[str, Any]]:
        """Poll until at least ``count`` calls have their generation (:func:`calls`); with ``settle``,
        keep watching that long afterwards so that a surplus (duplicates) would show. A failed try in
        the answer may still be followed by its call's success: then watch at least a second more."""
        deadline = time.monotonic() + timeout
        items: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            items = calls(self.generations(**filters))
            if len(items) >= count:
                break
            time.sleep(0.1)
        if len(items) >= count and any(failed_try(g) for g in items):
            settle = max(settle, 1.0)
        if settle and len(items) >= count:
            time.sleep(settle)
            items = calls(self.generations(**filters))
        assert len(items) >= count, f"sink has {len(items)} generations for {filters}, expected {count}"
        return items


def failed_try(generation: dict[str, Any]) -> bool:
    """A failed try inside LiteLLM's router retry loop: its id is ``<call id>-attempt-<n>``
    (sigil_sdk_litellm.mapping.identity)."""
    call_id = generation.get("metadata", {}).get("litellm.call_id", "")
    prefix, _, attempt = str(generation.get("id", "")).rpartition("-attempt-")
    return bool(call_id) and prefix == call_id and attempt.isdigit() and bool(generation.get("call_error"))


def calls(generations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One generation per call: a failed try whose call then succeeded (the router retried it; the
    success has the call id) is left out. A call that failed for good keeps its failed try."""
    ids = {g.get("id") for g in generations}
    return [g for g in generations if not (failed_try(g) and g["metadata"]["litellm.call_id"] in ids)]


@dataclass
class Target:
    proxy_url: str
    master_key: str
    sink: SinkReader
    capture_inputs: bool = True
    capture_outputs: bool = True

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.proxy_url}/v1", api_key=self.master_key, max_retries=0)

    def async_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=f"{self.proxy_url}/v1", api_key=self.master_key, max_retries=0)


def new_conversation() -> str:
    return f"conv-{uuid.uuid4().hex[:12]}"


def metadata(conversation: str, **extra: Any) -> dict[str, Any]:
    return {"metadata": {"conversation_id": conversation, "agent_name": "scenario-agent", **extra}}


# --- proto-JSON readers --------------------------------------------------------------------------


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [part.get("text", "") for message in messages for part in message.get("parts", []) if "text" in part]


def tool_calls(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [part["tool_call"] for message in messages for part in message.get("parts", []) if "tool_call" in part]


def tool_results(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [part["tool_result"] for m in messages for part in m.get("parts", []) if "tool_result" in part]


def decoded_json(value: str) -> Any:
    return json.loads(base64.b64decode(value))


def usage(generation: dict[str, Any]) -> dict[str, int]:
    return {key: int(value) for key, value in generation.get("usage", {}).items()}


def all_content(generation: dict[str, Any]) -> str:
    """Every piece of prompt/response text a generation carries (for privacy assertions)."""
    parts = [generation.get("system_prompt", "")]
    for message in [*generation.get("input", []), *generation.get("output", [])]:
        for part in message.get("parts", []):
            parts += [part.get("text", ""), part.get("thinking", "")]
            if "tool_call" in part:
                parts.append(base64.b64decode(part["tool_call"].get("input_json", "")).decode())
            if "tool_result" in part:
                parts.append(part["tool_result"].get("content", ""))
    return "\n".join(parts)


def assert_common(generation: dict[str, Any], target: Target, *, mode: str = "SYNC") -> None:
    assert generation["mode"] == f"GENERATION_MODE_{mode}"
    assert generation["tags"]["sigil.framework.name"] == "litellm"
    assert generation["tags"]["sigil.framework.source"] == "handler"
    assert generation["tags"]["sigil.framework.language"] == "python"
    # the proxy's User-Agent request tags, as the incumbent package records them: value = the tag
    agent_tags = {k: v for k, v in generation["tags"].items() if k.lower().startswith("litellm.tag.user-agent")}
    assert all(key == f"litellm.tag.{value}" for key, value in agent_tags.items())
    assert generation["id"]
    if not target.capture_inputs:
        assert generation.get("input", []) == [] and not generation.get("system_prompt")
    if not target.capture_outputs:
        assert generation.get("output", []) == []


# --- scenarios -----------------------------------------------------------------------------------


def scenario_sync_chat(target: Target) -> None:
    conv = new_conversation()
    prompt = f"Say hello to {conv}"
    raw = target.client().chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "You are terse."}, {"role": "user", "content": prompt}],
        temperature=0.25,
        max_tokens=64,
        user="end-user-7",
        extra_body=metadata(conv, agent_version="1.2.3", tags=["scenario"]),
    )
    reply = raw.parse()
    assert reply.choices[0].message.content
    [g] = target.sink.wait_for(1, conversation_id=conv, settle=0.5)
    assert_common(g, target)
    # the generation id is LiteLLM's call id: it joins LiteLLM's own logs
    assert g["id"] == raw.headers["x-litellm-call-id"] == g["metadata"]["litellm.call_id"]
    assert g["model"] == {"provider": "openai", "name": "gpt-4o-mini"}
    assert (g["agent_name"], g["agent_version"], g["conversation_id"]) == ("scenario-agent", "1.2.3", conv)
    assert g["metadata"]["sigil.user.id"] == "end-user-7"  # the proto has no user field: the SDK keeps it here
    assert g["tags"]["litellm.tag.scenario"] == "scenario"
    assert g["tags"]["litellm.model_group"] == "gpt-4o-mini"
    assert g["metadata"]["litellm.model_group"] == "gpt-4o-mini" and g["metadata"]["litellm.model_id"]
    assert g["metadata"]["litellm.user_agent"].startswith("OpenAI/Python")
    counts = usage(g)
    assert counts["input_tokens"] == reply.usage.prompt_tokens
    assert counts["output_tokens"] == reply.usage.completion_tokens
    assert counts["cache_read_input_tokens"] > 0
    assert (g["temperature"], int(g["max_tokens"])) == (0.25, 64)
    assert g["stop_reason"] == "stop"
    assert g["response_model"]
    if target.capture_inputs:
        assert g["system_prompt"] == "You are terse."
        assert texts(g["input"]) == [prompt]
    if target.capture_outputs:
        assert texts(g["output"]) == [reply.choices[0].message.content]


async def scenario_async_chat(target: Target) -> None:
    conv = new_conversation()
    reply = await target.async_client().chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "async hello"}],
        extra_body={"metadata": {"conversation_id": conv}},
        extra_headers={"x-litellm-agent-id": "support-bot"},  # LiteLLM's own agent identity
    )
    [g] = target.sink.wait_for(1, conversation_id=conv)
    assert_common(g, target)
    assert g["agent_name"] == "support-bot"
    assert g["model"]["name"] == "gpt-4o" and g["response_id"] == reply.id


def scenario_streaming(target: Target) -> None:
    conv = new_conversation()
    stream = target.client().chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "stream these words please"}],
        stream=True,
        stream_options={"include_usage": True},
        extra_body=metadata(conv),
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    [g] = target.sink.wait_for(1, conversation_id=conv, settle=0.5)
    assert_common(g, target, mode="STREAM")
    assert g["operation_name"] == "streamText"
    assert usage(g)["output_tokens"] > 0
    if target.capture_outputs:
        assert "".join(texts(g["output"])).strip() == text.strip()


def scenario_tool_round_trip(target: Target) -> None:
    conv = new_conversation()
    client = target.client()
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What's the weather in Oslo?"}]
    first = client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, tools=TOOLS, tool_choice="auto", extra_body=metadata(conv)
    )
    call = first.choices[0].message.tool_calls[0]
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "4°C, rain"},
    ]
    client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS, extra_body=metadata(conv))
    generations = target.sink.wait_for(2, conversation_id=conv, settle=0.5)
    assert len(generations) == 2
    by_stop = {g["stop_reason"]: g for g in generations}
    asked, answered = by_stop["tool_calls"], by_stop["stop"]
    for g in generations:
        assert_common(g, target)
        assert [t["name"] for t in g["tools"]] == ["get_weather"]
    assert asked["tool_choice"] == "auto"
    if target.capture_outputs:
        [out_call] = tool_calls(asked["output"])
        assert (out_call["id"], out_call["name"]) == (call.id, "get_weather")
        assert decoded_json(out_call["input_json"]) == json.loads(call.function.arguments)
    if target.capture_inputs:
        assert [m["role"] for m in answered["input"]] == [
            "MESSAGE_ROLE_USER",
            "MESSAGE_ROLE_ASSISTANT",
            "MESSAGE_ROLE_TOOL",
        ]
        [result] = tool_results(answered["input"])
        assert (result["tool_call_id"], result["content"]) == (call.id, "4°C, rain")
        assert tool_calls(answered["input"])[0]["name"] == "get_weather"


def scenario_upstream_error(target: Target) -> None:
    conv = new_conversation()
    try:
        target.client().chat.completions.create(
            model="openai/fake-error-500", messages=[{"role": "user", "content": "fail"}], extra_body=metadata(conv)
        )
    except openai.APIStatusError as exc:
        assert exc.status_code >= 500
    else:
        raise AssertionError("the fake upstream's error model must fail")
    [g] = target.sink.wait_for(1, conversation_id=conv, settle=0.5)
    assert_common(g, target)
    assert g["call_error"]
    assert g["model"]["name"] == "fake-error-500"
    assert g["metadata"]["litellm.error_class"]
    assert g.get("output", []) == []


def scenario_embeddings(target: Target) -> None:
    conv = new_conversation()
    vectors = target.client().embeddings.create(
        model="text-embedding-3-small", input=["alpha", "beta"], extra_body=metadata(conv)
    )
    assert len(vectors.data) == 2
    # embeddings are recorded as SDK spans, not generations: nothing may arrive for them
    marker = new_conversation()
    target.client().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "after embeddings"}], extra_body=metadata(marker)
    )
    target.sink.wait_for(1, conversation_id=marker)
    assert target.sink.generations(conversation_id=conv) == []


SCENARIOS: dict[str, Callable[[Target], Any]] = {
    "sync_chat": scenario_sync_chat,
    "async_chat": scenario_async_chat,
    "streaming": scenario_streaming,
    "tool_round_trip": scenario_tool_round_trip,
    "upstream_error": scenario_upstream_error,
    "embeddings": scenario_embeddings,
}
