"""A LiteLLM chat request ↔ Sigil's hook input: pure functions, no I/O, no LiteLLM import (the other
routes: :mod:`.responses_api`, :mod:`.messages_api`, :mod:`.prompts`, sharing :func:`hook_request`).

:func:`preflight_request` maps the request body the proxy's pre-call hook receives (``messages``,
``tools``, ``model``, ``metadata``, ``tags``) to the SDK's :class:`~sigil_sdk.hooks.HookEvaluateRequest`,
remembering which request message each hook message came from, so that :func:`apply_transform` can
put a rule's transformed messages back where they were (text replaced, tool calls and other
structure kept). :func:`deny_message` is what a denied client reads.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sigil_sdk.hooks import HookContext, HookEvaluateRequest, HookEvaluateResponse, HookInput, HookModel, HookPhase
from sigil_sdk.models import Message, MessageRole, PartKind, ToolDefinition

from sigil_sdk_litellm.mapping.chat import SYSTEM_ROLES, content_text, map_input_messages, map_output
from sigil_sdk_litellm.mapping.coerce import as_dict, as_list, as_str
from sigil_sdk_litellm.mapping.event import DEFAULT_AGENT_NAME_METADATA_KEYS, first_metadata_value
from sigil_sdk_litellm.mapping.metadata import split_request_tags
from sigil_sdk_litellm.mapping.parameters import map_tools

__all__ = [
    "HookDefaults",
    "MappedRequest",
    "answer_output",
    "apply_output_transform",
    "apply_transform",
    "deny_message",
    "hook_request",
    "message_texts",
    "output_text",
    "own_texts",
    "postflight_request",
    "preflight_request",
    "replace_text",
    "rewrite_stream",
]


@dataclass(frozen=True)
class HookDefaults:
    """What the request does not say: the agent and tags from ``SIGIL_AGENT_*`` / ``SIGIL_TAGS``."""

    agent_name: str = ""
    agent_version: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    agent_name_metadata_keys: tuple[str, ...] = DEFAULT_AGENT_NAME_METADATA_KEYS


@dataclass(frozen=True)
class MappedRequest:
    """The hook request, and for each of its messages the index of the request message it maps."""

    request: HookEvaluateRequest
    origins: tuple[int, ...]
    system_indices: tuple[int, ...]


def _metadata_sources(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    metadata = as_dict(data.get("metadata"))
    return [
        metadata,
        as_dict(data.get("litellm_metadata")),
        as_dict(metadata.get("requester_metadata")),
    ]


def _model(data: Mapping[str, Any]) -> HookModel:
    name = as_str(data.get("model")).strip()
    provider = as_str(data.get("custom_llm_provider")).strip()
    if "/" in name and not provider:
        provider = name.split("/", 1)[0]
    return HookModel(provider=provider, name=name)


def _tags(data: Mapping[str, Any], defaults: HookDefaults) -> dict[str, str]:
    tags = {str(k): as_str(v) for k, v in defaults.tags.items()}
    metadata = as_dict(data.get("metadata"))
    request_tags, _ = split_request_tags(data.get("tags") or metadata.get("tags"))
    tags.update(request_tags)
    return tags


def preflight_request(data: Mapping[str, Any], defaults: HookDefaults | None = None) -> MappedRequest | None:
    """The preflight evaluation of a chat request body, or None when it has no messages to judge."""
    defaults = defaults or HookDefaults()
    raw_messages = data.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        return None
    system: list[str] = []
    system_indices: list[int] = []
    messages: list[Message] = []
    origins: list[int] = []
    for index, item in enumerate(raw_messages):
        role = as_str(as_dict(item).get("role")).lower()
        if role in SYSTEM_ROLES:
            system_indices.append(index)
            text = content_text(as_dict(item).get("content"))
            if text.strip():
                system.append(text)
            continue
        _, mapped = map_input_messages([item])
        for message in mapped:
            messages.append(message)
            origins.append(index)
    if not messages and not any(text.strip() for text in system):
        return None
    request = hook_request(data, defaults, messages, "\n\n".join(system), map_tools(data.get("tools")))
    return MappedRequest(request, tuple(origins), tuple(system_indices))


def hook_request(
    data: Mapping[str, Any],
    defaults: HookDefaults,
    messages: list[Message],
    system_prompt: str,
    tools: list[ToolDefinition] | None = None,
) -> HookEvaluateRequest:
    """The preflight evaluation of a request body on any route: its messages and system prompt as that
    route's mapping read them, the context (model, agent, tags) as for chat."""
    sources = _metadata_sources(data)
    return HookEvaluateRequest(
        phase=HookPhase.PREFLIGHT.value,
        context=HookContext(
            model=_model(data),
            agent_name=first_metadata_value(sources, *defaults.agent_name_metadata_keys) or defaults.agent_name,
            agent_version=first_metadata_value(sources, "agent_version") or defaults.agent_version,
            tags=_tags(data, defaults),
        ),
        input=HookInput(messages=messages, tools=tools or [], system_prompt=system_prompt),
    )


