"""Anthropic Messages API (``anthropic_messages`` / ``aanthropic_messages``) → the content of a generation.

What LiteLLM 1.108.5 logs for these calls: ``standard_logging_object.messages`` holds the request's
Anthropic messages (content blocks as sent) but not ``system``, which is only in
``kwargs["optional_params"]["system"]`` (or, for a call bridged to OpenAI, in ``model_parameters``
as ``instructions``); ``response`` is a chat completion (LiteLLM converts the Anthropic message for
logging: ``thinking_blocks``, ``tool_calls``, usage with ``cache_read_input_tokens`` /
``cache_creation_input_tokens``). A native Anthropic message as ``response`` is read as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sigil_sdk import Message, MessageRole, Part, PartKind, PartMetadata, ToolCall, ToolDefinition

from sigil_sdk_litellm.mapping.chat import SYSTEM_ROLES, redacted_thinking_part, tool_result
from sigil_sdk_litellm.mapping.cheap_copies import SharedMessage
from sigil_sdk_litellm.mapping.coerce import as_dict, as_list, as_str, json_bytes
from sigil_sdk_litellm.mapping.event import UNKNOWN
from sigil_sdk_litellm.mapping.parameters import map_tools
from sigil_sdk_litellm.mapping.route_content import RouteContent, block_text, first_param, logged_input, route_output
from sigil_sdk_litellm.mapping.usage import route_usage

# a chat finish reason (LiteLLM's logged form) in the Messages API's words, as the client saw it
STOP_REASONS: Mapping[str, str] = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "refusal",
}
_MARKERS = {"image": "[image]", "document": "[document]", "search_result": "[search_result]"}


def _marker(kind: str) -> Part:
    return Part(kind=PartKind.TEXT, text=_MARKERS.get(kind, f"[{kind}]"), metadata=PartMetadata(provider_type=kind))


def block_parts(content: Any) -> tuple[list[Part], list[Message]]:
    """Content blocks of one message → its parts, and the tool results among them (Sigil keeps a
    tool result in a message of its own, role ``tool``)."""
    if isinstance(content, str):
        return ([Part(kind=PartKind.TEXT, text=content)] if content.strip() else []), []
    parts: list[Part] = []
    results: list[Message] = []
    for block in as_list(content):
        data = as_dict(block)
        kind = as_str(data.get("type"))
        if kind == "text":
            text = as_str(data.get("text"))
            if text.strip():
                parts.append(Part(kind=PartKind.TEXT, text=text))
        elif kind == "thinking":
            thinking = as_str(data.get("thinking"))
            if thinking.strip():
                parts.append(Part(kind=PartKind.THINKING, thinking=thinking))
        elif kind == "redacted_thinking":
            parts.append(redacted_thinking_part(data))
        elif kind in ("tool_use", "server_tool_use"):
            call = ToolCall(
                name=as_str(data.get("name")) or UNKNOWN,
                id=as_str(data.get("id")),
                input_json=json_bytes(data.get("input")),
            )
            parts.append(Part(kind=PartKind.TOOL_CALL, tool_call=call))
        elif kind == "tool_result":
            result = tool_result(
                as_str(data.get("tool_use_id")), block_text(data.get("content")), is_error=data.get("is_error") is True
            )
            results.append(
                SharedMessage(role=MessageRole.TOOL, parts=[Part(kind=PartKind.TOOL_RESULT, tool_result=result)])
            )
        elif kind:
            parts.append(_marker(kind))
    return parts, results


def map_messages(raw: Any) -> tuple[str, list[Message]]:
    """Anthropic ``messages`` → (system prompt, Sigil messages); a user turn's tool results come first, as
    their own messages. LiteLLM logs a string ``system`` as a first system-role message: it is the
    system prompt, never user input."""
    system: list[str] = []
    messages: list[Message] = []
    for entry in as_list(raw):
        data = as_dict(entry)
        role_name = as_str(data.get("role")).lower()
        if role_name in SYSTEM_ROLES:
            text = block_text(data.get("content"))
            if text.strip():
                system.append(text)
            continue
        role = MessageRole.ASSISTANT if role_name == "assistant" else MessageRole.USER
        parts, results = block_parts(data.get("content"))
        messages.extend(results)
        if parts:
            messages.append(SharedMessage(role=role, parts=parts))
    return "\n\n".join(system), messages


def map_response(response: Mapping[str, Any]) -> tuple[list[Message], str]:
    """A native Anthropic message (``content`` blocks, ``stop_reason``) → output and stop reason."""
    parts, _ = block_parts(response.get("content"))
    return ([SharedMessage(role=MessageRole.ASSISTANT, parts=parts)] if parts else []), as_str(
        response.get("stop_reason")
    )


def map_anthropic_tools(raw: Any, *, with_content: bool) -> list[ToolDefinition]:
    """Anthropic tools (``name``, ``description``, ``input_schema``; server tools by their ``type``);
    tools in another shape (a call bridged to OpenAI logs the translated ones) as for chat."""
    tools = [as_dict(item) for item in as_list(raw)]
    shaped = [{**tool, "parameters": tool["input_schema"]} if "input_schema" in tool else tool for tool in tools]
    return map_tools(shaped, with_content=with_content)


def request_system(kwargs: Mapping[str, Any], params: Mapping[str, Any]) -> str:
    """``system`` (a string or text blocks) from where LiteLLM keeps it, or the ``instructions`` it
    became when the call was bridged to the Responses API."""
    for source in (as_dict(kwargs.get("optional_params")), as_dict(kwargs.get("litellm_params")), params):
        text = block_text(source.get("system"))
        if text.strip():
            return text
    return block_text(params.get("instructions"))


def map_content(
    kwargs: Mapping[str, Any],
    slo: Mapping[str, Any],
    response: Mapping[str, Any],
    params: Mapping[str, Any],
    capture_inputs: bool,
) -> RouteContent:
    system_prompt = ""
    messages: list[Message] = []
    if capture_inputs:
        logged_system, messages = map_messages(logged_input(kwargs, slo, "messages"))
        system_prompt = request_system(kwargs, params) or logged_system
    output, stop = route_output(response, STOP_REASONS, map_response)
    return RouteContent(
        system_prompt=system_prompt,
        input=messages,
        output=output,
        stop_reason=stop,
        usage=route_usage(response, slo, cache_outside_input=True),
        tools=map_anthropic_tools(params.get("tools"), with_content=capture_inputs),
        max_tokens=first_param(params, "max_tokens", "max_output_tokens"),
    )
