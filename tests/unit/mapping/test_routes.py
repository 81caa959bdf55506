"""The Responses API and Anthropic Messages routes, mapped from plain dicts shaped like the events
LiteLLM 1.108.5 hands to callbacks for them (captured through the real proxy: see the docstrings of
``sigil_sdk_litellm.mapping.responses`` / ``.anthropic_messages``)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from sigil_sdk import GenerationMode, MessageRole, PartKind

from sigil_sdk_litellm.mapping.event import MappingOptions, classify_call
from sigil_sdk_litellm.mapping.generation import map_generation
from sigil_sdk_litellm.mapping.metadata import META_CALL_TYPE
from sigil_sdk_litellm.proxy.offload.slim_event import slim_event
from tests.support import callback_kwargs, failure_slo, standard_logging_object

OPTIONS = MappingOptions(agent_name="default")
TOOL = {"type": "function", "name": "lookup", "description": "Look up.", "parameters": {"type": "object"}}
ANTHROPIC_TOOL = {"name": "lookup", "description": "Look up.", "input_schema": {"type": "object"}}


def responses_object(**overrides: Any) -> dict[str, Any]:
    """The Responses object as LiteLLM logs it (usage already in chat shape)."""
    value: dict[str, Any] = {
        "id": "resp_1",
        "object": "response",
        "model": "gpt-4o-mini-2024",
        "status": "completed",
        "incomplete_details": None,
        "instructions": "Be terse.",
        "output": [
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "think first"}]},
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Sunny.", "annotations": []}],
            },
            {"type": "function_call", "id": "fc_1", "call_id": "call_9", "name": "lookup", "arguments": '{"q":"x"}'},
        ],
        "usage": {
            "prompt_tokens": 12,
            "completion_tokens": 7,
            "total_tokens": 19,
            "prompt_tokens_details": {"cached_tokens": 6},
            "completion_tokens_details": {"reasoning_tokens": 2},
        },
    }
    value.update(overrides)
    return value


def responses_event(*, call_type: str = "aresponses", **slo_overrides: Any) -> dict[str, Any]:
    slo = standard_logging_object(
        call_type=call_type,
        id="resp_1",
        messages=[{"role": "user", "content": "weather?"}],
        response=responses_object(),
        model_parameters={"instructions": "Be terse.", "tools": [TOOL], "max_output_tokens": 50},
    )
    slo.update(slo_overrides)
    return callback_kwargs(slo, call_type=call_type)


def anthropic_chat_response(**message: Any) -> dict[str, Any]:
    """An Anthropic answer as LiteLLM logs it: a chat completion with thinking blocks and cache usage."""
    return {
        "id": "msg_1",
        "object": "chat.completion",
        "model": "claude-sonnet-4-5",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "reasoning_content": "let me look",
                    "thinking_blocks": [{"type": "thinking", "thinking": "let me look", "signature": "s"}],
                    "tool_calls": [
                        {"id": "toolu_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q":"x"}'}}
                    ],
                    **message,
                },
            }
        ],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 8,
            "total_tokens": 18,
            "prompt_tokens_details": {"cached_tokens": 4, "cache_creation_tokens": 2},
            "completion_tokens_details": {"reasoning_tokens": 3},
            "cache_creation_input_tokens": 2,
            "cache_read_input_tokens": 4,
        },
    }


ANTHROPIC_HISTORY: list[dict[str, Any]] = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "what is on this picture?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
        ],
    },
    {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "look it up", "signature": "s"},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_0", "name": "lookup", "input": {"q": "cat"}},
        ],
    },
    {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_0", "content": [{"type": "text", "text": "a cat"}]},
            {"type": "tool_result", "tool_use_id": "toolu_x", "content": "boom", "is_error": True},
            {"type": "text", "text": "and now?"},
        ],
    },
]


def anthropic_event(*, system: Any = "You are a bot.", **slo_overrides: Any) -> dict[str, Any]:
    slo = standard_logging_object(
        call_type="anthropic_messages",
        custom_llm_provider="anthropic",
        model="anthropic/claude-sonnet-4-5",
        id="msg_1",
        messages=ANTHROPIC_HISTORY,
        response=anthropic_chat_response(),
        model_parameters={"max_tokens": 256, "thinking": {"type": "enabled", "budget_tokens": 1024}},
    )
    slo["model_parameters"]["tools"] = [ANTHROPIC_TOOL]
    slo.update(slo_overrides)
    optional = {"max_tokens": 256, "system": system} if system is not None else {"max_tokens": 256}
    return callback_kwargs(slo, call_type="anthropic_messages", optional_params=optional)


def parts(message: Any) -> list[tuple[str, str]]:
    out = []
    for part in message.parts:
        if part.kind is PartKind.TOOL_CALL:
            out.append(("tool_call", f"{part.tool_call.id}:{part.tool_call.name}:{part.tool_call.input_json.decode()}"))
        elif part.kind is PartKind.TOOL_RESULT:
            result = part.tool_result
            out.append(("tool_result", f"{result.tool_call_id}:{result.content}:{result.is_error}"))
        elif part.kind is PartKind.THINKING:
            out.append(("thinking", part.thinking))
        else:
            out.append(("text", part.text))
    return out


@pytest.mark.parametrize("call_type", ["responses", "aresponses", "anthropic_messages", "aanthropic_messages"])
def test_the_new_call_types_are_generations(call_type: str) -> None:
    assert classify_call(call_type) == "generation"
    assert classify_call("aimage_generation") is None


# --- Responses API -------------------------------------------------------------------------------


def test_responses_event() -> None:
    record = map_generation(responses_event(), None, OPTIONS)
    g = record.generation
    assert g.system_prompt == "Be terse."
    assert [(msg.role, parts(msg)) for msg in g.input] == [(MessageRole.USER, [("text", "weather?")])]
    [out] = g.output
    assert parts(out) == [("thinking", "think first"), ("text", "Sunny."), ("tool_call", 'call_9:lookup:{"q":"x"}')]
    assert (g.response_id, g.response_model, g.stop_reason) == ("resp_1", "gpt-4o-mini-2024", "completed")
    usage = g.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (12, 7, 19)
    assert (usage.cache_read_input_tokens, usage.reasoning_tokens) == (6, 2)
    assert [t.name for t in g.tools] == ["lookup"] and g.max_tokens == 50
    assert g.metadata[META_CALL_TYPE] == "aresponses"


def test_responses_instructions_given_as_input_messages() -> None:
    instructions = [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Be terse."}]},
        {"role": "system", "content": "Answer in French."},
    ]
    record = map_generation(responses_event(model_parameters={"instructions": instructions}), None, OPTIONS)
    assert record.generation.system_prompt == "Be terse.\n\nAnswer in French."


def test_responses_input_items() -> None:
    items = [
        {"role": "developer", "content": "Prefer metric."},
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "look"}, {"type": "input_image"}],
        },
        {"type": "reasoning", "id": "rs_0", "summary": [], "encrypted_content": "gAAA"},
        {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": '{"q": "a"}'},
        {"type": "function_call", "call_id": "call_2", "name": "lookup", "arguments": '{"q": "b"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "A"},
        {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "B"}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Both found."}]},
        "next?",
    ]
    g = map_generation(responses_event(messages=items), None, OPTIONS).generation
    assert g.system_prompt == "Be terse.\n\nPrefer metric."
    assert [(msg.role, parts(msg)) for msg in g.input] == [
        (MessageRole.USER, [("text", "look"), ("text", "[image]")]),
        (
            MessageRole.ASSISTANT,
            [
                ("thinking", "[encrypted reasoning]"),
                ("tool_call", 'call_1:lookup:{"q": "a"}'),
                ("tool_call", 'call_2:lookup:{"q": "b"}'),
            ],
        ),
        (MessageRole.TOOL, [("tool_result", "call_1:A:False")]),
        (MessageRole.TOOL, [("tool_result", "call_2:B:False")]),
        (MessageRole.ASSISTANT, [("text", "Both found.")]),
        (MessageRole.USER, [("text", "next?")]),
    ]


def test_responses_incomplete_and_raw_usage() -> None:
    """An incomplete response's reason is the stop reason; usage in the Responses shape is read too
    (what ``response_obj`` carries when the logging payload has no response)."""
    response = responses_object(
        status="incomplete",
        incomplete_details={"reason": "max_output_tokens"},
        output=[{"type": "message", "content": [{"type": "refusal", "refusal": "I can't."}]}],
        usage={
            "input_tokens": 30,
            "input_tokens_details": {"cached_tokens": 10},
            "output_tokens": 5,
            "output_tokens_details": {"reasoning_tokens": 1},
            "total_tokens": 35,
        },
    )
    g = map_generation(responses_event(response={}), response, OPTIONS).generation
    assert g.stop_reason == "max_output_tokens"
    assert parts(g.output[0]) == [("text", "I can't.")]
    assert g.output[0].parts[0].metadata.provider_type == "refusal"
    u = g.usage
    assert (u.input_tokens, u.output_tokens, u.total_tokens, u.cache_read_input_tokens, u.reasoning_tokens) == (
        30,
        5,
        35,
        10,
        1,
    )


def test_responses_stream_has_its_first_token_time_and_reasoning_effort() -> None:
    event = responses_event(stream=True, completionStartTime=1_700_000_000.75)
    event["standard_logging_object"]["model_parameters"]["reasoning"] = {"effort": "low"}
    record = map_generation(event, None, OPTIONS)
    assert record.generation.mode is GenerationMode.STREAM
    assert record.first_token_at == datetime.fromtimestamp(1_700_000_000.75, tz=timezone.utc)
    assert record.generation.thinking_enabled is True


def test_responses_bridged_to_a_chat_provider() -> None:
    """On a provider without a Responses API LiteLLM logs a chat completion, and the system message
    only in ``kwargs["input"]``."""
    chat = anthropic_chat_response(content="Hi.", tool_calls=None, thinking_blocks=None, reasoning_content=None)
    chat["choices"][0]["finish_reason"] = "length"
    event = responses_event(response=chat, model_parameters={"max_tokens": 100})
    event["input"] = [{"role": "system", "content": "sys"}, {"role": "user", "content": "weather?"}]
    g = map_generation(event, None, OPTIONS).generation
    assert g.system_prompt == "sys"
    assert [parts(msg) for msg in g.output] == [[("text", "Hi.")]]
    assert g.stop_reason == "max_output_tokens"
    assert (g.usage.cache_read_input_tokens, g.usage.cache_write_input_tokens) == (4, 2)
    assert g.max_tokens == 100


# --- Anthropic Messages API ----------------------------------------------------------------------


def test_anthropic_messages_event() -> None:
    g = map_generation(anthropic_event(), None, OPTIONS).generation
    assert (g.model.provider, g.model.name) == ("anthropic", "claude-sonnet-4-5")
    assert g.system_prompt == "You are a bot."
    assert [(msg.role, parts(msg)) for msg in g.input] == [
        (MessageRole.USER, [("text", "what is on this picture?"), ("text", "[image]")]),
        (
            MessageRole.ASSISTANT,
            [
                ("thinking", "look it up"),
                ("thinking", "opaque"),  # the ciphertext, as the incumbents keep it
                ("text", "Checking."),
                ("tool_call", 'toolu_0:lookup:{"q": "cat"}'),
            ],
        ),
        (MessageRole.TOOL, [("tool_result", "toolu_0:a cat:False")]),
        (MessageRole.TOOL, [("tool_result", "toolu_x:boom:True")]),
        (MessageRole.USER, [("text", "and now?")]),
    ]
    assert "AAAA" not in repr(g.input)  # an image's data is never copied
    [out] = g.output
    assert parts(out) == [("thinking", "let me look"), ("tool_call", 'toolu_1:lookup:{"q":"x"}')]
    assert g.stop_reason == "tool_use"
    u = g.usage
    assert (u.input_tokens, u.output_tokens, u.cache_read_input_tokens, u.cache_write_input_tokens) == (10, 8, 4, 2)
    assert u.reasoning_tokens == 3
    [tool] = g.tools
    assert (tool.name, tool.description, json.loads(tool.input_schema_json)) == (
        "lookup",
        "Look up.",
        {"type": "object"},
    )
    assert (g.max_tokens, g.thinking_enabled) == (256, True)


@pytest.mark.parametrize(
    ("system", "expected"),
    [
        ([{"type": "text", "text": "one"}, {"type": "text", "text": "two", "cache_control": {}}], "one\n\ntwo"),
        (None, ""),
        (42, ""),
    ],
)
def test_anthropic_system_blocks(system: Any, expected: str) -> None:
    assert map_generation(anthropic_event(system=system), None, OPTIONS).generation.system_prompt == expected


def test_anthropic_native_message_response() -> None:
    """A response in Anthropic's own shape: content blocks, ``stop_reason``, cache counts apart from input."""
    native = {
        "id": "msg_9",
        "type": "message",
        "model": "claude-sonnet-4-5",
        "content": [
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "text", "text": "Done."},
        ],
        "stop_reason": "max_tokens",
        "usage": {
            "input_tokens": 3,
            "cache_read_input_tokens": 20,
            "cache_creation_input_tokens": 5,
            "output_tokens": 4,
        },
    }
    g = map_generation(anthropic_event(response={}), native, OPTIONS).generation
    assert parts(g.output[0]) == [("thinking", "opaque"), ("text", "Done.")]
    assert (g.response_id, g.stop_reason) == ("msg_9", "max_tokens")
    u = g.usage
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (28, 4, 32)
    assert (u.cache_read_input_tokens, u.cache_write_input_tokens) == (20, 5)


