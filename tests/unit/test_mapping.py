"""The pure mapping from LiteLLM payloads (plain dicts) to Sigil models."""

from __future__ import annotations

import copy
import json
import math

import pytest
from sigil_sdk import GenerationMode, MessageRole, PartKind

from sigil_sdk_litellm.mapping import core as m
from tests.support import callback_kwargs, chat_response, failure_slo, standard_logging_object


def generation(slo: dict | None = None, options: m.MappingOptions | None = None, **kw: object) -> m.GenerationRecord:
    failed = bool(kw.pop("failed", False))
    redacted = bool(kw.pop("redacted", False))
    kwargs = callback_kwargs(slo, **kw)
    return m.map_generation(kwargs, None, options or m.MappingOptions(), failed=failed, redacted=redacted)


# --- call types ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call_type", "kind"),
    [
        ("completion", "generation"),
        ("acompletion", "generation"),
        ("text_completion", "generation"),
        ("atext_completion", "generation"),
        ("embedding", "embedding"),
        ("aembedding", "embedding"),
        ("image_generation", None),
        ("arerank", None),
        ("", "generation"),  # no call type (older LiteLLM): a chat, as the incumbent records it
        (None, "generation"),
        (42, None),
    ],
)
def test_classify_call(call_type: object, kind: str | None) -> None:
    assert m.classify_call(call_type) == kind


# --- model -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "provider", "expected"),
    [
        ("gpt-4o-mini", "openai", ("openai", "gpt-4o-mini")),
        ("openai/gpt-4o-mini", "openai", ("openai", "gpt-4o-mini")),
        ("anthropic/claude-3-5-sonnet", "", ("anthropic", "claude-3-5-sonnet")),
        ("openrouter/meta/llama-3", "openrouter", ("openrouter", "meta/llama-3")),
        ("meta/llama-3", "together_ai", ("together_ai", "meta/llama-3")),
        ("", "", ("unknown", "unknown")),
        (None, None, ("unknown", "unknown")),
    ],
)
def test_model_name_without_provider_prefix(model: object, provider: object, expected: tuple[str, str]) -> None:
    slo = standard_logging_object(model=model, custom_llm_provider=provider)
    record = generation(slo, model=model, litellm_params={"metadata": {}})
    assert (record.generation.model.provider, record.generation.model.name) == expected


def test_response_model_and_id_come_from_the_provider_response() -> None:
    g = generation().generation
    assert g.response_id == "chatcmpl-123"
    assert g.response_model == "gpt-4o-mini-2024-07-18"


def test_provider_falls_back_to_the_error_information() -> None:
    slo = failure_slo(custom_llm_provider=None, model="claude-x")
    g = generation(slo, litellm_params={}, failed=True).generation
    assert g.model.provider == "openai"


# --- messages --------------------------------------------------------------------------------------


def test_system_and_developer_messages_become_the_system_prompt() -> None:
    system, messages = m.map_input_messages(
        [
            {"role": "system", "content": "Be terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in English."}]},
            {"role": "user", "content": "hi"},
        ]
    )
    assert system == "Be terse.\n\nAnswer in English."
    assert [msg.role for msg in messages] == [MessageRole.USER]


def test_content_part_arrays_keep_text_and_mark_media_without_payload() -> None:
    _, messages = m.map_input_messages(
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this picture?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 10_000}},
                    {"type": "input_audio", "input_audio": {"data": "UklGR", "format": "wav"}},
                ],
            }
        ]
    )
    parts = messages[0].parts
    assert [p.text for p in parts] == ["What is in this picture?", "[image]", "[audio]"]
    assert [p.metadata.provider_type for p in parts] == ["", "image_url", "input_audio"]
    assert all("AAAA" not in p.text for p in parts)


