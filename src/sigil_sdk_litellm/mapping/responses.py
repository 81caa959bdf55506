"""OpenAI Responses API (``responses`` / ``aresponses``) → the content of a Sigil generation.

What LiteLLM 1.108.5 logs for these calls: ``standard_logging_object.messages`` holds the request's
``input`` items (a string input becomes one user message; ``instructions`` are not among them but in
``model_parameters``); ``response`` is the Responses object (``output`` items, chat-style ``usage``) —
or a chat completion when LiteLLM bridged the call to a provider without a Responses API (Anthropic),
and then the system message only survives in ``kwargs["input"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sigil_sdk import Message, MessageRole, Part, PartKind, PartMetadata, ToolCall

from sigil_sdk_litellm.mapping.chat import SYSTEM_ROLES, content_parts, content_text, map_input_messages, tool_result
from sigil_sdk_litellm.mapping.cheap_copies import SharedMessage
from sigil_sdk_litellm.mapping.coerce import as_dict, as_list, as_str, json_bytes
from sigil_sdk_litellm.mapping.event import UNKNOWN
from sigil_sdk_litellm.mapping.parameters import map_thinking_enabled
from sigil_sdk_litellm.mapping.route_content import RouteContent, block_text, first_param, logged_input, route_output
from sigil_sdk_litellm.mapping.usage import route_usage

# a bridged call's chat finish reason, in the Responses API's words (status or incomplete reason)
STOP_REASONS: Mapping[str, str] = {
    "stop": "completed",
    "tool_calls": "completed",
    "function_call": "completed",
    "length": "max_output_tokens",
    "content_filter": "content_filter",
}


def _reasoning_part(item: Mapping[str, Any]) -> Part | None:
    texts = [as_str(as_dict(s).get("text")) for s in as_list(item.get("summary"))]
    texts += [as_str(as_dict(c).get("text")) for c in as_list(item.get("content"))]
    thinking = "\n\n".join(t for t in texts if t and not t.isspace())
    if thinking:
        return Part(kind=PartKind.THINKING, thinking=thinking)
    if item.get("encrypted_content"):
        return Part(
            kind=PartKind.THINKING,
            thinking="[encrypted reasoning]",
            metadata=PartMetadata(provider_type="reasoning"),
        )
    return None


def _function_call_part(item: Mapping[str, Any]) -> Part:
    call = ToolCall(
        name=as_str(item.get("name")) or UNKNOWN,
        id=as_str(item.get("call_id")) or as_str(item.get("id")),
        input_json=json_bytes(item.get("arguments")),
    )
    return Part(kind=PartKind.TOOL_CALL, tool_call=call)


def _output_item_parts(item: Mapping[str, Any]) -> list[Part]:
    """Parts of one assistant-side item: a message, a function call or a reasoning item."""
    kind = as_str(item.get("type"))
    if kind == "function_call":
        return [_function_call_part(item)]
    if kind == "reasoning":
        part = _reasoning_part(item)
        return [part] if part is not None else []
    if kind == "message" or "content" in item:
        parts = []
        for block in as_list(item.get("content")) if isinstance(item.get("content"), list) else [item.get("content")]:
            data = as_dict(block)
            if as_str(data.get("type")) == "refusal":
                refusal = as_str(data.get("refusal"))
                if refusal.strip():
                    parts.append(Part(kind=PartKind.TEXT, text=refusal, metadata=PartMetadata(provider_type="refusal")))
                continue
            parts.extend(content_parts(block))
        return parts
    if kind:
        return [Part(kind=PartKind.TEXT, text=f"[{kind}]", metadata=PartMetadata(provider_type=kind))]
    return []


def _tool_result(item: Mapping[str, Any]) -> Message:
    output = item.get("output")
    text = output if isinstance(output, str) else content_text(output)
    result = tool_result(as_str(item.get("call_id")), text)
    return SharedMessage(role=MessageRole.TOOL, parts=[Part(kind=PartKind.TOOL_RESULT, tool_result=result)])


def map_input_items(raw: Any) -> tuple[str, list[Message]]:
    """Responses ``input`` (a string or a list of items) → (system prompt, messages).

    System and developer messages join the system prompt; user messages are user input;
    assistant messages, function calls and reasoning items that follow each other form one
    assistant message; each ``function_call_output`` is a tool message.
    """
    if not isinstance(raw, list):
        return map_input_messages(raw)
    system: list[str] = []
    messages: list[Message] = []
    pending: list[Part] = []  # the assistant turn being collected

    def flush() -> None:
        if pending:
            messages.append(SharedMessage(role=MessageRole.ASSISTANT, parts=list(pending)))
            pending.clear()

    for entry in raw:
        item = as_dict(entry) if not isinstance(entry, str) else {"role": "user", "content": entry}
        kind = as_str(item.get("type"))
        role = as_str(item.get("role")).lower()
        if kind == "function_call_output":
            flush()
            messages.append(_tool_result(item))
        elif kind in ("function_call", "reasoning") or role == "assistant":
            pending.extend(_output_item_parts(item))
        elif role in SYSTEM_ROLES:
            text = content_text(item.get("content"))
            if text.strip():
                system.append(text)
        elif role == "user" or not kind or kind == "message":
            flush()
            parts = content_parts(item.get("content"))
            if parts:
                messages.append(SharedMessage(role=MessageRole.USER, parts=parts))
        else:
            pending.extend(_output_item_parts(item))
    flush()
    return "\n\n".join(system), messages


def map_output_items(response: Mapping[str, Any]) -> tuple[list[Message], str]:
    """A Responses object's ``output`` as one assistant message, and its stop reason: the
    incomplete reason when the response is incomplete, else its status."""
    parts: list[Part] = []
    for item in as_list(response.get("output")):
        parts.extend(_output_item_parts(as_dict(item)))
    status = as_str(response.get("status"))
    reason = as_str(as_dict(response.get("incomplete_details")).get("reason"))
    stop = reason if status == "incomplete" and reason else status
    return ([SharedMessage(role=MessageRole.ASSISTANT, parts=parts)] if parts else []), stop


def _system_from_input(kwargs: Mapping[str, Any]) -> str:
    """System messages of ``kwargs["input"]`` (how a bridged call keeps them)."""
    raw = kwargs.get("input")
    items = [as_dict(i) for i in as_list(raw) if as_str(as_dict(i).get("role")).lower() in SYSTEM_ROLES]
    return "\n\n".join(text for text in (content_text(i.get("content")) for i in items) if text.strip())


def _instructions_text(value: Any) -> str:
    """``instructions``: a string, or (as the API also accepts) a list of input messages."""
    if not isinstance(value, list):
        return block_text(value)
    items = [as_dict(item) for item in value]
    texts = (content_text(i["content"]) if "content" in i else as_str(i.get("text")) for i in items)
    return "\n\n".join(text for text in texts if text.strip())


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
        system_prompt, messages = map_input_items(logged_input(kwargs, slo, "input", "messages"))
        instructions = _instructions_text(params.get("instructions")) or _instructions_text(
            response.get("instructions")
        )
        if not system_prompt:
            system_prompt = _system_from_input(kwargs)
        system_prompt = "\n\n".join(text for text in (instructions, system_prompt) if text.strip())
    output, stop = route_output(response, STOP_REASONS, map_output_items)
    effort = as_str(as_dict(params.get("reasoning")).get("effort")).lower()
    return RouteContent(
        system_prompt=system_prompt,
        input=messages,
        output=output,
        stop_reason=stop,
        usage=route_usage(response, slo, cache_outside_input=False),
        max_tokens=first_param(params, "max_output_tokens", "max_tokens"),
        thinking_enabled=map_thinking_enabled({"reasoning_effort": effort}),
    )