def test_anthropic_messages_bridged_to_openai() -> None:
    """An OpenAI model behind /v1/messages: system became ``instructions``, tools the OpenAI shape."""
    chat = anthropic_chat_response(content="Hi.", tool_calls=None, thinking_blocks=None, reasoning_content=None)
    chat["choices"][0]["finish_reason"] = "stop"
    event = anthropic_event(
        system=None,
        response=chat,
        model_parameters={"instructions": "sys", "max_output_tokens": 64, "tools": [TOOL]},
    )
    g = map_generation(event, None, OPTIONS).generation
    assert g.system_prompt == "sys"
    assert g.stop_reason == "end_turn"
    assert [t.name for t in g.tools] == ["lookup"] and g.max_tokens == 64


# --- failures, capture switches, odd payloads, the recorder hand-off -----------------------------


@pytest.mark.parametrize("make", [responses_event, anthropic_event])
def test_failure_events(make: Any) -> None:
    event = make(**failure_slo())
    record = map_generation(event, None, OPTIONS, failed=True)
    assert record.call_error == "litellm.RateLimitError: slow down"
    assert record.generation.output == [] and record.generation.stop_reason == ""
    assert record.generation.input  # what was asked is kept


@pytest.mark.parametrize("make", [responses_event, anthropic_event])
def test_redacted_and_capture_switches(make: Any) -> None:
    for record in (
        map_generation(make(), None, OPTIONS, redacted=True),
        map_generation(make(), None, MappingOptions(capture_inputs=False, capture_outputs=False)),
    ):
        g = record.generation
        assert (g.system_prompt, g.input, g.output) == ("", [], [])
        assert all(not t.description and not t.input_schema_json for t in g.tools)
        assert g.usage.output_tokens > 0


