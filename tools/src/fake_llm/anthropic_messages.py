"""``/v1/messages`` (Anthropic Messages API): the deterministic answer, whole or as the SSE event stream.

- last message from the user with text (no ``tool_result`` block) and the request has ``tools``: one
  ``tool_use`` block (id from the tool name and the text), ``stop_reason: "tool_use"``;
- last message carries a ``tool_result`` block: ``"The tool said: <result, first 80 chars>"``;
- otherwise ``"echo: <last user text, first 60 chars>"``, cut to ``max_tokens`` words with
  ``stop_reason: "max_tokens"`` (else ``"end_turn"``).

A ``reasoning`` behaviour or ``thinking: {"type": "enabled"}`` adds a ``thinking`` block (with a
signature) first. Usage counts words like the chat route: of the prompt, half is reported as a cache
read and a quarter as a cache write, and ``input_tokens`` is the rest (Anthropic counts them apart).
"""

from __future__ import annotations

import json
from typing import Any

from .behaviours import Behaviour
from .chat import example_for, pieces
from .responses import model_of, new_id, stable_id, text_of, words

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def error_body(status: int, message: str) -> dict[str, Any]:
    """Anthropic's error envelope: ``{"type": "error", "error": {"type", "message"}}``."""
    return {"type": "error", "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message}}


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _last(body: dict[str, Any]) -> dict[str, Any]:
    messages = body.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        return messages[-1]
    return {"role": "user", "content": ""}


def _said(message: dict[str, Any]) -> tuple[str, bool]:
    """The text of a message, and whether it answers a tool call (then: the tool's result text)."""
    blocks = _blocks(message.get("content"))
    results = [b for b in blocks if b.get("type") == "tool_result"]
    if results:
        content = results[-1].get("content")
        return (content if isinstance(content, str) else text_of(content)), True
    return text_of(blocks), False


def input_text(body: dict[str, Any]) -> str:
    """The text of the last message (for ``[fake:…]`` markers)."""
    return _said(_last(body))[0]


def _system_words(system: Any) -> int:
    if isinstance(system, str):
        return words(system)
    return words(text_of(system)) if isinstance(system, list) else 0


def _chosen_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and t.get("name")]
    choice = body.get("tool_choice")
    if not tools or (isinstance(choice, dict) and choice.get("type") == "none"):
        return None
    if isinstance(choice, dict) and choice.get("name"):
        return next((t for t in tools if t.get("name") == choice["name"]), tools[0])
    return tools[0]


def message(body: dict[str, Any], behaviour: Behaviour) -> dict[str, Any]:
    """The ``message`` object."""
    last = _last(body)
    said, is_tool_result = _said(last)
    content: list[dict[str, Any]] = []
    thinking = isinstance(body.get("thinking"), dict) and body["thinking"].get("type") == "enabled"
    output = 0
    if behaviour.reasoning or thinking:
        text = f"thinking about: {said[:40]}"
        output += words(text)
        content.append({"type": "thinking", "thinking": text, "signature": stable_id("sig_", text)})
    tool = None if is_tool_result or last.get("role") != "user" else _chosen_tool(body)
    if tool is not None:
        name = str(tool["name"])
        arguments = example_for(tool.get("input_schema") or {})
        content.append({"type": "tool_use", "id": stable_id("toolu_", name, said), "name": name, "input": arguments})
        stop, output = "tool_use", output + words(json.dumps(arguments)) + 5
    else:
        text = f"The tool said: {said[:80]}" if is_tool_result else f"echo: {said[:60]}"
        count = words(text)
        stop = "end_turn"
        limit = body.get("max_tokens")
        if isinstance(limit, int) and 0 < limit < count:
            text, stop, count = " ".join(text.split(" ")[:limit]), "max_tokens", limit
        content.append({"type": "text", "text": text})
        output += count
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    prompt = sum(words(_said(m)[0]) + 3 for m in messages) + _system_words(body.get("system"))
    read, write = prompt // 2, prompt // 4
    return {
        "id": new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": model_of(body),
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {
            "input_tokens": prompt - read - write,
            "cache_creation_input_tokens": write,
            "cache_read_input_tokens": read,
            "output_tokens": output,
        },
    }


def events(body: dict[str, Any], behaviour: Behaviour) -> list[dict[str, Any]]:
    """The stream's events: ``message_start``, per block ``content_block_start`` / ``_delta`` (text,
    thinking + signature, tool input JSON in two halves) / ``_stop``, ``message_delta``, ``message_stop``."""
    whole = message(body, behaviour)
    usage = whole["usage"]
    start = {**whole, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    out: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(whole["content"]):
        if block["type"] == "thinking":
            out.append({"type": "content_block_start", "index": index, "content_block": {**block, "thinking": ""}})
            out += [
                {"type": "content_block_delta", "index": index, "delta": {"type": "thinking_delta", "thinking": p}}
                for p in pieces(block["thinking"])
            ]
            signature = {"type": "signature_delta", "signature": block["signature"]}
            out.append({"type": "content_block_delta", "index": index, "delta": signature})
        elif block["type"] == "tool_use":
            out.append({"type": "content_block_start", "index": index, "content_block": {**block, "input": {}}})
            arguments = json.dumps(block["input"])
            half = len(arguments) // 2
            for piece in (arguments[:half], arguments[half:]):
                delta = {"type": "input_json_delta", "partial_json": piece}
                out.append({"type": "content_block_delta", "index": index, "delta": delta})
        else:
            out.append({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})
            out += [
                {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": p}}
                for p in pieces(block["text"])
            ]
        out.append({"type": "content_block_stop", "index": index})
    finish: dict[str, Any] = {"stop_reason": whole["stop_reason"], "stop_sequence": None}
    out.append({"type": "message_delta", "delta": finish, "usage": {"output_tokens": usage["output_tokens"]}})
    out.append({"type": "message_stop"})
    return out
