"""What a route module contributes to a generation (:class:`RouteContent`), and the pieces the routes share."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sigil_sdk import Message, TokenUsage, ToolDefinition

from sigil_sdk_litellm.mapping.chat import map_output
from sigil_sdk_litellm.mapping.coerce import as_dict, as_str


@dataclass(slots=True)
class RouteContent:
    """The route-specific fields of one generation; ``None`` means: as for a chat completion."""

    system_prompt: str
    input: list[Message]
    output: list[Message]
    stop_reason: str
    usage: TokenUsage
    tools: list[ToolDefinition] | None = None
    max_tokens: Any = None
    thinking_enabled: bool | None = None


def logged_input(kwargs: Mapping[str, Any], slo: Mapping[str, Any], *fallbacks: str) -> Any:
    """The request's messages / items as LiteLLM logged them, else the first ``kwargs`` key that has some."""
    raw = slo.get("messages")
    for key in fallbacks:
        if raw is not None and raw != []:
            break
        raw = kwargs.get(key)
    return raw


def first_param(params: Mapping[str, Any], *keys: str) -> Any:
    """The first of ``keys`` that is set (``max_tokens`` has another name on every API)."""
    return next((params[key] for key in keys if params.get(key) is not None), None)


def route_output(
    response: Mapping[str, Any],
    stop_reasons: Mapping[str, str],
    native: Callable[[Mapping[str, Any]], tuple[list[Message], str]],
) -> tuple[list[Message], str]:
    """Output and stop reason of a response in the route's own shape (``native``), or of a chat
    completion (LiteLLM logs bridged calls that way) with its finish reason in the route's words
    (``stop_reasons``), as the route's client saw it."""
    if "choices" not in response:
        return native(response)
    output, finish = map_output(response)
    return output, stop_reasons.get(finish, finish)


def block_text(content: Any) -> str:
    """The text of a string or of a list of ``{"type": "text", "text": …}`` blocks, joined by blank lines."""
    if isinstance(content, str):
        return content
    texts = [as_str(as_dict(block).get("text")) for block in content] if isinstance(content, list) else []
    return "\n\n".join(text for text in texts if text and not text.isspace())
