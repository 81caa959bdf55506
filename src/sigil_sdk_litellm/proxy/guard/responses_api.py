"""The guard on ``/v1/responses``: the request's ``input`` and ``instructions``, the answer's output items.

Preflight judges ``input`` (a string, or items: messages, function-call outputs, the model's earlier
calls) with ``instructions`` and system/developer items as the system prompt; a transform rewrites
exactly those fields. Postflight judges the output items of the Responses object (LiteLLM's
``ResponsesAPIResponse``), or of a held-back event stream (its ``response.completed`` event, else the
items its ``response.output_item.done`` events carry), and a transform rewrites their ``output_text``
wherever the client reads it: the deltas, the done events and the final response.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from sigil_sdk.hooks import HookInput
from sigil_sdk.models import Message, MessageRole

from sigil_sdk_litellm.mapping.chat import SYSTEM_ROLES, content_text
from sigil_sdk_litellm.mapping.coerce import as_dict, as_list, as_str
from sigil_sdk_litellm.mapping.responses import map_input_items, map_output_items
from sigil_sdk_litellm.mapping.route_content import block_text
from sigil_sdk_litellm.proxy.guard.requests import (
    HookDefaults,
    hook_request,
    message_texts,
    own_texts,
    replace_text,
)
from sigil_sdk_litellm.proxy.guard.route_text import RouteMapped, field, set_field, set_texts

__all__ = [
    "answer_output",
    "apply_output_transform",
    "apply_transform",
    "error_frame",
    "is_event",
    "preflight",
    "rewrite_events",
    "stream_answer",
]

_INPUT = "input"  # the origin of a string input


def _system_text(data: Mapping[str, Any], items: list[Any], system_items: list[int]) -> str:
    instructions = data.get("instructions")
    texts = [block_text(instructions) if not isinstance(instructions, list) else content_text(instructions)]
    texts += [content_text(as_dict(items[i]).get("content")) for i in system_items]
    return "\n\n".join(text for text in texts if text.strip())


def preflight(data: Mapping[str, Any], defaults: HookDefaults) -> RouteMapped | None:
    """The preflight evaluation of a Responses request, or None when it has nothing to judge."""
    raw = data.get("input")
    messages: list[Message] = []
    origins: list[Any] = []
    system_items: list[int] = []
    items = raw if isinstance(raw, list) else []
    if isinstance(raw, str):
        _, messages = map_input_items(raw)
        origins = [_INPUT] * len(messages)
    for index, item in enumerate(items):
        if as_str(as_dict(item).get("role")).lower() in SYSTEM_ROLES:
            system_items.append(index)
            continue
        _, mapped = map_input_items([item])
        messages.extend(mapped)
        origins.extend([index] * len(mapped))
    system = _system_text(data, items, system_items)
    if not messages and not system:
        return None
    return RouteMapped(hook_request(data, defaults, messages, system), (tuple(origins), tuple(system_items)))


def apply_transform(data: Mapping[str, Any], mapped: RouteMapped, transformed: HookInput) -> dict[str, Any]:
    """``data`` (a copy) with the transformed texts in ``input`` and ``instructions``, where they came from.

    With as many messages as were sent, each text replaces its item's text (function calls, images and
    other parts kept; a message without text, e.g. a function-call output the SDK does not carry back,
    is left as it was); otherwise ``input`` is rebuilt from the transformed messages as text messages.
    A transformed system prompt goes to ``instructions`` (system items then dropped), or to the first
    system item when there were no instructions.
    """
    out = dict(data)
    origins, system_items = mapped.origins
    raw = data.get("input")
    items: list[Any] = [copy.copy(i) if isinstance(i, dict) else i for i in raw] if isinstance(raw, list) else []
    if transformed.messages and len(transformed.messages) == len(origins):
        for origin, original, message in zip(origins, mapped.request.input.messages, transformed.messages, strict=True):
            texts = own_texts(original, message)
            if not texts:
                continue
            if origin == _INPUT:
                out["input"] = "\n".join(texts)
                continue
            item = items[origin]
            if not isinstance(item, dict):
                continue
            if item.get("type") == "function_call_output":
                output = item.get("output")
                items[origin] = dict(item, output=replace_text(output, texts) if isinstance(output, list) else texts[0])
            elif content_text(item.get("content")) != "\n".join(texts):
                items[origin] = dict(item, content=replace_text(item.get("content"), texts))
    elif transformed.messages:
        rebuilt = [
            {"role": "assistant" if message.role == MessageRole.ASSISTANT else "user", "content": "\n".join(texts)}
            for message in transformed.messages
            if (texts := message_texts(message))
        ]
        items = [items[i] for i in system_items] + rebuilt
        system_items = tuple(range(len(system_items)))
        out["input"] = items
    new_system = transformed.system_prompt
    if new_system and new_system != mapped.request.input.system_prompt:
        if data.get("instructions") or not system_items:
            out["instructions"] = new_system
            drop = set(system_items)
        else:
            first, *others = system_items
            items[first] = dict(as_dict(items[first]), content=new_system)
            drop = set(others)
        items = [item for index, item in enumerate(items) if index not in drop]
    if isinstance(raw, list):
        out["input"] = items
    return out


# --------------------------------------------------------------------------------------------
# The answer


def answer_output(body: Mapping[str, Any]) -> list[tuple[int, Message]]:
    """The answer's assistant messages, one per output item that has any, with the item's position."""
    out: list[tuple[int, Message]] = []
    for position, item in enumerate(as_list(body.get("output"))):
        messages, _ = map_output_items({"output": [item]})
        out.extend((position, message) for message in messages[:1])
    return out


def _set_item_texts(item: Any, texts: list[str]) -> bool:
    return field(item, "type") == "message" and set_texts(field(item, "content"), texts)


def apply_output_transform(response: Any, output: list[Message], positions: list[int]) -> tuple[bool, int]:
    """The transformed texts into the Responses object's message items (function calls and reasoning
    kept). Returns (something changed, texts that had nowhere to go)."""
    items = as_list(field(response, "output"))
    changed = False
    unplaced = 0
    for position, message in zip(positions, output, strict=False):
        texts = message_texts(message)
        if not texts:
            continue
        item = items[position] if position < len(items) else None
        if field(item, "type") != "message":
            unplaced += 1
            continue
        changed = _set_item_texts(item, texts) or changed
    return changed, unplaced


# --------------------------------------------------------------------------------------------
# Streams: the events of a held-back Responses stream

_FINAL_EVENTS = ("response.completed", "response.incomplete")


def _event_type(event: Any) -> str:
    kind = field(event, "type")
    return as_str(getattr(kind, "value", kind))


def is_event(chunk: Any) -> bool:
    """A Responses stream event (LiteLLM hands the streaming hook these objects)."""
    return _event_type(chunk).startswith("response.")


def _dump(value: Any) -> dict[str, Any]:
    return as_dict(value)


def stream_answer(events: list[Any]) -> dict[str, Any]:
    """The whole answer of a stream: the final response event's response, else the finished items."""
    for event in reversed(events):
        if _event_type(event) in _FINAL_EVENTS and field(event, "response") is not None:
            return _dump(field(event, "response"))
    done = {
        field(e, "output_index"): _dump(field(e, "item"))
        for e in events
        if _event_type(e) == "response.output_item.done"
    }
    return {"output": [done[i] for i in sorted(i for i in done if isinstance(i, int))]}


