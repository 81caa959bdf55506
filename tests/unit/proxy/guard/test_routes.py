"""The guard on the other model routes (proxy/guard/responses_api.py, messages_api.py, prompts.py): each
request body mapped to the hook input, judged by the mock sink's own rule evaluation (the wire format both
ways), and a transform put back exactly where the text came from; answers and held-back streams likewise."""

from __future__ import annotations

import json
from typing import Any

from sigil_mock_sink.hooks import evaluate, parse_rules
from sigil_sdk.hooks import HookInput, _parse_hook_input_wire, _serialize_request
from sigil_sdk.models import MessageRole

from sigil_sdk_litellm.proxy.guard import mcp_tools, messages_api, prompts, responses_api
from sigil_sdk_litellm.proxy.guard.postflight_client import parse_answer
from sigil_sdk_litellm.proxy.guard.requests import HookDefaults, message_texts
from sigil_sdk_litellm.proxy.guard.route_text import RouteMapped, postflight_of

DEFAULTS = HookDefaults(agent_name="gateway")
REDACT = parse_rules(
    {
        "rules": [
            {
                "id": "cards",
                "action": "redact",
                "pattern": r"\d{4}-\d{4}",
                "replacement": "[C]",
                "phases": ["preflight", "postflight"],
            }
        ]
    }
)


def judged(mapped: RouteMapped | None) -> HookInput:
    """The transformed input the sink's redact rule answers, as the SDK parses it."""
    assert mapped is not None
    answer = evaluate(REDACT, _serialize_request(mapped.request))
    parsed = _parse_hook_input_wire(answer["transformed_input"])
    assert parsed is not None
    return parsed


def texts(mapped: RouteMapped | None) -> list[tuple[str, list[str]]]:
    assert mapped is not None
    return [(m.role.value, message_texts(m)) for m in mapped.request.input.messages]


# --- /v1/responses ------------------------------------------------------------------------------


def test_responses_string_input_and_instructions() -> None:
    data = {"model": "gpt-4o-mini", "input": "card 1234-5678", "instructions": "ref 1234-5678"}
    mapped = responses_api.preflight(data, DEFAULTS)
    assert texts(mapped) == [("user", ["card 1234-5678"])]
    assert mapped is not None and mapped.request.input.system_prompt == "ref 1234-5678"
    assert mapped.request.context.agent_name == "gateway"
    out = responses_api.apply_transform(data, mapped, judged(mapped))
    assert (out["input"], out["instructions"]) == ("card [C]", "ref [C]")
    assert data["input"] == "card 1234-5678", "the request itself is not changed"


def test_responses_items_with_function_call_outputs_and_system_items() -> None:
    items: list[Any] = [
        {"role": "developer", "content": "rule 1234-5678"},
        {"role": "user", "content": [{"type": "input_text", "text": "card 1234-5678"}, {"type": "input_image"}]},
        {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": '{"q": "x"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "found 1234-5678"},
    ]
    data = {"model": "m", "input": items}
    mapped = responses_api.preflight(data, DEFAULTS)
    assert mapped is not None and mapped.request.input.system_prompt == "rule 1234-5678"
    roles = [m.role for m in mapped.request.input.messages]
    assert roles == [MessageRole.USER, MessageRole.ASSISTANT, MessageRole.TOOL]
    assert mapped.request.input.messages[2].parts[0].tool_result.content == "found 1234-5678"
    out = responses_api.apply_transform(data, mapped, judged(mapped))
    assert out["input"][0]["content"] == "rule [C]"
    assert out["input"][1]["content"] == [{"type": "input_text", "text": "card [C]"}, {"type": "input_image"}]
    assert out["input"][2] == items[2], "the function call is kept as it was"
    assert items[0]["content"] == "rule 1234-5678"


def test_responses_nothing_to_judge() -> None:
    assert responses_api.preflight({"model": "m"}, DEFAULTS) is None
    assert responses_api.preflight({"model": "m", "input": [], "instructions": " "}, DEFAULTS) is None


def responses_object(text: str) -> dict[str, Any]:
    return {
        "object": "response",
        "status": "completed",
        "output": [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "think"}]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]},
            {"type": "function_call", "call_id": "c2", "name": "lookup", "arguments": "{}"},
        ],
    }


def test_responses_answer_transform() -> None:
    body = responses_object("card 1234-5678")
    output = responses_api.answer_output(body)
    assert [position for position, _ in output] == [0, 1, 2]
    request = postflight_of({"model": "m"}, DEFAULTS, None, [m for _, m in output])
    assert request is not None and request.phase == "postflight"
    answer = parse_answer(evaluate(REDACT, _serialize_request(request)))
    assert answer.output is not None
    changed, unplaced = responses_api.apply_output_transform(body, answer.output, [p for p, _ in output])
    assert (changed, unplaced) == (True, 0)
    assert body["output"][1]["content"][0]["text"] == "card [C]"
    assert body["output"][2]["name"] == "lookup"