def test_assistant_tool_calls_and_tool_results() -> None:
    _, messages = m.map_input_messages(
        [
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"c": 1}'},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "broken", "arguments": "{not json"},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "sunny"},
            {"role": "function", "name": "legacy", "content": [{"type": "text", "text": "ok"}]},
        ]
    )
    assert [msg.role for msg in messages] == [
        MessageRole.USER,
        MessageRole.ASSISTANT,
        MessageRole.TOOL,
        MessageRole.TOOL,
    ]
    calls = [p.tool_call for p in messages[1].parts]
    assert [(c.id, c.name) for c in calls] == [("call_1", "get_weather"), ("call_2", "broken")]
    assert json.loads(calls[0].input_json) == {"c": 1}
    # invalid JSON arguments are kept, as a JSON string
    assert json.loads(calls[1].input_json) == "{not json"
    result = messages[2].parts[0].tool_result
    assert (result.tool_call_id, result.name, result.content) == ("call_1", "get_weather", "sunny")
    assert messages[3].parts[0].tool_result.content == "ok"


def test_thinking_blocks_including_redacted_come_first() -> None:
    parts = m.assistant_parts(
        {
            "content": "The answer is 4.",
            "thinking_blocks": [
                {"type": "thinking", "thinking": "2+2 is 4", "signature": "sig"},
                {"type": "redacted_thinking", "data": "opaque"},
            ],
            "reasoning_content": "2+2 is 4",
        }
    )
    assert [p.kind for p in parts] == [PartKind.THINKING, PartKind.THINKING, PartKind.TEXT]
    assert parts[0].thinking == "2+2 is 4"
    assert parts[1].metadata.provider_type == "redacted_thinking"
    assert parts[1].thinking == "opaque"  # the ciphertext, as both incumbents keep it


def test_reasoning_content_is_thinking_when_there_are_no_blocks() -> None:
    parts = m.assistant_parts({"content": "4", "reasoning_content": "adding"})
    assert [(p.kind, p.thinking or p.text) for p in parts] == [
        (PartKind.THINKING, "adding"),
        (PartKind.TEXT, "4"),
    ]


def test_empty_messages_are_dropped_and_unknown_roles_are_user_input() -> None:
    _, messages = m.map_input_messages(
        [
            {"role": "user", "content": "   "},
            {"role": "assistant", "content": ""},
            {"role": "critic", "content": "looks fine"},
            None,
            42,
        ]
    )
    assert [(msg.role, msg.parts[0].text) for msg in messages] == [(MessageRole.USER, "looks fine")]


def test_text_completion_prompts_are_user_input() -> None:
    assert [msg.parts[0].text for msg in m.map_input_messages("Once upon")[1]] == ["Once upon"]
    assert [msg.parts[0].text for msg in m.map_input_messages(["a", "b"])[1]] == ["a", "b"]
    out, stop = m.map_output({"choices": [{"text": " a time", "finish_reason": "length"}]})
    assert (out[0].parts[0].text, stop) == (" a time", "length")


def test_output_of_every_choice_and_the_first_finish_reason() -> None:
    response = chat_response(
        choices=[
            {
                "finish_reason": "tool_calls",
                "message": {"role": "assistant", "content": "a", "tool_calls": None},
            },
            {"finish_reason": "stop", "message": {"role": "assistant", "content": "b"}},
        ]
    )
    out, stop = m.map_output(response)
    assert [msg.parts[0].text for msg in out] == ["a", "b"]
    assert stop == "tool_calls"


# --- parameters, tools, usage ----------------------------------------------------------------------


