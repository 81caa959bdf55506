"""Chat and text completion messages (plain dicts) to Sigil messages."""

from __future__ import annotations

import json

from sigil_sdk import MessageRole, PartKind

from sigil_sdk_litellm.mapping.chat import assistant_parts, map_input_messages, map_output
from tests.support import chat_response


def test_system_and_developer_messages_become_the_system_prompt() -> None:
    system, messages = map_input_messages(
        [
            {"role": "system", "content": "Be terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in English."}]},
            {"role": "user", "content": "hi"},
        ]
    )
    assert system == "Be terse.\n\nAnswer in English."
    assert [msg.role for msg in messages] == [MessageRole.USER]


def test_content_part_arrays_keep_text_and_mark_media_without_payload() -> None:
    _, messages = map_input_messages(
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
    _, messages = map_input_messages(
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
    parts = assistant_parts(
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
    parts = assistant_parts({"content": "4", "reasoning_content": "adding"})
    assert [(p.kind, p.thinking or p.text) for p in parts] == [
        (PartKind.THINKING, "adding"),
        (PartKind.TEXT, "4"),
    ]


def test_empty_messages_are_dropped_and_unknown_roles_are_user_input() -> None:
    _, messages = map_input_messages(
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
    assert [msg.parts[0].text for msg in map_input_messages("Once upon")[1]] == ["Once upon"]
    assert [msg.parts[0].text for msg in map_input_messages(["a", "b"])[1]] == ["a", "b"]
    out, stop = map_output({"choices": [{"text": " a time", "finish_reason": "length"}]})
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
    out, stop = map_output(response)
    assert [msg.parts[0].text for msg in out] == ["a", "b"]
    assert stop == "tool_calls"