def test_responses_held_back_events_are_rewritten_everywhere_the_text_is() -> None:
    final = responses_object("card 1234-5678")
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": {"output": []}},
        {"type": "response.output_text.delta", "output_index": 1, "content_index": 0, "delta": "card "},
        {"type": "response.output_text.delta", "output_index": 1, "content_index": 0, "delta": "1234-5678"},
        {"type": "response.output_text.done", "output_index": 1, "content_index": 0, "text": "card 1234-5678"},
        {
            "type": "response.content_part.done",
            "output_index": 1,
            "content_index": 0,
            "part": {"type": "output_text", "text": "card 1234-5678"},
        },
        {"type": "response.output_item.done", "output_index": 1, "item": final["output"][1]},
        {"type": "response.completed", "response": json.loads(json.dumps(final))},
    ]
    assert all(responses_api.is_event(e) for e in events)
    body = responses_api.stream_answer(events)
    assert body["output"][1]["content"][0]["text"] == "card 1234-5678"
    output = [message for _, message in responses_api.answer_output(body)]
    transformed = parse_answer(evaluate(REDACT, _serialize_request(postflight_of({}, DEFAULTS, None, output))))
    assert transformed.output is not None
    new = responses_api.changed_texts(body, transformed.output)
    assert new == {1: "card [C]"}
    assert responses_api.rewrite_events(events, new) == {1}
    assert [e.get("delta") for e in events[1:3]] == ["card [C]", ""]
    assert events[3]["text"] == events[4]["part"]["text"] == "card [C]"
    assert events[6]["response"]["output"][1]["content"][0]["text"] == "card [C]"
    assert "1234-5678" not in json.dumps(events)


def test_responses_stream_without_a_final_event_is_read_from_its_finished_items() -> None:
    item = {"type": "message", "content": [{"type": "output_text", "text": "hi"}]}
    events = [{"type": "response.output_item.done", "output_index": 0, "item": item}]
    assert responses_api.stream_answer(events) == {"output": [item]}


def test_responses_error_frame_is_an_openai_error_litellm_answers_first() -> None:
    frame = responses_api.error_frame(400, "denied", {"rule_id": "r"})
    assert frame.startswith("data: ") and frame.endswith("\n\n")
    error = json.loads(frame[len("data: ") :])["error"]
    assert (error["message"], error["code"], error["provider_specific_fields"]) == ("denied", "400", {"rule_id": "r"})


# --- /v1/messages -------------------------------------------------------------------------------


def test_messages_text_tool_results_and_system_blocks() -> None:
    data: dict[str, Any] = {
        "model": "claude",
        "system": [{"type": "text", "text": "ref 1234-5678", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": "card 1234-5678"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "lookup", "input": {}}]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "found 1234-5678"},
                    {"type": "text", "text": "and 1234-5678?"},
                ],
            },
        ],
    }
    mapped = messages_api.preflight(data, DEFAULTS)
    assert mapped is not None and mapped.request.input.system_prompt == "ref 1234-5678"
    assert mapped.origins == ((0, None), (1, None), (2, 0), (2, None))
    assert [m.role for m in mapped.request.input.messages] == [
        MessageRole.USER,
        MessageRole.ASSISTANT,
        MessageRole.TOOL,
        MessageRole.USER,
    ]
    out = messages_api.apply_transform(data, mapped, judged(mapped))
    assert out["messages"][0]["content"] == "card [C]"
    assert out["messages"][1] == data["messages"][1]
    assert out["messages"][2]["content"][1] == {"type": "text", "text": "and [C]?"}
    assert out["system"] == [{"type": "text", "text": "ref [C]", "cache_control": {"type": "ephemeral"}}]
    assert data["messages"][0]["content"] == "card 1234-5678"


def test_messages_string_system_stays_a_string() -> None:
    data = {"model": "c", "system": "ref 1234-5678", "messages": [{"role": "user", "content": "hi"}]}
    mapped = messages_api.preflight(data, DEFAULTS)
    assert mapped is not None
    assert messages_api.apply_transform(data, mapped, judged(mapped))["system"] == "ref [C]"
    assert messages_api.preflight({"model": "c", "messages": []}, DEFAULTS) is None


def test_messages_answer_transform_keeps_tool_use() -> None:
    body: dict[str, Any] = {
        "type": "message",
        "content": [
            {"type": "text", "text": "card 1234-5678"},
            {"type": "tool_use", "id": "t", "name": "lookup", "input": {}},
        ],
    }
    output = [m for _, m in messages_api.answer_output(body)]
    answer = parse_answer(evaluate(REDACT, _serialize_request(postflight_of({}, DEFAULTS, None, output))))
    assert answer.output is not None
    assert messages_api.apply_output_transform(body, answer.output, [0]) == (True, 0)
    assert body["content"][0]["text"] == "card [C]" and body["content"][1]["name"] == "lookup"


