"""One completion event to one generation: ids, modes, timing, failures, capture switches."""

from __future__ import annotations

from sigil_sdk import GenerationMode

from sigil_sdk_litellm.mapping.event import MappingOptions
from sigil_sdk_litellm.mapping.generation import GenerationRecord, map_generation
from tests.support import failure_slo, standard_logging_object
from tests.unit.mapping.support import generation


def test_response_model_and_id_come_from_the_provider_response() -> None:
    g = generation().generation
    assert g.response_id == "chatcmpl-123"
    assert g.response_model == "gpt-4o-mini-2024-07-18"


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
    record = map_generation(
        {"call_type": "acompletion", "exception": ValueError("key rejected")},
        None,
        MappingOptions(),
        failed=True,
    )
    assert (record.generation.model.provider, record.generation.model.name) == ("unknown", "unknown")
    assert record.call_error == "key rejected"


def _all_text(record: GenerationRecord) -> str:
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
    no_in = generation(slo, MappingOptions(capture_inputs=False))
    assert no_in.generation.input == [] and no_in.generation.system_prompt == ""
    assert [t.name for t in no_in.generation.tools] == ["f"] and "secret tool doc" not in _all_text(no_in)
    assert "Hello there!" in _all_text(no_in)
    no_out = generation(slo, MappingOptions(capture_outputs=False))
    assert no_out.generation.output == [] and "Say hello" in _all_text(no_out)
    redacted = generation(slo, redacted=True)
    assert _all_text(redacted) == ""
    assert redacted.generation.usage.output_tokens == 5  # metadata survives