def test_tools_and_tool_choice() -> None:
    params = {
        "tools": [
            {
                "type": "function",
                "function": {"name": "f", "description": "does f", "parameters": {"type": "object"}},
            },
            {"type": "function", "function": {"description": "nameless"}},
        ],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
    }
    g = generation(standard_logging_object(model_parameters=params)).generation
    assert [(t.name, t.description, t.type) for t in g.tools] == [("f", "does f", "function")]
    assert json.loads(g.tools[0].input_schema_json) == {"type": "object"}
    assert g.tool_choice == "f"
    assert m.map_tool_choice("auto") == "auto"
    assert m.map_tool_choice({"type": "required"}) == "required"
    assert m.map_tool_choice(None) is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"temperature": 0.2, "max_tokens": 64, "top_p": 0.9}, (0.2, 64, 0.9)),
        ({"temperature": "0.5", "max_tokens": "100", "top_p": 1}, (0.5, 100, 1.0)),
        ({"temperature": "hot", "max_tokens": [], "top_p": True}, (None, None, None)),
        ({"temperature": math.nan, "max_tokens": -3, "top_p": math.inf}, (None, None, None)),
        ({"max_completion_tokens": 77}, (None, 77, None)),
        ({}, (None, None, None)),
    ],
)
def test_model_parameters_tolerate_junk(params: dict, expected: tuple) -> None:
    g = generation(standard_logging_object(model_parameters=params)).generation
    assert (g.temperature, g.max_tokens, g.top_p) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"thinking": {"type": "enabled", "budget_tokens": 1024}}, True),
        ({"thinking": {"type": "disabled"}}, False),
        ({"reasoning_effort": "high"}, True),
        ({"reasoning_effort": "none"}, False),
        ({}, None),
    ],
)
def test_thinking_enabled(params: dict, expected: bool | None) -> None:
    assert m.map_thinking_enabled(params) is expected


def test_usage_with_cache_and_reasoning_tokens() -> None:
    usage = m.map_usage(
        {
            "usage": {
                "prompt_tokens": 100,
                "completion_tokens": 40,
                "total_tokens": 140,
                "prompt_tokens_details": {"cached_tokens": 60},
                "completion_tokens_details": {"reasoning_tokens": 25},
                "cache_creation_input_tokens": 30,
            }
        },
        {},
    )
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (100, 40, 140)
    assert (usage.cache_read_input_tokens, usage.cache_write_input_tokens, usage.reasoning_tokens) == (
        60,
        30,
        25,
    )
    anthropic = m.map_usage({"usage": {"prompt_tokens": 5, "cache_read_input_tokens": 4}}, {})
    assert anthropic.cache_read_input_tokens == 4


def test_usage_falls_back_to_the_logging_payload_counts() -> None:
    usage = m.map_usage({}, {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10})
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (7, 3, 10)


# --- identity, tags, metadata ----------------------------------------------------------------------


def test_agent_and_conversation_from_request_metadata_then_defaults() -> None:
    options = m.MappingOptions(agent_name="default-agent", agent_version="1", conversation_id="default-conv")
    plain = generation(options=options).generation
    assert (plain.agent_name, plain.agent_version, plain.conversation_id) == (
        "default-agent",
        "1",
        "default-conv",
    )
    meta = {"agent_name": "search", "agent_version": "v2", "conversation_id": "conv-9"}
    g = generation(options=options, litellm_params={"metadata": meta}).generation
    assert (g.agent_name, g.agent_version, g.conversation_id) == ("search", "v2", "conv-9")


def test_proxy_requester_metadata_is_read() -> None:
    slo = standard_logging_object(metadata={"requester_metadata": {"agent_name": "via-proxy", "thread_id": "t-1"}})
    g = generation(slo, litellm_params={"metadata": {}}).generation
    assert (g.agent_name, g.conversation_id) == ("via-proxy", "t-1")


@pytest.mark.parametrize(
    ("metadata", "slo_session", "params", "expected"),
    [
        ({"conversation_id": "c", "session_id": "s", "thread_id": "t"}, "ls", {}, "c"),
        ({"session_id": "s", "thread_id": "t"}, "ls", {}, "s"),
        ({"thread_id": "t"}, "ls", {}, "t"),
        ({}, "litellm-session", {}, "litellm-session"),
        ({}, "", {"litellm_session_id": "ls-param"}, "ls-param"),
        ({"trace_id": "my-trace"}, "", {}, "my-trace"),
        ({}, "", {"litellm_trace_id": "generated-per-request"}, "handler-default"),
        ({}, "", {}, "handler-default"),
    ],
)
def test_conversation_id_fallbacks(metadata: dict, slo_session: str, params: dict, expected: str) -> None:
    slo = standard_logging_object(session_id=slo_session)
    options = m.MappingOptions(conversation_id="handler-default")
    g = generation(slo, options, litellm_params={"metadata": metadata, **params}).generation
    assert g.conversation_id == expected


