"""Generations larger than Sigil's payload limit are recorded truncated and marked, never dropped."""

from __future__ import annotations

import json
import logging

import pytest
from sigil_sdk.models import Generation, Message, MessageRole, Part, PartKind, ToolCall

from sigil_sdk_litellm.limits import DEFAULT_BUDGET, TRUNCATED_KEY, fit_generation
from sigil_sdk_litellm.mapping import MappingOptions
from sigil_sdk_litellm.recording import SdkRecorder
from tests.support import callback_kwargs, capturing_client, chat_response, standard_logging_object

MIB = 1 << 20


def text_message(role: MessageRole, text: str) -> Message:
    return Message(role=role, parts=[Part(kind=PartKind.TEXT, text=text)])


def test_a_generation_that_fits_is_left_alone() -> None:
    generation = Generation(input=[text_message(MessageRole.USER, "hi")], system_prompt="be brief")
    assert fit_generation(generation) == 0
    assert generation.input[0].parts[0].text == "hi"
    assert TRUNCATED_KEY not in generation.metadata


def test_the_largest_texts_are_cut_to_a_common_cap_and_marked() -> None:
    small = "keep me whole"
    big = "x" * (5 * MIB)
    arguments = json.dumps({"blob": "y" * (2 * MIB)}).encode()
    generation = Generation(
        input=[text_message(MessageRole.USER, small), text_message(MessageRole.USER, big)],
        output=[
            Message(
                role=MessageRole.ASSISTANT,
                parts=[Part(kind=PartKind.TOOL_CALL, tool_call=ToolCall(name="store", id="c1", input_json=arguments))],
            )
        ],
    )
    removed = fit_generation(generation, budget=2 * MIB)
    assert removed > 5 * MIB
    assert generation.metadata[TRUNCATED_KEY] == removed
    assert generation.input[0].parts[0].text == small
    cut = generation.input[1].parts[0].text
    assert cut.startswith("xxx") and "truncated by sigil-sdk-litellm" in cut
    call = generation.output[0].parts[0].tool_call
    assert call is not None
    document = json.loads(call.input_json)  # still valid JSON
    assert document["sigil_truncated"] is True and document["removed_bytes"] > 0
    total = len(cut) + len(call.input_json) + len(small)
    assert total <= 2 * MIB


def test_non_ascii_text_is_measured_in_bytes() -> None:
    text = "é" * (2 * MIB)  # 4 MiB in UTF-8
    generation = Generation(input=[text_message(MessageRole.USER, text)])
    assert fit_generation(generation, budget=MIB) > 0
    assert len(generation.input[0].parts[0].text.encode()) <= MIB


@pytest.mark.parametrize("where", ["prompt", "response"])
def test_a_huge_request_is_recorded_by_the_sdk(where: str, caplog: pytest.LogCaptureFixture) -> None:
    """Through the SdkRecorder and a real client: the SDK (4 MiB limit) queues it, truncated and marked."""
    huge = "z" * (6 * MIB)
    messages = [{"role": "user", "content": huge if where == "prompt" else "hi"}]
    response = chat_response(
        choices=[{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}]
    )
    if where == "response":
        response["choices"][0]["message"]["content"] = huge
    kwargs = callback_kwargs(standard_logging_object(messages=messages, response=response), messages=messages)
    client, exporter = capturing_client()
    caplog.set_level(logging.WARNING)
    recorder = SdkRecorder(client, MappingOptions())
    recorder.record(kwargs, response, failed=False, redacted=False)
    client.flush()
    [generation] = exporter.generations
    assert exporter.protos[0].ByteSize() < 4 * MIB
    assert generation.metadata[TRUNCATED_KEY] >= 6 * MIB - DEFAULT_BUDGET
    texts = [p.text for m in (*generation.input, *generation.output) for p in m.parts if p.text]
    assert any("truncated by sigil-sdk-litellm" in t for t in texts)
    assert sum("exceeded Sigil's payload limit" in r.getMessage() for r in caplog.records) == 1
    client.shutdown()


def test_the_quick_bound_never_counts_less_than_the_exact_sizes() -> None:
    from sigil_sdk.models import ToolDefinition, ToolResult

    from sigil_sdk_litellm.limits import _size_bound, _slots

    texts = ["plain", "é" * 7, "€" * 5, "🙂" * 3, "\ud800 lone surrogate", ""]
    generation = Generation(
        system_prompt="€ system",
        input=[text_message(MessageRole.USER, text) for text in texts],
        output=[
            Message(
                role=MessageRole.ASSISTANT,
                parts=[
                    Part(kind=PartKind.THINKING, thinking="🙂 think"),
                    Part(
                        kind=PartKind.TOOL_CALL, tool_call=ToolCall(name="f", id="c", input_json='{"a":"é"}'.encode())
                    ),
                    Part(kind=PartKind.TOOL_RESULT, tool_result=ToolResult(content="€", content_json=b'{"b":1}')),
                ],
            )
        ],
        tools=[ToolDefinition(name="f", description="🙂 tool", input_schema_json=b'{"type":"object"}')],
    )
    exact = sum(slot.size for slot in _slots(generation))
    assert exact < _size_bound(generation) <= 4 * exact


def test_a_generation_the_quick_bound_cannot_clear_is_measured_exactly() -> None:
    fits = Generation(input=[text_message(MessageRole.USER, "x" * 1000)])
    assert fit_generation(fits, budget=1000) == 0  # the bound (4,000) is over, the exact size is not
    assert fits.input[0].parts[0].text == "x" * 1000
    over = Generation(input=[text_message(MessageRole.USER, "x" * 1001)])
    assert fit_generation(over, budget=1000) > 0
