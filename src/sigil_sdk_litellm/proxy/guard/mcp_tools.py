"""The guard on MCP tool calls through LiteLLM's MCP gateway (call type ``call_mcp_tool``).

LiteLLM hands the pre-call hook a synthetic request for each tool call (``mcp_tool_name``,
``mcp_arguments``, ``mcp_tool_description``) when the guardrail's mode includes ``pre_mcp_call``, and
applies a returned ``modified_arguments``; a refusal raised there becomes the MCP tool error the client
reads, and the tool is never called. After the call it hands ``async_post_mcp_tool_call_hook`` the
result's content blocks (``post_mcp_call``), whose text may be rewritten in place.

Preflight judges the tool's name (the first message) and each string value of its arguments (one
message each, its path in the arguments the origin), so a transform rewrites exactly those values.
Postflight judges the text blocks of the result as one tool message.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sigil_sdk.hooks import HookInput
from sigil_sdk.models import Message, MessageRole, Part, PartKind, ToolDefinition

from sigil_sdk_litellm.mapping.coerce import as_dict, as_str
from sigil_sdk_litellm.proxy.guard.requests import HookDefaults, hook_request, message_texts
from sigil_sdk_litellm.proxy.guard.route_text import RouteMapped, field, set_field

__all__ = ["CALL_TYPE", "apply_transform", "preflight", "result_output", "rewrite_result"]

CALL_TYPE = "call_mcp_tool"
_NAME = ()  # the origin of the tool-name message
_MAX_DEPTH = 8

Path = tuple[Any, ...]


def _leaves(value: Any, path: Path = (), depth: int = 0) -> list[tuple[Path, str]]:
    """The string values of ``value`` with their paths (dict keys and list positions)."""
    if isinstance(value, str):
        return [(path, value)] if value.strip() else []
    if depth >= _MAX_DEPTH:
        return []
    if isinstance(value, Mapping):
        return [leaf for key, item in value.items() for leaf in _leaves(item, (*path, key), depth + 1)]
    if isinstance(value, list):
        return [leaf for index, item in enumerate(value) for leaf in _leaves(item, (*path, index), depth + 1)]
    return []


def _text(role: MessageRole, text: str) -> Message:
    return Message(role=role, parts=[Part(kind=PartKind.TEXT, text=text)])


def preflight(data: Mapping[str, Any], defaults: HookDefaults) -> RouteMapped | None:
    """The preflight evaluation of one MCP tool call: its name, then each string argument."""
    name = as_str(data.get("mcp_tool_name")) or as_str(as_dict(data.get("metadata")).get("mcp_tool_name"))
    if not name:
        return None
    leaves = _leaves(as_dict(data.get("mcp_arguments")))
    messages = [_text(MessageRole.ASSISTANT, name), *(_text(MessageRole.ASSISTANT, text) for _, text in leaves)]
    tool = ToolDefinition(name=name, description=as_str(data.get("mcp_tool_description")))
    request = hook_request(data, defaults, messages, "", [tool])
    return RouteMapped(request, (_NAME, *(path for path, _ in leaves)))


def apply_transform(data: Mapping[str, Any], mapped: RouteMapped, transformed: HookInput) -> dict[str, Any]:
    """``data`` with ``modified_arguments`` (what LiteLLM calls the tool with): each judged string value
    replaced by its transformed text; the tool's name is never changed."""
    arguments = copy.deepcopy(as_dict(data.get("mcp_arguments")))
    if len(transformed.messages) == len(mapped.origins):
        for path, message in zip(mapped.origins, transformed.messages, strict=True):
            texts = message_texts(message)
            if path == _NAME or not texts:
                continue
            holder: Any = arguments
            for step in path[:-1]:
                holder = holder[step]
            holder[path[-1]] = "\n".join(texts)
    out = dict(data)
    if arguments != as_dict(data.get("mcp_arguments")):
        out["modified_arguments"] = arguments
    return out


def result_output(content: Any) -> list[Message]:
    """The text blocks of a tool result (MCP content blocks, objects or dicts) as one tool message."""
    texts = [as_str(field(block, "text")) for block in content or [] if field(block, "type") == "text"]
    parts = [Part(kind=PartKind.TEXT, text=text) for text in texts if text.strip()]
    return [Message(role=MessageRole.TOOL, parts=parts)] if parts else []


def rewrite_result(content: Any, output: list[Message]) -> bool:
    """The transformed texts into the result's text blocks, in order (one each when the counts match,
    else all of it in the first). Returns whether a text changed."""
    texts = [text for message in output[:1] for text in message_texts(message)]
    blocks = [
        block for block in content or [] if field(block, "type") == "text" and as_str(field(block, "text")).strip()
    ]
    if not texts or not blocks:
        return False
    if len(texts) != len(blocks):
        texts = ["\n".join(texts)] + [""] * (len(blocks) - 1)
    changed = False
    for block, text in zip(blocks, texts, strict=True):
        if field(block, "text") != text:
            set_field(block, "text", text)
            changed = True
    return changed
