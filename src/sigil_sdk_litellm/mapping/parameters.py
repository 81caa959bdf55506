"""The request parameters a generation records: tool definitions, tool choice, thinking switch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sigil_sdk import ToolDefinition

from sigil_sdk_litellm.mapping.coerce import as_bool, as_dict, as_list, as_str, json_bytes
from sigil_sdk_litellm.mapping.message_memo import ContentMemo

_NEW = object.__new__


def _copy_tools(tools: list[ToolDefinition], key: bytes | None = None) -> list[ToolDefinition]:
    # object.__new__ and the slots, as the message memo's copies (the field list is tested)
    copies = []
    for tool in tools:
        copied = _NEW(ToolDefinition)
        copied.name = tool.name
        copied.description = tool.description
        copied.type = tool.type
        copied.input_schema_json = tool.input_schema_json
        copied.deferred = tool.deferred
        copies.append(copied)
    return copies


# an agent sends the same tool definitions with every request: each list mapped once (fit_generation cuts
# descriptions and schemas in place: each event gets its own copies)
TOOLS: ContentMemo[list[ToolDefinition]] = ContentMemo(_copy_tools, budget=2 << 20)


def map_tools(raw: Any, *, with_content: bool = True) -> list[ToolDefinition]:
    """A request's tool definitions (OpenAI's ``{"type", "function": {...}}`` or flat), from :data:`TOOLS`
    when the same list was mapped before."""
    if with_content and type(raw) is list:
        return TOOLS.mapped(raw, _map_tools)
    return _map_tools(raw, with_content=with_content)


def _map_tools(raw: Any, *, with_content: bool = True) -> list[ToolDefinition]:
    tools: list[ToolDefinition] = []
    for item in as_list(raw):
        data = as_dict(item)
        function = as_dict(data.get("function")) or data
        name = as_str(function.get("name"))
        if not name.strip():
            continue
        tools.append(
            ToolDefinition(
                name=name,
                description=as_str(function.get("description")) if with_content else "",
                type=as_str(data.get("type")) or "function",
                input_schema_json=json_bytes(function.get("parameters")) if with_content else b"",
            )
        )
    return tools


def map_tool_choice(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    data = as_dict(value)
    name = as_str(as_dict(data.get("function")).get("name")) or as_str(data.get("name"))
    if name:
        return name
    kind = as_str(data.get("type"))
    return kind or None


def map_thinking_enabled(params: Mapping[str, Any]) -> bool | None:
    thinking = params.get("thinking")
    if isinstance(thinking, Mapping):
        kind = as_str(thinking.get("type")).lower()
        if kind in ("enabled", "adaptive"):
            return True
        if kind == "disabled":
            return False
    flag = as_bool(thinking)
    if flag is not None:
        return flag
    effort = as_str(params.get("reasoning_effort")).lower()
    if effort:
        return effort not in ("none", "disable", "disabled")
    return None
