"""The guard on ``/v1/messages`` (Anthropic Messages API): ``messages`` and ``system``, the answer's blocks.

Preflight judges ``messages`` (text blocks, and each ``tool_result`` block as a tool message) with
``system`` (a string or text blocks) as the system prompt; a transform rewrites exactly those fields.
Postflight judges the answer's content blocks: the Anthropic message LiteLLM hands the post-call hook as
a dict, or a held-back stream, which reaches the streaming hook as raw SSE bytes (whole events, or
pieces of them): :func:`parse_stream` reads the events, :func:`stream_answer` assembles the message and
:func:`rewrite_stream` puts transformed text into the ``text_delta`` events, every other event sent as
it came.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sigil_sdk.hooks import HookInput
from sigil_sdk.models import Message, MessageRole

from sigil_sdk_litellm.mapping.anthropic_messages import block_parts, map_response
from sigil_sdk_litellm.mapping.chat import SYSTEM_ROLES
from sigil_sdk_litellm.mapping.cheap_copies import SharedMessage
from sigil_sdk_litellm.mapping.coerce import as_dict, as_list, as_str
from sigil_sdk_litellm.mapping.route_content import block_text
from sigil_sdk_litellm.proxy.guard.requests import (
    HookDefaults,
    hook_request,
    message_texts,
    own_texts,
    replace_text,
)
from sigil_sdk_litellm.proxy.guard.route_text import RouteMapped, set_texts

__all__ = [
    "SseEvent",
    "answer_output",
    "apply_output_transform",
    "apply_transform",
    "changed_block_texts",
    "parse_stream",
    "preflight",
    "rewrite_stream",
    "stream_answer",
]


def preflight(data: Mapping[str, Any], defaults: HookDefaults) -> RouteMapped | None:
    """The preflight evaluation of a Messages request, or None when it has nothing to judge. Origins:
    ``(i, None)`` for the text of message i, ``(i, j)`` for its tool_result block j."""
    messages: list[Message] = []
    origins: list[tuple[int, int | None]] = []
    for index, entry in enumerate(as_list(data.get("messages"))):
        item = as_dict(entry)
        if as_str(item.get("role")).lower() in SYSTEM_ROLES:
            continue
        content = item.get("content")
        blocks = content if isinstance(content, list) else [content]
        for position, block in enumerate(blocks):
            if as_str(as_dict(block).get("type")) == "tool_result":
                _, results = block_parts([block])
                messages.extend(results)
                origins.extend([(index, position)] * len(results))
        rest = [b for b in blocks if as_str(as_dict(b).get("type")) != "tool_result"]
        parts, _ = block_parts(content if isinstance(content, str) else rest)
        if parts:
            role = MessageRole.ASSISTANT if as_str(item.get("role")).lower() == "assistant" else MessageRole.USER
            messages.append(SharedMessage(role=role, parts=parts))
            origins.append((index, None))
    system = block_text(data.get("system"))
    if not messages and not system.strip():
        return None
    return RouteMapped(hook_request(data, defaults, messages, system), tuple(origins))


def _rewrite(content: Any, texts: list[str]) -> Any:
    return "\n".join(texts) if isinstance(content, str) or content is None else replace_text(content, texts)


def apply_transform(data: Mapping[str, Any], mapped: RouteMapped, transformed: HookInput) -> dict[str, Any]:
    """``data`` (a copy) with the transformed texts in ``messages`` and ``system``, where they came from.

    With as many messages as were sent, each text replaces the text blocks of its message, or the
    content of its tool_result block (tool_use, images, thinking kept; a message without text, e.g. a
    tool result the SDK does not carry back, is left as it was); otherwise the conversation is rebuilt
    from the transformed messages as text messages. A transformed system prompt replaces ``system``'s
    text (a string stays a string; blocks keep their other blocks).
    """
    out = dict(data)
    messages: list[Any] = [copy.copy(m) if isinstance(m, dict) else m for m in as_list(data.get("messages"))]
    if transformed.messages and len(transformed.messages) == len(mapped.origins):
        for (index, block), original_message, message in zip(
            mapped.origins, mapped.request.input.messages, transformed.messages, strict=True
        ):
            texts = own_texts(original_message, message)
            original = messages[index]
            if not texts or not isinstance(original, dict):
                continue
            content = original.get("content")
            if block is None:
                if block_text(content if isinstance(content, str) else _text_blocks(content)) != "\n".join(texts):
                    messages[index] = dict(original, content=_rewrite(content, texts))
                continue
            blocks = list(as_list(content))
            result = as_dict(blocks[block])
            blocks[block] = dict(result, content=_rewrite(result.get("content"), texts))
            messages[index] = dict(original, content=blocks)
    elif transformed.messages:
        messages = [
            {"role": "assistant" if message.role == MessageRole.ASSISTANT else "user", "content": "\n".join(texts)}
            for message in transformed.messages
            if (texts := message_texts(message))
        ]
    out["messages"] = messages
    new_system = transformed.system_prompt
    if new_system and new_system != mapped.request.input.system_prompt:
        system = data.get("system")
        out["system"] = replace_text(system, [new_system]) if isinstance(system, list) else new_system
    return out


def _text_blocks(content: Any) -> list[Any]:
    return [b for b in as_list(content) if as_str(as_dict(b).get("type")) == "text"]


# --------------------------------------------------------------------------------------------
# The answer


def answer_output(body: Mapping[str, Any]) -> list[tuple[int, Message]]:
    """The answer's assistant message (its content blocks), at position 0."""
    messages, _ = map_response(body)
    return [(0, message) for message in messages[:1]]