def test_user_id_prefers_the_end_user_then_the_key_user() -> None:
    meta = {"user_api_key_user_id": "key-owner", "user_api_key_end_user_id": None, "requester_metadata": None}
    assert generation(standard_logging_object(metadata=meta)).generation.user_id == "key-owner"
    slo = standard_logging_object(metadata=meta, end_user="customer-7")
    assert generation(slo).generation.user_id == "customer-7"
    assert generation(standard_logging_object(metadata=meta), user="openai-user").generation.user_id == "openai-user"


def test_tags_framework_request_tags_and_user_agent() -> None:
    slo = standard_logging_object(
        request_tags=["team-a", "User-Agent: OpenAI/Python 1.99.0", "", None],
        model_group="gpt-4o-mini",
    )
    options = m.MappingOptions(extra_tags={"env": "prod", "sigil.framework.name": "spoofed"})
    g = generation(slo, options).generation
    assert g.tags == {
        "sigil.framework.name": "litellm",
        "sigil.framework.source": "handler",
        "sigil.framework.language": "python",
        "litellm.tag.team-a": "team-a",
        # the incumbent's representation, kept for its dashboards (docs/compatibility.md)
        "litellm.tag.User-Agent: OpenAI/Python 1.99.0": "User-Agent: OpenAI/Python 1.99.0",
        "litellm.model_group": "gpt-4o-mini",
        "env": "prod",
    }
    assert g.metadata["litellm.user_agent"] == "OpenAI/Python 1.99.0"


def test_proxy_identity_cost_and_cache_become_metadata() -> None:
    slo = standard_logging_object(
        model_group="fast",
        model_id="deployment-1",
        response_cost=0.25,
        cache_hit=True,
        metadata={
            "user_api_key_team_id": "team-1",
            "user_api_key_team_alias": "search team",
            "user_api_key_alias": "ci-key",
            "user_api_key_org_id": "org-1",
            "user_api_key_user_id": "u-1",
            "user_api_key_hash": "hash-that-stays-out",
            "requester_metadata": None,
        },
    )
    options = m.MappingOptions(extra_metadata={"region": "eu", "nested": {"n": 1, "bad": math.inf}})
    md = generation(slo, options).generation.metadata
    expected = {
        "litellm.model_group": "fast",
        "litellm.model_id": "deployment-1",
        "litellm.team_id": "team-1",
        "litellm.team_alias": "search team",
        "litellm.key_alias": "ci-key",
        "litellm.org_id": "org-1",
        "litellm.key_user_id": "u-1",
        "litellm.response_cost": 0.25,
        "litellm.cache_hit": True,
        "litellm.call_id": "call-1",
        "litellm.trace_id": "trace-1",
        "litellm.call_type": "acompletion",
        "region": "eu",
        "nested": {"n": 1.0, "bad": None},
    }
    assert {k: md[k] for k in expected} == expected
    assert "hash-that-stays-out" not in json.dumps(md)


# --- modes, timing, failures -----------------------------------------------------------------------


def test_sync_and_stream_modes_with_first_token_time() -> None:
    sync = generation()
    assert sync.generation.mode is GenerationMode.SYNC
    assert sync.first_token_at is None
    stream = generation(standard_logging_object(stream=True, completionStartTime=1_700_000_000.25))
    assert stream.generation.mode is GenerationMode.STREAM
    assert stream.start.mode is GenerationMode.STREAM
    assert stream.first_token_at is not None and stream.first_token_at.timestamp() == 1_700_000_000.25
    assert stream.generation.started_at.timestamp() == 1_700_000_000.0
    assert stream.generation.completed_at.timestamp() == 1_700_000_001.5


def test_failure_keeps_the_error_class_and_code() -> None:
    record = generation(failure_slo(), failed=True)
    assert record.call_error == "litellm.RateLimitError: slow down"
    assert record.generation.output == []
    md = record.generation.metadata
    assert (md["litellm.error_class"], md["litellm.error_code"], md["litellm.error_provider"]) == (
        "RateLimitError",
        "429",
        "openai",
    )