ODD: list[Any] = [None, 7, "text", [], {}, [None, 3, "x", {"type": 5}], {"content": {"type": "text"}}]


@pytest.mark.parametrize("odd", ODD)
@pytest.mark.parametrize("make", [responses_event, anthropic_event])
def test_odd_payloads_never_raise(make: Any, odd: Any) -> None:
    for field in ("messages", "response", "model_parameters"):
        event = make(**{field: odd})
        event["optional_params"] = {"system": odd}
        event["input"] = odd
        map_generation(event, odd, OPTIONS)
        map_generation(slim_event(event, odd), None, OPTIONS)


# --- what replaying real proxy events found (issue #24) -----------------------------------------


def test_anthropic_system_string_logged_as_a_message_is_the_system_prompt_only() -> None:
    """LiteLLM logs a string ``system`` as a first system-role message: it is not user input."""
    logged = [{"role": "system", "content": "Be nice."}, {"role": "user", "content": "hi"}]
    for system in ("Be nice.", None):  # in optional_params too, or only in the logged messages
        event = anthropic_event(system=system, messages=logged)
        for mapped in (event, slim_event(event)):  # in process and handed to a recorder process
            g = map_generation(mapped, None, OPTIONS).generation
            assert g.system_prompt == "Be nice."
            assert [(m.role, parts(m)) for m in g.input] == [(MessageRole.USER, [("text", "hi")])]


