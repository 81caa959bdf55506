"""The pure mapping of a LiteLLM chat request to Sigil's hook input, and of a transform back
(proxy/guard/requests.py)."""

from __future__ import annotations

import json
from typing import Any

from sigil_sdk.hooks import HookEvaluateResponse, HookInput, _parse_hook_input_wire, _serialize_request
from sigil_sdk.models import Message, MessageRole, Part, PartKind

from sigil_sdk_litellm.proxy.guard.requests import HookDefaults, apply_transform, deny_message, preflight_request


def text_message(role: MessageRole, text: str) -> Message:
    return Message(role=role, parts=[Part(kind=PartKind.TEXT, text=text)])


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


WEATHER_CALL = {"name": "get_weather", "arguments": '{"city":"Paris"}'}


def chat(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c1", "type": "function", "function": WEATHER_CALL}],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
            {"role": "user", "content": [{"type": "text", "text": "and tomorrow?"}]},
        ],
        "tools": TOOLS,
    }
    data.update(extra)
    return data


def wire(data: dict[str, Any], defaults: HookDefaults | None = None) -> dict[str, Any]:
    mapped = preflight_request(data, defaults)
    assert mapped is not None
    return _serialize_request(mapped.request)


def test_request_carries_messages_system_prompt_tools_and_model() -> None:
    body = wire(chat())
    assert body["phase"] == "preflight"
    assert body["context"]["model"] == {"provider": "", "name": "gpt-4o-mini"}
    payload = body["input"]
    assert payload["system_prompt"] == "You are terse."
    roles = [m["role"] for m in payload["messages"]]
    assert roles == ["user", "assistant", "tool", "user"]
    assert payload["messages"][0]["parts"] == [{"text": "weather in Paris?"}]
    call = payload["messages"][1]["parts"][0]["tool_call"]
    assert call["name"] == "get_weather" and call["id"] == "c1"
    assert payload["messages"][2]["parts"][0]["tool_result"]["content"] == "sunny"
    assert payload["messages"][3]["parts"] == [{"text": "and tomorrow?"}]
    [tool] = payload["tools"]
    assert tool["name"] == "get_weather" and tool["description"] == "Weather of a city"
    json.dumps(body)  # the SDK's serialization of it is plain JSON


def test_agent_and_tags_from_request_metadata_else_defaults() -> None:
    defaults = HookDefaults(agent_name="gateway", agent_version="1.0", tags={"env": "prod"})
    body = wire(chat(), defaults)
    assert body["context"]["agent_name"] == "gateway"
    assert body["context"]["agent_version"] == "1.0"
    assert body["context"]["tags"] == {"env": "prod"}

    data = chat(metadata={"agent_name": "planner", "agent_version": "2.1", "tags": ["team-a"]})
    context = wire(data, defaults)["context"]
    assert (context["agent_name"], context["agent_version"]) == ("planner", "2.1")
    assert context["tags"] == {"env": "prod", "litellm.tag.team-a": "team-a"}

    via_requester = chat(metadata={"requester_metadata": {"agent_name": "from-requester"}})
    assert wire(via_requester)["context"]["agent_name"] == "from-requester"

    # LiteLLM puts the x-litellm-agent-id header (or the key's agent) in metadata.agent_id
    assert wire(chat(metadata={"agent_id": "support-bot"}), defaults)["context"]["agent_name"] == "support-bot"
    both = chat(metadata={"agent_id": "key-agent", "agent_name": "named"})
    assert wire(both, defaults)["context"]["agent_name"] == "named"
    only_id = HookDefaults(agent_name_metadata_keys=("agent_id",))
    assert wire(both, only_id)["context"]["agent_name"] == "key-agent"


def test_provider_prefix_of_the_model_name() -> None:
    assert wire(chat(model="openai/gpt-4o"))["context"]["model"] == {"provider": "openai", "name": "openai/gpt-4o"}


def test_nothing_to_evaluate() -> None:
    assert preflight_request({"model": "m"}) is None
    assert preflight_request({"model": "m", "messages": []}) is None
    assert preflight_request({"model": "m", "messages": "not a list"}) is None
    assert preflight_request({"model": "m", "messages": [{"role": "user", "content": ""}]}) is None


def test_deny_message_names_rule_and_reason() -> None:
    response = HookEvaluateResponse(action="deny", rule_id="no-secrets", reason="no passwords")
    assert deny_message(response) == "sigil hook denied by rule no-secrets: no passwords"