def postflight_request(
    data: Mapping[str, Any], response: Mapping[str, Any], defaults: HookDefaults | None = None
) -> HookEvaluateRequest | None:
    """The postflight evaluation of a chat completion: the request's input plus the model's answer
    (``response`` as a dict: its choices' messages), or None when the answer has no output to judge."""
    output = [message for _, message in answer_output(response)]
    if not output:
        return None
    mapped = preflight_request(data, defaults)
    request = (
        mapped.request
        if mapped is not None
        else HookEvaluateRequest(phase="", context=HookContext(model=_model(data)), input=HookInput())
    )
    request.phase = HookPhase.POSTFLIGHT.value
    request.input.output = output
    return request


def answer_output(response: Mapping[str, Any]) -> list[tuple[int, Message]]:
    """The answer's assistant messages, each with the position of its choice in ``response["choices"]``
    (a choice without text or tool calls has no message, so the positions may skip)."""
    out: list[tuple[int, Message]] = []
    for position, choice in enumerate(as_list(response.get("choices"))):
        messages, _ = map_output({"choices": [choice]})
        out.extend((position, message) for message in messages[:1])
    return out


def output_text(message: Message) -> str:
    """The text of a transformed output message (its text parts joined by newlines)."""
    return "\n".join(message_texts(message))


def apply_output_transform(response: Any, output: list[Message], positions: list[int]) -> tuple[bool, int]:
    """Put the texts of the transformed ``output`` into ``response`` (a LiteLLM ModelResponse): message i
    goes to the choice at ``positions[i]``, into its ``message.content`` (chat) or ``text`` (text
    completion), tool calls and other fields kept. Returns (something changed, texts that had nowhere to go)."""
    changed = False
    unplaced = 0
    choices = getattr(response, "choices", None) or []
    for position, message in zip(positions, output, strict=False):
        text = output_text(message)
        if not text:
            continue
        choice = choices[position] if position < len(choices) else None
        target = getattr(choice, "message", None)
        if target is not None and hasattr(target, "content"):
            if target.content != text:
                target.content = text
                changed = True
        elif choice is not None and isinstance(getattr(choice, "text", None), str):
            if choice.text != text:
                choice.text = text
                changed = True
        else:
            unplaced += 1
    return changed, unplaced


def deny_message(response: HookEvaluateResponse) -> str:
    """``sigil hook denied by rule <id>: <reason>`` (the SDK's HookDeniedError text)."""
    from sigil_sdk.hooks import hook_denied_from_response

    error = hook_denied_from_response(response)
    return str(error) if error is not None else "sigil hook denied the request"


# --------------------------------------------------------------------------------------------
# Transform

# the content parts whose text a transform replaces (chat, Responses input and output, Anthropic blocks)
_TEXT_PART_TYPES = ("text", "input_text", "output_text")


def message_texts(message: Message) -> list[str]:
    """The text parts of a (transformed) hook message."""
    return [part.text for part in message.parts if part.kind == PartKind.TEXT and part.text]


def own_texts(original: Message, transformed: Message) -> list[str]:
    """The texts of a transformed message that stand for text of the request: a marker the mapping put in
    for an image or a file (``[image]``, a part with a provider type) comes back as text too, and is
    left out when the parts still line up with the original's."""
    if len(original.parts) != len(transformed.parts):
        return message_texts(transformed)
    return [
        new.text
        for old, new in zip(original.parts, transformed.parts, strict=True)
        if new.kind == PartKind.TEXT and new.text and old.kind == PartKind.TEXT and not old.metadata.provider_type
    ]