def sse(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def test_messages_sse_stream_split_mid_event_is_assembled_and_rewritten() -> None:
    stream = "".join(
        [
            sse("message_start", {"type": "message_start", "message": {"id": "m", "content": []}}),
            sse(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
            sse(
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "card 1234"}},
            ),
            sse(
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "-5678"}},
            ),
            sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
            sse(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 1,
                    "content_block": {"type": "tool_use", "id": "t", "name": "f", "input": {}},
                },
            ),
            sse(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "input_json_delta", "partial_json": '{"q": 1}'},
                },
            ),
            sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"}}),
            sse("message_stop", {"type": "message_stop"}),
        ]
    ).encode()
    chunks = [stream[:70], stream[70:300], stream[300:]]  # pieces, not whole events
    events = messages_api.parse_stream(chunks)
    assert events is not None and len(events) == 9
    body = messages_api.stream_answer(events)
    assert body["content"] == [
        {"type": "text", "text": "card 1234-5678"},
        {"type": "tool_use", "id": "t", "name": "f", "input": {"q": 1}},
    ]
    assert body["stop_reason"] == "tool_use"
    output = [m for _, m in messages_api.answer_output(body)]
    answer = parse_answer(evaluate(REDACT, _serialize_request(postflight_of({}, DEFAULTS, None, output))))
    assert answer.output is not None
    new = messages_api.changed_block_texts(body, answer.output)
    assert new == {0: "card [C]"}
    assert messages_api.rewrite_stream(events, new) == {0}
    sent = b"".join(event.encode() for event in events).decode()
    assert "1234-5678" not in sent and "card [C]" in sent
    assert sent.count("event: ") == 9 and '"partial_json": "{\\"q\\": 1}"' in sent
    assert messages_api.parse_stream([b"x", object()]) is None


# --- prompts: /v1/completions and /v1/images/generations ----------------------------------------


def test_prompts_string_list_and_image_messages() -> None:
    data = {"model": "m", "prompt": ["a 1234-5678", "plain"]}
    mapped = prompts.preflight(data, DEFAULTS)
    assert texts(mapped) == [("user", ["a 1234-5678"]), ("user", ["plain"])]
    assert mapped is not None and prompts.apply_transform(data, mapped, judged(mapped))["prompt"] == ["a [C]", "plain"]
    image = {"model": "dall-e", "prompt": "a 1234-5678", "messages": [{"role": "user", "content": "a 1234-5678"}]}
    mapped = prompts.preflight(image, DEFAULTS)
    assert mapped is not None
    out = prompts.apply_transform(image, mapped, judged(mapped))
    assert out["prompt"] == "a [C]" and out["messages"] == [{"role": "user", "content": "a [C]"}]
    assert prompts.preflight({"model": "m", "prompt": [1, 2, 3]}, DEFAULTS) is None


# --- MCP tool calls (call_mcp_tool) ------------------------------------------------------------


def test_mcp_tool_call_judged_by_name_and_each_string_argument() -> None:
    data = {
        "model": "mcp-tool-call",
        "mcp_tool_name": "lookup",
        "mcp_tool_description": "Look it up.",
        "mcp_arguments": {"q": "card 1234-5678", "n": 3, "filters": [{"tag": "x 1234-5678"}, {"tag": " "}]},
    }
    mapped = mcp_tools.preflight(data, DEFAULTS)
    assert texts(mapped) == [
        ("assistant", ["lookup"]),
        ("assistant", ["card 1234-5678"]),
        ("assistant", ["x 1234-5678"]),
    ]
    assert mapped is not None and [t.name for t in mapped.request.input.tools] == ["lookup"]
    out = mcp_tools.apply_transform(data, mapped, judged(mapped))
    assert out["modified_arguments"] == {"q": "card [C]", "n": 3, "filters": [{"tag": "x [C]"}, {"tag": " "}]}
    assert data["mcp_arguments"]["q"] == "card 1234-5678", "the request itself is not changed"
    unchanged = {"mcp_tool_name": "lookup", "mcp_arguments": {"q": "plain"}}
    mapped = mcp_tools.preflight(unchanged, DEFAULTS)
    assert mapped is not None and "modified_arguments" not in mcp_tools.apply_transform(unchanged, mapped, HookInput())
    assert mcp_tools.preflight({"mcp_arguments": {"q": "x"}}, DEFAULTS) is None


def test_mcp_tool_result_judged_and_rewritten() -> None:
    content: list[Any] = [{"type": "text", "text": "found 1234-5678"}, {"type": "image", "data": "AAAA"}]
    output = mcp_tools.result_output(content)
    assert [(m.role, message_texts(m)) for m in output] == [(MessageRole.TOOL, ["found 1234-5678"])]
    answer = parse_answer(evaluate(REDACT, _serialize_request(postflight_of({}, DEFAULTS, None, output))))
    assert answer.output is not None
    assert mcp_tools.rewrite_result(content, answer.output) is True
    assert content == [{"type": "text", "text": "found [C]"}, {"type": "image", "data": "AAAA"}]
    assert mcp_tools.result_output([{"type": "image"}]) == []
