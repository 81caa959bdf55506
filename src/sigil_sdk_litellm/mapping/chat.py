"""OpenAI chat and text completion messages → Sigil messages (the parts the other routes reuse).

Input messages (system prompt, user, assistant, tool results) and the assistant output of every
choice; content part arrays become text parts, media a short marker, never their payload.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sigil_sdk import Message, MessageRole, Part, PartKind, PartMetadata, ToolCall, ToolResult

from sigil_sdk_litellm.mapping.cheap_copies import SharedMessage
from sigil_sdk_litellm.mapping.coerce import as_dict, as_list, as_str, json_bytes
from sigil_sdk_litellm.mapping.conversation_memo import CONVERSATIONS, mapped_list
from sigil_sdk_litellm.mapping.event import UNKNOWN
from sigil_sdk_litellm.mapping.message_memo import MEMO, Mapped

# the roles whose messages are the system prompt (OpenAI renamed ``system`` to ``developer``)
SYSTEM_ROLES = frozenset({"system", "developer"})
_IMAGE_TYPES = frozenset({"image_url", "input_image", "image"})
_AUDIO_TYPES = frozenset({"input_audio", "audio"})
_TEXT_TYPES = frozenset({"text", "input_text", "output_text"})
_MEMO_ROLES = ("assistant", "tool", "function")  # a tuple: a junk role may be unhashable


def _has_text(text: str) -> bool:
    """Non-blank, without copying the string (``strip()`` would, for every long message)."""
    return bool(text) and not text.isspace()


def _text_part(text: str, provider_type: str = "") -> Part:
    if provider_type:
        return Part(kind=PartKind.TEXT, text=text, metadata=PartMetadata(provider_type=provider_type))
    return Part(kind=PartKind.TEXT, text=text)


def content_parts(content: Any) -> list[Part]:
    """Text parts of an OpenAI ``content`` value: a string or an array of typed parts.

    Non-text parts (images, audio, files) become a short marker such as ``[image]`` with the part's
    type in ``metadata.provider_type``; their payload (often a large data URL) is never copied.
    """
    if isinstance(content, str):
        return [Part(kind=PartKind.TEXT, text=content)] if _has_text(content) else []
    if isinstance(content, dict):
        content = [content]
    parts: list[Part] = []
    for item in as_list(content):
        if isinstance(item, str):
            if _has_text(item):
                parts.append(_text_part(item))
            continue
        data = as_dict(item)
        kind = as_str(data.get("type"))
        text = as_str(data.get("text"))
        if kind in _TEXT_TYPES or (not kind and text):
            if _has_text(text):
                parts.append(_text_part(text))
        elif kind in _IMAGE_TYPES:
            parts.append(_text_part("[image]", kind))
        elif kind in _AUDIO_TYPES:
            parts.append(_text_part("[audio]", kind))
        elif kind:
            parts.append(_text_part(f"[{kind}]", kind))
    return parts


def content_text(content: Any) -> str:
    """All text of a ``content`` value joined by blank lines (system prompts, tool results)."""
    return "\n\n".join(p.text for p in content_parts(content) if not p.metadata.provider_type)


def redacted_thinking_part(block: Mapping[str, Any]) -> Part:
    """A ``redacted_thinking`` block: its opaque ``data`` (ciphertext) is the thinking text, as both
    incumbent packages record it, marked by its provider type."""
    return Part(
        kind=PartKind.THINKING,
        thinking=as_str(block.get("data")) or "[redacted thinking]",
        metadata=PartMetadata(provider_type="redacted_thinking"),
    )


def _thinking_parts(message: Mapping[str, Any]) -> list[Part]:
    parts: list[Part] = []
    for block in as_list(message.get("thinking_blocks")):
        data = as_dict(block)
        if as_str(data.get("type")) == "redacted_thinking":
            parts.append(redacted_thinking_part(data))
            continue
        thinking = as_str(data.get("thinking"))
        if thinking.strip():
            parts.append(Part(kind=PartKind.THINKING, thinking=thinking))
    if not parts:
        reasoning = as_str(message.get("reasoning_content"))
        if reasoning.strip():
            parts.append(Part(kind=PartKind.THINKING, thinking=reasoning))
    return parts


def _tool_call_parts(message: Mapping[str, Any]) -> list[Part]:
    parts: list[Part] = []
    for call in as_list(message.get("tool_calls")):
        data = as_dict(call)
        function = as_dict(data.get("function"))
        name = as_str(function.get("name")) or as_str(data.get("name")) or UNKNOWN
        arguments = function.get("arguments") if function else data.get("arguments")
        parts.append(
            Part(
                kind=PartKind.TOOL_CALL,
                tool_call=ToolCall(name=name, id=as_str(data.get("id")), input_json=json_bytes(arguments)),
            )
        )
    legacy = as_dict(message.get("function_call"))
    if legacy:
        parts.append(
            Part(
                kind=PartKind.TOOL_CALL,
                tool_call=ToolCall(
                    name=as_str(legacy.get("name")) or UNKNOWN,
                    input_json=json_bytes(legacy.get("arguments")),
                ),
            )
        )
    return parts


def assistant_parts(message: Mapping[str, Any]) -> list[Part]:
    """Thinking first, then text, then tool calls — the order a model produces them in."""
    return [*_thinking_parts(message), *content_parts(message.get("content")), *_tool_call_parts(message)]


def tool_result(tool_call_id: str, content: str, *, name: str = "", is_error: bool = False) -> ToolResult:
    """A tool result whose text is kept as ``content``, and as ``content_json`` too when it is a JSON
    object or array (what a tool returns as data), on every route."""
    result = ToolResult(tool_call_id=tool_call_id, name=name, content=content, is_error=is_error)
    head = content.lstrip()[:1]
    if head in ("{", "["):
        try:
            json.loads(content)
        except ValueError:
            return result
        result.content_json = content.encode("utf-8", errors="replace")
    return result


def _tool_result_message(message: Mapping[str, Any]) -> SharedMessage:
    name = as_str(message.get("name"))
    result = tool_result(as_str(message.get("tool_call_id")), content_text(message.get("content")), name=name)
    return SharedMessage(role=MessageRole.TOOL, parts=[Part(kind=PartKind.TOOL_RESULT, tool_result=result)], name=name)


def _mapped(data: dict[str, Any]) -> Mapped:
    """One chat message → the system prompt's text, a Sigil message, or None (no content: dropped)."""
    role = data.get("role")
    name = data.get("name")
    name = name if type(name) is str else ""
    if role == "user" or role is None:  # the common case first: plain user text
        content = data.get("content")
        if type(content) is str:
            if _has_text(content):
                return SharedMessage(role=MessageRole.USER, parts=[Part(kind=PartKind.TEXT, text=content)], name=name)
            return None
    role = as_str(role).lower()
    if role in SYSTEM_ROLES:
        text = content_text(data.get("content"))
        return text if text.strip() else None
    if role in ("tool", "function"):
        return _tool_result_message(data)
    if role == "assistant":
        parts = assistant_parts(data)
        return SharedMessage(role=MessageRole.ASSISTANT, parts=parts, name=name) if parts else None
    parts = content_parts(data.get("content"))
    return SharedMessage(role=MessageRole.USER, parts=parts, name=name) if parts else None