@pytest.mark.parametrize(
    "content",
    ['{"temp": 20, "unit": "C"}', [{"type": "text", "text": '{"temp": 20, "unit": "C"}'}]],
)
def test_anthropic_tool_result_with_json_content_keeps_it_as_content_json(content: Any) -> None:
    history = [
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_0", "content": content}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "not json"}]},
    ]
    g = map_generation(anthropic_event(messages=history), None, OPTIONS).generation
    results = [m.parts[0].tool_result for m in g.input]
    assert [(r.tool_call_id, r.content) for r in results] == [
        ("toolu_0", '{"temp": 20, "unit": "C"}'),
        ("toolu_1", "not json"),
    ]
    assert json.loads(results[0].content_json) == {"temp": 20, "unit": "C"}
    assert results[1].content_json == b""


def test_tool_results_with_json_keep_content_json_on_every_route() -> None:
    chat = callback_kwargs(
        standard_logging_object(messages=[{"role": "tool", "tool_call_id": "c1", "content": "[1, 2]"}])
    )
    responses = responses_event(messages=[{"type": "function_call_output", "call_id": "c1", "output": "[1, 2]"}])
    for event in (chat, responses):
        [message] = map_generation(event, None, OPTIONS).generation.input
        assert message.parts[0].tool_result.content_json == b"[1, 2]"