def rewrite_events(events: list[Any], texts: Mapping[int, str]) -> set[int]:
    """Rewrite the text of output item ``position`` (``texts[position]``) in every event that carries it:
    the first text delta gets the new text and later deltas none, the done events and the final
    response get it whole. Returns the positions rewritten."""
    rewritten: set[int] = set()
    first_part: dict[int, Any] = {}  # the content part of an item whose first delta carries the new text
    sent: set[int] = set()
    for event in events:
        kind = _event_type(event)
        position = field(event, "output_index")
        if kind in _FINAL_EVENTS:
            for index, item in enumerate(as_list(field(field(event, "response"), "output"))):
                if index in texts and _set_item_texts(item, [texts[index]]):
                    rewritten.add(index)
            continue
        if not isinstance(position, int) or position not in texts:
            continue
        text = texts[position]
        part_index = field(event, "content_index")
        if kind == "response.output_text.delta":
            first = first_part.setdefault(position, part_index)
            set_field(event, "delta", text if position not in sent and part_index == first else "")
            sent.add(position)
            rewritten.add(position)
        elif kind == "response.output_text.done":
            set_field(event, "text", text if part_index == first_part.get(position, part_index) else "")
        elif kind == "response.content_part.done":
            part = field(event, "part")
            if field(part, "type") == "output_text":
                set_field(part, "text", text if part_index == first_part.get(position, part_index) else "")
        elif kind == "response.output_item.done" and _set_item_texts(field(event, "item"), [text]):
            rewritten.add(position)
    return rewritten


def changed_texts(body: Mapping[str, Any], output: list[Message]) -> dict[int, str]:
    """The transformed text of each output item whose text the transform changed."""
    items = as_list(body.get("output"))
    texts: dict[int, str] = {}
    for (position, original), message in zip(answer_output(body), output, strict=False):
        text = "\n".join(message_texts(message))
        if text and text != "\n".join(message_texts(original)) and field(items[position], "type") == "message":
            texts[position] = text
    return texts


def error_frame(status: int, message: str, detail: Mapping[str, Any]) -> str:
    """A refused stream as the Responses route answers an error before its first event: LiteLLM passes a
    ``data:`` string from the streaming hook as the stream's error, and answers one that comes first with
    that status and the OpenAI error object (what ``/v1/responses`` answers a refused request with)."""
    error = {
        "message": message,
        "type": "invalid_request_error",
        "param": None,
        "code": str(status),
        "provider_specific_fields": dict(detail),
    }
    return f"data: {json.dumps({'error': error})}\n\n"
