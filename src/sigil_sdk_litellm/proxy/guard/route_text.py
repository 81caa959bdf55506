"""What the guard's routes share: a mapped request of any route, and text put back into LiteLLM's objects.

A route's request is judged as a :class:`RouteMapped`: the hook request and, for each of its messages,
where the message's text is in the request body (the route's own ``origin``), so that a transform puts
each text back exactly where it came from. Answers are LiteLLM objects (pydantic models) or plain dicts:
:func:`field` and :func:`set_field` read and write both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sigil_sdk.hooks import HookEvaluateRequest, HookPhase
from sigil_sdk.models import Message

from sigil_sdk_litellm.proxy.guard.requests import HookDefaults, hook_request

__all__ = ["RouteMapped", "field", "postflight_of", "set_field", "set_texts"]


@dataclass(frozen=True)
class RouteMapped:
    """The hook request of a route's request body, and per hook message where its text came from."""

    request: HookEvaluateRequest
    origins: tuple[Any, ...]


def field(value: Any, name: str) -> Any:
    """``value[name]`` of a dict, ``value.name`` of an object (None when absent)."""
    if isinstance(value, Mapping):
        return value.get(name)
    return getattr(value, name, None)


def set_field(value: Any, name: str, new: Any) -> None:
    if isinstance(value, dict):
        value[name] = new
    else:
        setattr(value, name, new)


def set_texts(parts: Any, texts: list[str], *, kind: str = "output_text", key: str = "text") -> bool:
    """Put ``texts`` into the ``kind`` parts of ``parts`` (dicts or objects): one each when the counts
    match, else all of it in the first and the others emptied. Returns whether a text changed."""
    targets = [p for p in (parts if isinstance(parts, list) else []) if field(p, "type") == kind]
    if not targets or not texts:
        return False
    if len(targets) != len(texts):
        texts = ["\n".join(texts)] + [""] * (len(targets) - 1)
    changed = False
    for part, text in zip(targets, texts, strict=True):
        if field(part, key) != text:
            set_field(part, key, text)
            changed = True
    return changed


def postflight_of(
    data: Mapping[str, Any], defaults: HookDefaults, mapped: RouteMapped | None, output: list[Message]
) -> HookEvaluateRequest | None:
    """The postflight evaluation: the request's preflight input (its context alone when it had nothing to
    judge) plus the answer's ``output``; None when the answer has nothing to judge."""
    if not output:
        return None
    request = mapped.request if mapped is not None else hook_request(data, defaults, [], "")
    request.phase = HookPhase.POSTFLIGHT.value
    request.input.output = output
    return request
