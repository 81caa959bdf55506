"""``/v1/chat/completions``: the deterministic answer to a chat request, whole or as stream chunks.

- last message from the user, request has ``tools`` (and ``tool_choice`` is not ``"none"``): one call
  to the first tool (or the one ``tool_choice`` names), ``finish_reason: "tool_calls"``, a call id
  derived from the tool name and the user's text, arguments built from the tool's parameter schema;
- last message is a tool result: ``"The tool said: <result, first 80 chars>"``;
- otherwise: ``"echo: <last message, first 60 chars>"`` (a JSON object for ``response_format``
  ``json_object`` / ``json_schema``), cut to ``max_tokens`` words with ``finish_reason: "length"``.

Usage counts words: each message's words + 3, the answer's words (+ reasoning words); half the prompt
is reported as cached.
"""

from __future__ import annotations

import json
import time
from typing import Any

from .behaviours import Behaviour
from .responses import last_message, model_of, new_id, stable_id, text_of, usage, words

_EXAMPLES = {"string": "fake", "integer": 1, "number": 1.5, "boolean": True, "null": None}


def example_for(schema: Any, depth: int = 0) -> Any:
    """A value that fits a JSON schema well enough for a fake: first enum value, "fake" for strings, …"""
    if not isinstance(schema, dict) or depth > 8:
        return "fake"
    if "enum" in schema and isinstance(schema["enum"], list) and schema["enum"]:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties") or {}
        return {name: example_for(sub, depth + 1) for name, sub in props.items()}
    if kind == "array":
        return [example_for(schema.get("items"), depth + 1)] if isinstance(schema.get("items"), dict) else []
    for combined in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(combined), list) and schema[combined]:
            return example_for(schema[combined][0], depth + 1)
    return _EXAMPLES.get(str(kind), "fake")


def _chosen_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and isinstance(t.get("function"), dict)]
    choice = body.get("tool_choice")
    if not tools or choice == "none":
        return None
    if isinstance(choice, dict):
        wanted = (choice.get("function") or {}).get("name")
        return next((t for t in tools if t["function"].get("name") == wanted), tools[0])
    return tools[0]


def _structured(body: dict[str, Any], text: str) -> str | None:
    fmt = body.get("response_format")
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_object":
        return json.dumps({"echo": text})
    if fmt.get("type") == "json_schema":
        return json.dumps(example_for((fmt.get("json_schema") or {}).get("schema")))
    return None


def answer(body: dict[str, Any], behaviour: Behaviour) -> dict[str, Any]:
    """``{"message", "finish_reason", "usage"}`` for a chat request."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    last = last_message(body)
    said = text_of(last.get("content"))
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    tool = _chosen_tool(body) if last.get("role") == "user" else None
    if tool is not None:
        name = str(tool["function"].get("name") or "tool")
        arguments = json.dumps(example_for(tool["function"].get("parameters") or {}), sort_keys=True)
        function = {"name": name, "arguments": arguments}
        message["tool_calls"] = [{"id": stable_id("call_", name, said), "type": "function", "function": function}]
        finish, completion = "tool_calls", words(arguments) + 5
    else:
        text = f"The tool said: {said[:80]}" if last.get("role") == "tool" else f"echo: {said[:60]}"
        text = _structured(body, said[:60]) or text
        finish, completion = "stop", words(text)
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if isinstance(limit, int) and 0 < limit < completion:
            text, finish, completion = " ".join(text.split(" ")[:limit]), "length", limit
        message["content"] = text
    reasoning = 0
    if behaviour.reasoning:
        message["reasoning_content"] = f"thinking about: {said[:40]}"
        reasoning = words(message["reasoning_content"])
        completion += reasoning
    prompt = sum(words(text_of(m.get("content"))) + 3 for m in messages)
    return {"message": message, "finish_reason": finish, "usage": usage(prompt, completion, reasoning)}


def completion(body: dict[str, Any], behaviour: Behaviour) -> dict[str, Any]:
    """The ``chat.completion`` object."""
    result = answer(body, behaviour)
    return {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model_of(body),
        "system_fingerprint": "fp_fake_llm",
        "choices": [
            {"index": 0, "message": result["message"], "logprobs": None, "finish_reason": result["finish_reason"]}
        ],
        "usage": result["usage"],
    }


def pieces(text: str) -> list[str]:
    """``text`` in word-sized pieces whose concatenation is exactly ``text``."""
    parts = text.split(" ")
    return [p + " " for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def chunks(body: dict[str, Any], behaviour: Behaviour) -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a streamed answer (the server adds ``data: [DONE]``).

    Role first, then reasoning and content (or the tool call: id and name, then the arguments in two
    halves), then an empty delta with the finish reason; with ``stream_options.include_usage`` every
    chunk has ``"usage": null`` and a last chunk with no choices carries the usage.
    """
    result = answer(body, behaviour)
    options = body.get("stream_options")
    with_usage = isinstance(options, dict) and bool(options.get("include_usage"))
    base: dict[str, Any] = {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model_of(body),
        "system_fingerprint": "fp_fake_llm",
    }
    if with_usage:
        base["usage"] = None

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    message = result["message"]
    out = [chunk({"role": "assistant", "content": "", "refusal": None})]
    out += [chunk({"reasoning_content": p}) for p in pieces(message.get("reasoning_content") or "")]
    if message.get("tool_calls"):
        call = message["tool_calls"][0]
        head = {"index": 0, "id": call["id"], "type": "function"}
        out.append(chunk({"tool_calls": [{**head, "function": {"name": call["function"]["name"], "arguments": ""}}]}))
        arguments = call["function"]["arguments"]
        half = len(arguments) // 2
        for part in (arguments[:half], arguments[half:]):
            out.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]}))
    else:
        out += [chunk({"content": p}) for p in pieces(message.get("content") or "")]
    out.append(chunk({}, result["finish_reason"]))
    if with_usage:
        out.append({**base, "choices": [], "usage": result["usage"]})
    return out
