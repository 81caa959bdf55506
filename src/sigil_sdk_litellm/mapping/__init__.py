"""Per-route mapping: what differs between LiteLLM's call types (request items, response shape).

``_mapping.map_generation`` builds the generation around the content a route returns here; chat and
text completions stay in ``_mapping`` itself. One module per API family:
:mod:`.responses` (OpenAI Responses API) and :mod:`.anthropic_messages` (Anthropic Messages API).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sigil_sdk_litellm.mapping import anthropic_messages, responses
from sigil_sdk_litellm.mapping.content import RouteContent

RouteMapper = Callable[[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any], Mapping[str, Any], bool], RouteContent]

ROUTES: Mapping[str, RouteMapper] = {
    "responses": responses.map_content,
    "aresponses": responses.map_content,
    "anthropic_messages": anthropic_messages.map_content,
    "aanthropic_messages": anthropic_messages.map_content,
}
SLIM_EXTRAS: Mapping[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "responses": responses.slim_extras,
    "aresponses": responses.slim_extras,
    "anthropic_messages": anthropic_messages.slim_extras,
    "aanthropic_messages": anthropic_messages.slim_extras,
}

__all__ = ["ROUTES", "SLIM_EXTRAS", "RouteContent", "RouteMapper"]