def transformed_from_wire(payload: dict[str, Any]) -> HookInput:
    parsed = _parse_hook_input_wire(payload)  # exactly what the SDK hands back
    assert parsed is not None
    return parsed


def test_transform_replaces_text_in_place_and_keeps_structure() -> None:
    data = chat()
    mapped = preflight_request(data)
    assert mapped is not None
    wire_input = _serialize_request(mapped.request)["input"]
    for message in wire_input["messages"]:
        for part in message["parts"]:
            if "text" in part:
                part["text"] = part["text"].replace("Paris", "[CITY]")
    out = apply_transform(data, mapped, transformed_from_wire(wire_input))
    assert out["messages"][1] == {"role": "user", "content": "weather in [CITY]?"}
    assert out["messages"][2] == data["messages"][2], "tool calls are kept"
    assert out["messages"][3] == data["messages"][3], "tool results (not carried back by the SDK) are kept"
    assert out["messages"][4]["content"] == [{"type": "text", "text": "and tomorrow?"}]
    assert data["messages"][1]["content"] == "weather in Paris?", "the request itself is not modified"
    assert out["tools"] == TOOLS and out["model"] == "gpt-4o-mini"


def test_transform_of_content_parts_keeps_images() -> None:
    data = {
        "model": "m",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "card 4111"},
                    {"type": "image_url", "image_url": {"url": "data:x"}},
                ],
            }
        ],
    }
    mapped = preflight_request(data)
    assert mapped is not None
    transformed = HookInput(messages=[text_message(MessageRole.USER, "card [X]")])
    out = apply_transform(data, mapped, transformed)
    assert out["messages"][0]["content"] == [
        {"type": "text", "text": "card [X]"},
        {"type": "image_url", "image_url": {"url": "data:x"}},
    ]


def test_transform_judged_by_the_sink_keeps_images_out_of_the_text() -> None:
    """The sink hands the ``[image]`` marker back as text like every text part: it is not written into the
    message's text (issue #24, found on the other routes)."""
    from sigil_mock_sink.hooks import evaluate, parse_rules

    rules = parse_rules({"rules": [{"id": "c", "action": "redact", "pattern": "4111", "replacement": "[X]"}]})
    data = {
        "model": "m",
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "card 4111"}, {"type": "image_url", "image_url": {"url": "x"}}],
            }
        ],
    }
    mapped = preflight_request(data)
    assert mapped is not None
    answer = evaluate(rules, _serialize_request(mapped.request))
    out = apply_transform(data, mapped, transformed_from_wire(answer["transformed_input"]))
    assert out["messages"][0]["content"] == [
        {"type": "text", "text": "card [X]"},
        {"type": "image_url", "image_url": {"url": "x"}},
    ]


def test_transformed_system_prompt_replaces_the_system_messages() -> None:
    data = {
        "model": "m",
        "messages": [
            {"role": "system", "content": "one"},
            {"role": "developer", "content": "two"},
            {"role": "user", "content": "hi"},
        ],
    }
    mapped = preflight_request(data)
    assert mapped is not None
    assert mapped.request.input.system_prompt == "one\n\ntwo"
    out = apply_transform(data, mapped, HookInput(system_prompt="redacted system"))
    assert out["messages"] == [{"role": "system", "content": "redacted system"}, {"role": "user", "content": "hi"}]

    no_system = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    mapped = preflight_request(no_system)
    assert mapped is not None
    out = apply_transform(no_system, mapped, HookInput(system_prompt="added"))
    assert out["messages"][0] == {"role": "system", "content": "added"}


def test_a_different_number_of_messages_rebuilds_the_conversation() -> None:
    data = {
        "model": "m",
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"},
            {"role": "user", "content": "c"},
        ],
    }
    mapped = preflight_request(data)
    assert mapped is not None
    transformed = HookInput(messages=[text_message(MessageRole.USER, "only this")])
    out = apply_transform(data, mapped, transformed)
    assert out["messages"] == [{"role": "system", "content": "sys"}, {"role": "user", "content": "only this"}]


def test_unchanged_text_leaves_the_message_object_as_it_was() -> None:
    data = chat()
    mapped = preflight_request(data)
    assert mapped is not None
    same = transformed_from_wire(_serialize_request(mapped.request)["input"])
    out = apply_transform(data, mapped, same)
    assert out["messages"] == data["messages"]