def replace_text(content: Any, texts: list[str]) -> Any:
    """``content`` (a string or a list of content parts) with its text replaced by ``texts``."""
    if isinstance(content, list):
        text_positions = [
            i for i, part in enumerate(content) if isinstance(part, dict) and part.get("type") in _TEXT_PART_TYPES
        ]
        out = list(content)
        if len(text_positions) == len(texts):
            for position, text in zip(text_positions, texts, strict=True):
                out[position] = dict(out[position], text=text)
            return out
        # a different number of text parts: one text part where the first was, the other parts kept
        first = text_positions[0] if text_positions else 0
        rest = [part for i, part in enumerate(out) if i not in text_positions]
        return [*rest[:first], {"type": "text", "text": "\n".join(texts)}, *rest[first:]]
    return "\n".join(texts)


def _wire_role(message: Message) -> str:
    value = getattr(message.role, "value", message.role)
    return value if value in (MessageRole.ASSISTANT.value, MessageRole.TOOL.value) else "user"


def apply_transform(data: Mapping[str, Any], mapped: MappedRequest, transformed: HookInput) -> dict[str, Any]:
    """``data`` (a copy) with the transformed messages and system prompt in place of the originals.

    When the rule returned as many messages as were sent, each replaces the text of the request
    message it came from (tool calls, images and other parts kept; a message whose transformed text
    is empty, e.g. a tool result the SDK does not carry back, is left as it was). Otherwise the
    conversation is rebuilt from the transformed messages as text messages. A transformed system
    prompt replaces the first system message (the others are dropped), or is put first.
    """
    out = dict(data)
    messages: list[Any] = [copy.copy(m) if isinstance(m, dict) else m for m in as_list(data.get("messages"))]
    if transformed.messages:
        if len(transformed.messages) == len(mapped.origins):
            replaced: dict[int, list[str]] = {}
            for origin, sent, message in zip(
                mapped.origins, mapped.request.input.messages, transformed.messages, strict=True
            ):
                texts = own_texts(sent, message)
                if texts:
                    replaced.setdefault(origin, []).extend(texts)
            for origin, texts in replaced.items():
                original = messages[origin]
                if isinstance(original, dict) and content_text(original.get("content")) != "\n".join(texts):
                    messages[origin] = dict(original, content=replace_text(original.get("content"), texts))
        else:
            kept = [messages[i] for i in mapped.system_indices]
            rebuilt = [
                {"role": _wire_role(message), "content": "\n".join(message_texts(message))}
                for message in transformed.messages
                if message_texts(message)
            ]
            messages = kept + rebuilt
            mapped = MappedRequest(mapped.request, (), tuple(range(len(kept))))
    new_system = transformed.system_prompt
    if new_system and new_system != mapped.request.input.system_prompt:
        if mapped.system_indices:
            first, *others = mapped.system_indices
            messages[first] = dict(as_dict(messages[first]), content=new_system)
            drop = set(others)
            messages = [m for i, m in enumerate(messages) if i not in drop]
        else:
            messages.insert(0, {"role": "system", "content": new_system})
    out["messages"] = messages
    return out


# --------------------------------------------------------------------------------------------
# Streams: rewriting the text of a streamed answer


def _deltas(chunk: Any) -> list[tuple[int, Any]]:
    out = []
    for position, choice in enumerate(getattr(chunk, "choices", None) or []):
        delta = getattr(choice, "delta", None)
        if delta is not None:
            out.append((_as_index(getattr(choice, "index", position)), delta))
    return out


def _as_index(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def rewrite_stream(chunks: list[Any], texts: Mapping[int, str]) -> set[int]:
    """Rewrite a streamed answer in place: the new text of choice ``index`` (``texts[index]``) goes in its
    first content delta, its later content deltas become empty (roles, tool calls, finish reasons and
    usage kept). Returns the choice indexes rewritten (a choice that streamed no text cannot be)."""
    seen: set[int] = set()
    for chunk in chunks:
        for index, delta in _deltas(chunk):
            if index not in texts or not isinstance(getattr(delta, "content", None), str):
                continue
            delta.content = texts[index] if index not in seen else ""
            seen.add(index)
    return seen
