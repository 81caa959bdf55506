"""``/v1/responses`` (OpenAI Responses API): the deterministic answer, whole or as the SSE event stream.

- ``input`` ends with a user message (or is a string) and the request has function ``tools``: one
  ``function_call`` output item (call id from the tool name and the text), ``status: "completed"``;
- ``input`` ends with a ``function_call_output``: ``"The tool said: <output, first 80 chars>"``;
- otherwise ``"echo: <last user text, first 60 chars>"``, cut to ``max_output_tokens`` words with
  ``status: "incomplete"`` and ``incomplete_details.reason: "max_output_tokens"``.

A ``reasoning`` behaviour (model name or marker) or a ``reasoning`` request parameter adds a reasoning
item with a summary first. Usage counts words like the chat route (half the input cached).
"""

from __future__ import annotations

import json
import time
from typing import Any

from .behaviours import Behaviour
from .chat import example_for, pieces
from .responses import model_of, new_id, stable_id, text_of, words


def _items(body: dict[str, Any]) -> list[dict[str, Any]]:
    raw = body.get("input")
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    return [item for item in raw or [] if isinstance(item, dict)] if isinstance(raw, list) else []


def _item_text(item: dict[str, Any]) -> str:
    if item.get("type") == "function_call_output":
        output = item.get("output")
        return output if isinstance(output, str) else text_of(output)
    return text_of(item.get("content"))


def input_text(body: dict[str, Any]) -> str:
    """The text of the last input item (for ``[fake:…]`` markers)."""
    items = _items(body)
    return _item_text(items[-1]) if items else ""


def _chosen_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and t.get("type") == "function"]
    choice = body.get("tool_choice")
    if not tools or choice == "none":
        return None
    if isinstance(choice, dict) and choice.get("name"):
        return next((t for t in tools if t.get("name") == choice["name"]), tools[0])
    return tools[0]


def response(body: dict[str, Any], behaviour: Behaviour) -> dict[str, Any]:
    """The completed ``response`` object."""
    items = _items(body)
    last = items[-1] if items else {"type": "message", "role": "user", "content": ""}
    said = _item_text(last)
    is_tool_result = last.get("type") == "function_call_output"
    output: list[dict[str, Any]] = []
    reasoning_tokens = 0
    if behaviour.reasoning or isinstance(body.get("reasoning"), dict):
        summary = f"thinking about: {said[:40]}"
        reasoning_tokens = words(summary)
        output.append(
            {"type": "reasoning", "id": new_id("rs_"), "summary": [{"type": "summary_text", "text": summary}]}
        )
    status, incomplete = "completed", None
    tool = None if is_tool_result or last.get("role", "user") != "user" else _chosen_tool(body)
    if tool is not None:
        name = str(tool.get("name") or "tool")
        arguments = json.dumps(example_for(tool.get("parameters") or {}), sort_keys=True)
        call_id = stable_id("call_", name, said)
        output.append(
            {
                "type": "function_call",
                "id": new_id("fc_"),
                "call_id": call_id,
                "name": name,
                "arguments": arguments,
                "status": "completed",
            }
        )
        completion = words(arguments) + 5
    else:
        text = f"The tool said: {said[:80]}" if is_tool_result else f"echo: {said[:60]}"
        completion = words(text)
        limit = body.get("max_output_tokens")
        if isinstance(limit, int) and 0 < limit < completion:
            text, completion = " ".join(text.split(" ")[:limit]), limit
            status, incomplete = "incomplete", {"reason": "max_output_tokens"}
        output.append(
            {
                "type": "message",
                "id": new_id("msg_"),
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        )
    completion += reasoning_tokens
    instructions = body.get("instructions")
    prompt = sum(words(_item_text(i)) + 3 for i in items) + (
        words(instructions) if isinstance(instructions, str) else 0
    )
    return {
        "id": new_id("resp_"),
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "error": None,
        "incomplete_details": incomplete,
        "instructions": instructions if isinstance(instructions, str) else None,
        "max_output_tokens": body.get("max_output_tokens"),
        "model": model_of(body),
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": False,
        "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "metadata": {},
        "usage": {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": prompt // 2},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": prompt + completion,
        },
    }


def events(body: dict[str, Any], behaviour: Behaviour) -> list[dict[str, Any]]:
    """The stream's events, each with ``type`` and ``sequence_number`` (the server adds ``event:`` lines).

    ``response.created`` / ``response.in_progress``, then per output item ``output_item.added``, its
    deltas (reasoning summary text, output text, function call arguments in two halves) and
    ``output_item.done``, then ``response.completed`` (or ``response.incomplete``) with the whole response.
    """
    whole = response(body, behaviour)
    shell = {**whole, "status": "in_progress", "output": [], "usage": None, "incomplete_details": None}
    out: list[dict[str, Any]] = [
        {"type": "response.created", "response": shell},
        {"type": "response.in_progress", "response": shell},
    ]
    for index, item in enumerate(whole["output"]):
        head = {"output_index": index, "item_id": item["id"]}
        if item["type"] == "reasoning":
            text = item["summary"][0]["text"]
            part = {"type": "summary_text", "text": ""}
            out.append({"type": "response.output_item.added", "output_index": index, "item": {**item, "summary": []}})
            out.append({"type": "response.reasoning_summary_part.added", **head, "summary_index": 0, "part": part})
            out += [
                {"type": "response.reasoning_summary_text.delta", **head, "summary_index": 0, "delta": p}
                for p in pieces(text)
            ]
            out.append({"type": "response.reasoning_summary_text.done", **head, "summary_index": 0, "text": text})
            done_part = {"type": "summary_text", "text": text}
            out.append({"type": "response.reasoning_summary_part.done", **head, "summary_index": 0, "part": done_part})
        elif item["type"] == "function_call":
            arguments = item["arguments"]
            added = {**item, "arguments": "", "status": "in_progress"}
            out.append({"type": "response.output_item.added", "output_index": index, "item": added})
            half = len(arguments) // 2
            for piece in (arguments[:half], arguments[half:]):
                out.append({"type": "response.function_call_arguments.delta", **head, "delta": piece})
            out.append({"type": "response.function_call_arguments.done", **head, "arguments": arguments})
        else:
            text = item["content"][0]["text"]
            added = {**item, "status": "in_progress", "content": []}
            out.append({"type": "response.output_item.added", "output_index": index, "item": added})
            empty = {"type": "output_text", "text": "", "annotations": []}
            out.append({"type": "response.content_part.added", **head, "content_index": 0, "part": empty})
            out += [
                {"type": "response.output_text.delta", **head, "content_index": 0, "delta": p, "logprobs": []}
                for p in pieces(text)
            ]
            out.append({"type": "response.output_text.done", **head, "content_index": 0, "text": text, "logprobs": []})
            out.append({"type": "response.content_part.done", **head, "content_index": 0, "part": item["content"][0]})
        out.append({"type": "response.output_item.done", "output_index": index, "item": item})
    final = "response.completed" if whole["status"] == "completed" else "response.incomplete"
    out.append({"type": final, "response": whole})
    return [{**event, "sequence_number": number} for number, event in enumerate(out)]