def test_failure_without_any_payload_still_has_a_model_and_error() -> None:
    record = m.map_generation(
        {"call_type": "acompletion", "exception": ValueError("key rejected")},
        None,
        m.MappingOptions(),
        failed=True,
    )
    assert (record.generation.model.provider, record.generation.model.name) == ("unknown", "unknown")
    assert record.call_error == "key rejected"


# --- privacy -----------------------------------------------------------------------------------------


def _all_text(record: m.GenerationRecord) -> str:
    g = record.generation
    texts = [g.system_prompt]
    for msg in [*g.input, *g.output]:
        for p in msg.parts:
            texts += [p.text, p.thinking]
            if p.tool_call:
                texts.append(p.tool_call.input_json.decode())
            if p.tool_result:
                texts.append(p.tool_result.content)
    texts += [t.description + t.input_schema_json.decode() for t in g.tools]
    return "".join(texts)


def test_capture_flags_keep_prompts_and_responses_out() -> None:
    params = {"tools": [{"type": "function", "function": {"name": "f", "description": "secret tool doc"}}]}
    slo = standard_logging_object(model_parameters=params)
    full = generation(slo)
    assert "Say hello" in _all_text(full) and "Hello there!" in _all_text(full)
    no_in = generation(slo, m.MappingOptions(capture_inputs=False))
    assert no_in.generation.input == [] and no_in.generation.system_prompt == ""
    assert [t.name for t in no_in.generation.tools] == ["f"] and "secret tool doc" not in _all_text(no_in)
    assert "Hello there!" in _all_text(no_in)
    no_out = generation(slo, m.MappingOptions(capture_outputs=False))
    assert no_out.generation.output == [] and "Say hello" in _all_text(no_out)
    redacted = generation(slo, redacted=True)
    assert _all_text(redacted) == ""
    assert redacted.generation.usage.output_tokens == 5  # metadata survives


# --- copy protocol -----------------------------------------------------------------------------------


def test_generation_deep_copy_shares_content_but_not_containers() -> None:
    g = generation().generation
    clone = copy.deepcopy(g)
    assert clone == copy.deepcopy(g)
    assert type(clone) is type(g)
    assert clone.input[0] is g.input[0]  # content shared
    for name in ("input", "output", "tools", "tags", "metadata"):
        assert getattr(clone, name) == getattr(g, name)
        assert getattr(clone, name) is not getattr(g, name)
    assert clone.model == g.model and clone.model is not g.model
    assert clone.usage == g.usage and clone.usage is not g.usage
    clone.metadata["x"] = 1
    clone.model.name = "changed"
    assert "x" not in g.metadata and g.model.name == "gpt-4o-mini"
    start = generation().start
    start_clone = copy.deepcopy(start)
    assert start_clone.model == start.model and start_clone.model is not start.model


def test_embedding_mapping() -> None:
    slo = standard_logging_object(
        call_type="aembedding",
        model="text-embedding-3-small",
        model_parameters={"dimensions": 256, "encoding_format": "float"},
        response={
            "model": "text-embedding-3-small",
            "data": [{"embedding": [0.1] * 256}],
            "usage": {"prompt_tokens": 9},
        },
    )
    kwargs = callback_kwargs(slo, call_type="aembedding", input=["alpha", "beta"])
    record = m.map_embedding(kwargs, None, m.MappingOptions(agent_name="emb"))
    assert (record.start.model.provider, record.start.model.name) == ("openai", "text-embedding-3-small")
    assert (record.start.dimensions, record.start.encoding_format, record.start.agent_name) == (
        256,
        "float",
        "emb",
    )
    assert (record.result.input_count, record.result.input_tokens, record.result.dimensions) == (2, 9, 256)
    assert record.result.input_texts == ["alpha", "beta"]
    hidden = m.map_embedding(kwargs, None, m.MappingOptions(capture_inputs=False))
    assert hidden.result.input_texts == []