def _map_item(item: Any) -> Mapped:
    if type(item) is dict:
        # text alone maps faster than the memo's key and copy; tool calls, results and part lists do not
        simple = type(item.get("content")) is str and item.get("role") not in _MEMO_ROLES
        return _mapped(item) if simple else MEMO.mapped(item, _mapped)
    return _mapped({"role": "user", "content": item} if isinstance(item, str) else as_dict(item))


def map_input_messages(raw: Any) -> tuple[str, list[Message]]:
    """OpenAI-style chat messages → (system prompt, Sigil messages).

    System and developer messages become the system prompt; messages without any content are
    dropped (Sigil requires at least one part); unknown roles are treated as user input. A bare
    string or list of strings (text completion prompts) is user input. Messages mapped for an earlier
    event come from memos: the list's beginning seen before (an agent chat's history) from
    :data:`.conversation_memo.CONVERSATIONS`, any other message from :data:`.message_memo.MEMO`.
    Messages are shared with other events: they are not to be changed (``own_messages`` copies them).
    """
    if isinstance(raw, str):
        raw = [{"role": "user", "content": raw}]
    elif isinstance(raw, dict):
        raw = [raw]
    items = as_list(raw)
    mapped = mapped_list(CONVERSATIONS, items, _map_item)
    system: list[str] = []
    messages: list[Message] = []
    for one in mapped if mapped is not None else map(_map_item, items):
        if isinstance(one, str):
            system.append(one)
        elif one is not None:
            messages.append(one)
    return "\n\n".join(system), messages


def map_output(response: Mapping[str, Any]) -> tuple[list[Message], str]:
    """Assistant messages of every choice and the first choice's finish reason."""
    messages: list[Message] = []
    stop_reason = ""
    for index, choice in enumerate(as_list(response.get("choices"))):
        data = as_dict(choice)
        if index == 0:
            stop_reason = as_str(data.get("finish_reason"))
        message = as_dict(data.get("message")) or as_dict(data.get("delta"))
        parts = assistant_parts(message) if message else content_parts(data.get("text"))
        if parts:
            messages.append(SharedMessage(role=MessageRole.ASSISTANT, parts=parts))
    return messages, stop_reason
