"""The guard's preflight on the routes whose request is a ``prompt``: ``/v1/completions`` (a string or a
list of strings) and ``/v1/images/generations`` (a string; LiteLLM also copies it into ``messages``,
which a transform keeps in step). Each prompt is one user message; a transform rewrites it in place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sigil_sdk.hooks import HookInput
from sigil_sdk.models import Message, MessageRole, Part, PartKind

from sigil_sdk_litellm.proxy.guard.requests import HookDefaults, hook_request, message_texts
from sigil_sdk_litellm.proxy.guard.route_text import RouteMapped

__all__ = ["apply_transform", "preflight"]


def preflight(data: Mapping[str, Any], defaults: HookDefaults) -> RouteMapped | None:
    """One user message per prompt text (origin: its position in a list prompt, None for a string);
    None when there is no text (token-id prompts are not text)."""
    raw = data.get("prompt")
    prompts: list[tuple[int | None, str]] = (
        [(None, raw)]
        if isinstance(raw, str)
        else [(i, p) for i, p in enumerate(raw) if isinstance(p, str)]
        if isinstance(raw, list)
        else []
    )
    prompts = [(origin, text) for origin, text in prompts if text.strip()]
    if not prompts:
        return None
    messages = [Message(role=MessageRole.USER, parts=[Part(kind=PartKind.TEXT, text=text)]) for _, text in prompts]
    return RouteMapped(hook_request(data, defaults, messages, ""), tuple(origin for origin, _ in prompts))


def apply_transform(data: Mapping[str, Any], mapped: RouteMapped, transformed: HookInput) -> dict[str, Any]:
    """``data`` (a copy) with each prompt text replaced by its transformed text (as many messages as were
    sent; otherwise the transformed texts joined are the prompt)."""
    out = dict(data)
    texts = ["\n".join(message_texts(message)) for message in transformed.messages]
    if len(texts) == len(mapped.origins):
        for origin, text in zip(mapped.origins, texts, strict=True):
            if not text:
                continue
            if origin is None:
                out["prompt"] = text
            else:
                prompt = list(out["prompt"])
                prompt[origin] = text
                out["prompt"] = prompt
    elif any(texts):
        out["prompt"] = "\n".join(text for text in texts if text)
    messages = data.get("messages")
    if isinstance(out.get("prompt"), str) and isinstance(messages, list) and len(messages) == 1:
        out["messages"] = [{**messages[0], "content": out["prompt"]}] if isinstance(messages[0], dict) else messages
    return out
