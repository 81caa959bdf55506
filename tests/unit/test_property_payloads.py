"""Property-based: whatever LiteLLM-shaped payload arrives, the handler never raises, never falls back
to its catch-all, and what it exports passes the mock sink's strict parsing and per-item rules."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sigil_mock_sink import ingest
from sigil_sdk.internal.gen.sigil.v1 import generation_ingest_pb2 as pb
from sigil_sdk.proto_mapping import generation_to_proto_json

from sigil_sdk_litellm import SigilLiteLLMLogger
from tests.support import callback_kwargs, capturing_client, chat_response, standard_logging_object

text = st.text(max_size=40)  # any unicode, surrogates excluded by hypothesis' default codec
junk = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), text, st.binary(max_size=8))
scalar_or_junk = st.one_of(junk, st.lists(junk, max_size=3), st.dictionaries(text, junk, max_size=3))

content_part = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": st.one_of(text, junk)}),
    # Responses input/output parts and Anthropic content blocks
    st.fixed_dictionaries(
        {"type": st.sampled_from(["input_text", "output_text", "refusal", "thinking"]), "text": st.one_of(text, junk)},
        optional={"refusal": st.one_of(text, junk), "thinking": st.one_of(text, junk)},
    ),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["tool_use", "tool_result", "redacted_thinking", "image"])},
        optional={
            "id": junk,
            "name": junk,
            "input": scalar_or_junk,
            "tool_use_id": junk,
            "content": st.one_of(text, st.lists(scalar_or_junk, max_size=2), junk),
            "is_error": junk,
            "data": junk,
        },
    ),
    st.fixed_dictionaries({"type": st.just("image_url"), "image_url": st.fixed_dictionaries({"url": text})}),
    st.fixed_dictionaries({"type": st.just("input_audio"), "input_audio": st.fixed_dictionaries({"data": text})}),
    st.fixed_dictionaries({"type": text}),
    junk,
)
content = st.one_of(text, st.lists(content_part, max_size=4), junk, st.text(min_size=2000, max_size=6000))
tool_call = st.one_of(
    st.fixed_dictionaries(
        {
            "id": st.one_of(text, junk),
            "type": st.just("function"),
            "function": st.fixed_dictionaries(
                {"name": st.one_of(text, junk), "arguments": st.one_of(text, st.just("{not json"), scalar_or_junk)}
            ),
        }
    ),
    junk,
)
structured_message = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["system", "developer", "user", "assistant", "tool", "function", "critic", ""]),
        "content": content,
    },
    optional={
        "tool_calls": st.one_of(st.lists(tool_call, max_size=3), junk),
        "tool_call_id": st.one_of(text, junk),
        "name": st.one_of(text, junk),
        "reasoning_content": st.one_of(text, junk),
        "thinking_blocks": st.one_of(
            st.lists(
                st.one_of(
                    st.fixed_dictionaries({"type": st.just("thinking"), "thinking": st.one_of(text, junk)}),
                    st.fixed_dictionaries({"type": st.just("redacted_thinking"), "data": text}),
                    junk,
                ),
                max_size=2,
            ),
            junk,
        ),
    },
)
# Responses API input / output items
response_item = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "function_call", "function_call_output", "reasoning", "web_search_call"])},
    optional={
        "role": st.one_of(st.sampled_from(["user", "assistant", "system", "developer"]), junk),
        "content": content,
        "call_id": junk,
        "name": junk,
        "arguments": scalar_or_junk,
        "output": st.one_of(text, st.lists(content_part, max_size=2), junk),
        "summary": st.one_of(st.lists(st.one_of(st.fixed_dictionaries({"text": junk}), junk), max_size=2), junk),
        "encrypted_content": junk,
    },
)
# mostly well-formed shapes with junk inside (junk everywhere would rarely reach the deep paths)
message = st.one_of(structured_message, structured_message, structured_message, response_item, junk)
usage = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "prompt_tokens": junk,
            "completion_tokens": junk,
            "total_tokens": junk,
            "prompt_tokens_details": st.one_of(st.fixed_dictionaries({"cached_tokens": junk}), junk),
            "completion_tokens_details": st.one_of(st.fixed_dictionaries({"reasoning_tokens": junk}), junk),
        },
    ),
    junk,
)
response = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "id": st.one_of(text, junk),
            "model": st.one_of(text, junk),
            "choices": st.one_of(
                st.lists(
                    st.one_of(
                        st.fixed_dictionaries(
                            {"finish_reason": st.one_of(text, junk), "message": st.one_of(message, junk)}
                        ),
                        st.fixed_dictionaries({"text": st.one_of(text, junk)}),
                        junk,
                    ),
                    max_size=2,
                ),
                junk,
            ),
            "usage": st.one_of(
                usage,
                st.fixed_dictionaries(
                    {},
                    optional={
                        "input_tokens": junk,
                        "output_tokens": junk,
                        "input_tokens_details": scalar_or_junk,
                        "output_tokens_details": scalar_or_junk,
                        "cache_read_input_tokens": junk,
                        "cache_creation_input_tokens": junk,
                    },
                ),
            ),
            "output": st.one_of(st.lists(response_item, max_size=3), junk),
            "content": st.one_of(st.lists(content_part, max_size=3), junk),
            "status": junk,
            "incomplete_details": scalar_or_junk,
            "stop_reason": junk,
            "instructions": st.one_of(text, junk),
        },
    ),
    junk,
)
slo = st.fixed_dictionaries(
    {
        "call_type": st.sampled_from(
            ["acompletion", "completion", "text_completion", "aembedding", "aresponses", "anthropic_messages", "x"]
        ),
        "messages": st.one_of(st.lists(message, min_size=1, max_size=6), st.lists(message, max_size=6), junk),
        "response": response,
    },
    optional={
        "model": st.one_of(text, junk),
        "custom_llm_provider": st.one_of(text, junk),
        "stream": junk,
        "model_parameters": st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "temperature": junk,
                    "max_tokens": junk,
                    "top_p": junk,
                    "tools": st.one_of(st.lists(scalar_or_junk, max_size=2), junk),
                    "tool_choice": scalar_or_junk,
                    "thinking": scalar_or_junk,
                    "instructions": scalar_or_junk,
                    "system": scalar_or_junk,
                    "reasoning": scalar_or_junk,
                    "max_output_tokens": junk,
                },
            ),
            junk,
        ),
        "metadata": st.one_of(
            st.fixed_dictionaries({}, optional={"requester_metadata": scalar_or_junk, "user_api_key_team_id": junk}),
            junk,
        ),
        "request_tags": st.one_of(st.lists(junk, max_size=3), junk),
        "startTime": junk,
        "endTime": junk,
        "completionStartTime": junk,
        "response_cost": junk,
        "error_information": st.one_of(st.dictionaries(text, junk, max_size=3), junk),
        "end_user": junk,
    },
)
kwargs_strategy = st.fixed_dictionaries(
    {"standard_logging_object": slo},
    optional={
        "litellm_params": st.one_of(st.fixed_dictionaries({"metadata": scalar_or_junk}), junk),
        "model": st.one_of(text, junk),
        "input": st.one_of(scalar_or_junk, st.lists(response_item, max_size=3)),
        "optional_params": st.one_of(st.fixed_dictionaries({}, optional={"system": scalar_or_junk}), junk),
        "user": junk,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(kwargs=kwargs_strategy, failed=st.booleans(), capture=st.booleans())
# found by hypothesis: numbers past int64 failed the proto encoding of the whole generation
@example(
    kwargs={
        "standard_logging_object": {
            "call_type": "acompletion",
            "messages": [],
            "response": None,
            "model_parameters": {"max_tokens": 2**63, "max_output_tokens": 2**64},
        }
    },
    failed=False,
    capture=True,
)
@example(
    kwargs={
        "standard_logging_object": {
            "call_type": "acompletion",
            "messages": [],
            "response": None,
            "model_parameters": {"max_tokens": 2**63},
        }
    },
    failed=True,
    capture=False,
)
def test_any_payload_is_recorded_or_skipped_cleanly_and_exports_valid_proto_json(
    kwargs: dict[str, Any], failed: bool, capture: bool
) -> None:
    client, exporter = capturing_client()
    handler = SigilLiteLLMLogger(client=client, capture_inputs=capture, capture_outputs=capture)
    if failed:
        handler.log_failure_event(kwargs, object(), None, None)
    else:
        handler.log_success_event(kwargs, object(), None, None)
    client.flush()
    # nothing went through the catch-all, and the SDK refused nothing: every event was either skipped
    # (not a completion) or recorded as a generation the SDK accepted
    assert handler.problems.counts == {}
    for generation in exporter.generations:
        body = json.dumps({"generations": [generation_to_proto_json(generation)]})
        request = json_format.Parse(body, pb.ExportGenerationsRequest())  # strict: unknown fields, enums, base64
        [parsed] = request.generations
        assert ingest.normalize_generation(parsed, ingest.id_counter("gen")) is None
    client.shutdown()


# ---------------------------------------------------------------------------------------------
# Well-formed chats: nothing is lost or changed on the way (a handler that emptied or reordered a
# text, or dropped a turn, fails here; the junk property above only proves that nothing breaks)

clean_text = st.text(min_size=1, max_size=60).filter(lambda s: s.strip() != "")
turn = st.tuples(st.sampled_from(["user", "assistant"]), clean_text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    system=st.one_of(st.none(), clean_text),
    history=st.lists(turn, max_size=6),
    question=clean_text,
    reply=clean_text,
    tokens=st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)),
    stream=st.booleans(),
)
def test_well_formed_chats_keep_every_text_in_order(
    system: str | None, history: list[tuple[str, str]], question: str, reply: str, tokens: tuple[int, int], stream: bool
) -> None:
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system is not None else []
    messages += [{"role": role, "content": content} for role, content in history]
    messages.append({"role": "user", "content": question})
    response = chat_response(
        choices=[{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": reply}}],
        usage={"prompt_tokens": tokens[0], "completion_tokens": tokens[1], "total_tokens": sum(tokens)},
    )
    slo = standard_logging_object(
        messages=messages,
        response=response,
        stream=stream,
        prompt_tokens=tokens[0],
        completion_tokens=tokens[1],
        total_tokens=sum(tokens),
    )
    client, exporter = capturing_client()
    handler = SigilLiteLLMLogger(client=client)
    handler.log_success_event(callback_kwargs(slo, messages=messages, stream=stream), response, None, None)
    client.flush()
    assert handler.problems.counts == {}
    [generation] = exporter.generations
    assert generation.system_prompt == (system or "")
    sent = [(m.role.value, "".join(p.text for p in m.parts)) for m in generation.input]
    assert sent == [*history, ("user", question)]
    assert ["".join(p.text for p in m.parts) for m in generation.output] == [reply]
    assert (generation.usage.input_tokens, generation.usage.output_tokens) == tokens
    assert generation.stop_reason == "stop"
    client.shutdown()