def apply_output_transform(response: Any, output: list[Message], positions: list[int]) -> tuple[bool, int]:
    """The transformed text into the answer's text blocks (tool_use and thinking kept)."""
    texts = [text for message in output[:1] for text in message_texts(message)]
    if not texts:
        return False, 0
    content = response.get("content") if isinstance(response, dict) else getattr(response, "content", None)
    if not _text_blocks(content):
        return False, 1
    return set_texts(content, texts, kind="text"), 0


# --------------------------------------------------------------------------------------------
# Streams: the SSE events of a held-back /v1/messages stream


@dataclass
class SseEvent:
    """One event as it came (``raw``), its name and its data (None when not JSON)."""

    raw: str
    name: str
    data: dict[str, Any] | None
    changed: bool = False

    def encode(self) -> bytes:
        if not self.changed or self.data is None:
            return self.raw.encode("utf-8")
        return f"event: {self.name}\ndata: {json.dumps(self.data, ensure_ascii=False)}\n\n".encode()


def parse_stream(chunks: list[Any]) -> list[SseEvent] | None:
    """The events of an SSE stream handed over as bytes or text (pieces of events joined first); None
    when a chunk is something else."""
    if not all(isinstance(chunk, (bytes, str)) for chunk in chunks):
        return None
    text = "".join(c.decode("utf-8", errors="replace") if isinstance(c, bytes) else c for c in chunks)
    text = text.replace("\r\n", "\n")
    events: list[SseEvent] = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        name, data_lines = "", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data_lines.append(line[5:].strip())
        try:
            data = json.loads("\n".join(data_lines)) if data_lines else None
        except ValueError:
            data = None
        events.append(SseEvent(block + "\n\n", name or as_str(as_dict(data).get("type")), as_dict(data) or None))
    return events


def stream_answer(events: list[SseEvent]) -> dict[str, Any]:
    """The Anthropic message a stream's events build: its content blocks and stop reason."""
    message: dict[str, Any] = {}
    blocks: dict[int, dict[str, Any]] = {}
    partial: dict[int, str] = {}
    for event in events:
        data = event.data or {}
        kind = as_str(data.get("type")) or event.name
        index = data.get("index")
        if kind == "message_start":
            message = dict(as_dict(data.get("message")))
        elif kind == "content_block_start" and isinstance(index, int):
            blocks[index] = dict(as_dict(data.get("content_block")))
        elif kind == "content_block_delta" and isinstance(index, int):
            delta = as_dict(data.get("delta"))
            block = blocks.setdefault(index, {"type": "text", "text": ""})
            for field, key in (("text_delta", "text"), ("thinking_delta", "thinking")):
                if delta.get("type") == field:
                    block[key] = as_str(block.get(key)) + as_str(delta.get(key))
            if delta.get("type") == "input_json_delta":
                partial[index] = partial.get(index, "") + as_str(delta.get("partial_json"))
        elif kind == "message_delta":
            message["stop_reason"] = as_dict(data.get("delta")).get("stop_reason")
    for index, raw in partial.items():
        try:
            blocks[index]["input"] = json.loads(raw) if raw else {}
        except ValueError:
            blocks[index]["input"] = raw
    message["content"] = [blocks[i] for i in sorted(blocks)]
    return message


def changed_block_texts(body: Mapping[str, Any], output: list[Message]) -> dict[int, str]:
    """The new text of each text block (by its index in the stream) that the transform changed."""
    texts = [text for message in output[:1] for text in message_texts(message)]
    blocks = [(i, as_str(b.get("text"))) for i, b in enumerate(as_list(body.get("content"))) if b.get("type") == "text"]
    if not texts or not blocks:
        return {}
    if len(texts) != len(blocks):
        texts = ["\n".join(texts)] + [""] * (len(blocks) - 1)
    return {i: text for (i, old), text in zip(blocks, texts, strict=True) if text != old}


def rewrite_stream(events: list[SseEvent], texts: Mapping[int, str]) -> set[int]:
    """The new text of block ``index`` in its first ``text_delta``, its later ones emptied. Returns the
    blocks rewritten."""
    done: set[int] = set()
    for event in events:
        data = event.data
        if data is None or data.get("type") != "content_block_delta" or data.get("index") not in texts:
            continue
        delta = as_dict(data.get("delta"))
        if delta.get("type") != "text_delta":
            continue
        index = data["index"]
        data["delta"] = dict(delta, text=texts[index] if index not in done else "")
        event.changed = True
        done.add(index)
    return done
