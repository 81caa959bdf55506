"""LiteLLM callback events → Sigil SDK models: pure functions of plain data, no SDK client, no I/O.

One module per job; each imports the modules below it, never this package, so there is no cycle:

- :mod:`.generation` / :mod:`.embeddings` / :mod:`.tool_execution`: one event → one recording (the entry
  points, here; an MCP tool call is a tool execution)
- :mod:`.responses` / :mod:`.anthropic_messages`: the API families with their own request and
  response shapes, returning a :class:`~.route_content.RouteContent` (:data:`.generation.ROUTES`)
- :mod:`.chat` (chat messages, reused by the routes), :mod:`.parameters` (tools, tool choice,
  thinking), :mod:`.usage` (token counts), :mod:`.identity` (model, ids, user, agent),
  :mod:`.metadata` (tags and metadata)
- :mod:`.message_memo` (chat messages already mapped, by content: an agent chat's history; bounded)
- :mod:`.event` (call types, options, where an event keeps its data), :mod:`.copies` (the cheap
  deep copies of what the mapping builds), :mod:`.coerce` (junk-tolerant value conversion)
"""

from __future__ import annotations

from sigil_sdk_litellm.mapping.embeddings import EmbeddingRecord, map_embedding
from sigil_sdk_litellm.mapping.event import (
    DEFAULT_AGENT_NAME_METADATA_KEYS,
    MappingOptions,
    call_type_of,
    carries_nothing,
    classify_call,
)
from sigil_sdk_litellm.mapping.generation import ROUTES, GenerationRecord, RouteMapper, map_generation
from sigil_sdk_litellm.mapping.tool_execution import ToolExecutionRecord, map_tool_execution

__all__ = [
    "DEFAULT_AGENT_NAME_METADATA_KEYS",
    "ROUTES",
    "EmbeddingRecord",
    "GenerationRecord",
    "MappingOptions",
    "RouteMapper",
    "ToolExecutionRecord",
    "call_type_of",
    "carries_nothing",
    "classify_call",
    "map_embedding",
    "map_generation",
    "map_tool_execution",
]
