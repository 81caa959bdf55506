"""The same conversation as a Responses API and as an Anthropic Messages event, built from a captured chat
event: what LiteLLM 1.108.5 logs for those routes (see ``sigil_sdk_litellm.mapping``), with the chat
event's messages, answer and usage, so the three cost the same to record if the routes are as cheap."""

from __future__ import annotations

from typing import Any

from bench.conversations import TOOLS


def _responses_items(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    system, items = "", []
    for message in messages:
        role = message["role"]
        if role == "system":
            system = message["content"]
        elif role == "tool":
            items.append(
                {"type": "function_call_output", "call_id": message["tool_call_id"], "output": message["content"]}
            )
        elif role == "assistant" and message.get("tool_calls"):
            for call in message["tool_calls"]:
                function = call["function"]
                items.append(
                    {
                        "type": "function_call",
                        "call_id": call["id"],
                        "name": function["name"],
                        "arguments": function["arguments"],
                    }
                )
        elif role == "assistant":
            items.append(
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": message["content"]}],
                }
            )
        else:
            items.append({"role": role, "content": message["content"]})
    return system, items


def _anthropic_messages(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    system, out = "", []
    for message in messages:
        role = message["role"]
        if role == "system":
            system = message["content"]
        elif role == "tool":
            block = {"type": "tool_result", "tool_use_id": message["tool_call_id"], "content": message["content"]}
            if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list):
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
        elif role == "assistant":
            blocks: list[dict[str, Any]] = []
            if message.get("content"):
                blocks.append({"type": "text", "text": message["content"]})
            for call in message.get("tool_calls") or []:
                blocks.append(
                    {"type": "tool_use", "id": call["id"], "name": call["function"]["name"], "input": {"query": "x"}}
                )
            out.append({"role": "assistant", "content": blocks})
        else:
            out.append({"role": "user", "content": message["content"]})
    return system, out


def _event(
    kwargs: dict[str, Any], call_type: str, slo_changes: dict[str, Any], **kwargs_changes: Any
) -> dict[str, Any]:
    slo = {**kwargs["standard_logging_object"], "call_type": call_type, **slo_changes}
    return {**kwargs, "call_type": call_type, "standard_logging_object": slo, **kwargs_changes}


def responses_event(chat: tuple[dict[str, Any], Any]) -> tuple[dict[str, Any], Any]:
    """The chat as ``aresponses``: input items, ``instructions``, a Responses object with the answer."""
    kwargs, _ = chat
    slo = kwargs["standard_logging_object"]
    system, items = _responses_items(slo["messages"])
    answer = slo["response"]["choices"][0]["message"]["content"]
    response = {
        "id": "resp_bench",
        "object": "response",
        "model": slo["response"]["model"],
        "status": "completed",
        "incomplete_details": None,
        "instructions": system,
        "output": [
            {
                "type": "message",
                "id": "msg_bench",
                "role": "assistant",
                "content": [{"type": "output_text", "text": answer}],
            }
        ],
        "usage": slo["response"]["usage"],  # LiteLLM logs the Responses usage in chat shape
    }
    params = dict(slo["model_parameters"])
    params["instructions"] = system
    if params.get("tools"):
        params["tools"] = [{"type": "function", **tool["function"]} for tool in TOOLS]
    changes = {"messages": items, "response": response, "model_parameters": params}
    return _event(kwargs, "aresponses", changes), None


def messages_event(chat: tuple[dict[str, Any], Any]) -> tuple[dict[str, Any], Any]:
    """The chat as ``aanthropic_messages``: Anthropic messages, ``system`` in ``optional_params``, the
    answer as the chat completion LiteLLM logs for that route."""
    kwargs, response_obj = chat
    slo = kwargs["standard_logging_object"]
    system, messages = _anthropic_messages(slo["messages"])
    params = dict(slo["model_parameters"])
    if params.get("tools"):
        params["tools"] = [
            {
                "name": t["function"]["name"],
                "description": t["function"]["description"],
                "input_schema": t["function"]["parameters"],
            }
            for t in TOOLS
        ]
    optional = {**kwargs.get("optional_params", {}), "system": system}
    changes = {"messages": messages, "model_parameters": params}
    return _event(kwargs, "aanthropic_messages", changes, optional_params=optional), response_obj
