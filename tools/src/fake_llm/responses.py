"""Deterministic OpenAI-style answers: what the fake upstream says, as plain functions of the request."""

from __future__ import annotations

import hashlib
import json
import math
import time
from typing import Any

ERROR_STATUSES = {"error-500": 500, "error-429": 429, "error-400": 400, "error-401": 401, "error-503": 503}


def words(text: str) -> int:
    return max(1, len(text.split()))


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(words(text_of(m.get("content"))) + 3 for m in messages if isinstance(m, dict))


def stable_id(prefix: str, *parts: Any) -> str:
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return f"{prefix}{digest[:24]}"


def error_for(model: str) -> tuple[int, dict[str, Any]] | None:
    """Models whose name contains ``error-<status>`` fail with that status and an OpenAI error body."""
    for marker, status in ERROR_STATUSES.items():
        if marker in model:
            kind = {429: "rate_limit_exceeded", 400: "invalid_request_error", 401: "invalid_api_key"}.get(
                status, "server_error"
            )
            message = f"fake upstream: {marker} requested by the model name"
            return status, {"error": {"message": message, "type": kind, "param": None, "code": kind}}
    return None


def usage(prompt: int, completion: int, reasoning: int = 0) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": prompt // 2, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0},
    }


def _arguments_for(tool: dict[str, Any]) -> str:
    params = (tool.get("function") or {}).get("parameters") or {}
    props = params.get("properties") or {}
    args: dict[str, Any] = {}
    for name, schema in props.items():
        kind = (schema or {}).get("type")
        args[name] = {"integer": 1, "number": 1.5, "boolean": True, "array": [], "object": {}}.get(kind, "fake")
    return json.dumps(args, sort_keys=True)


def chat_answer(body: dict[str, Any]) -> dict[str, Any]:
    """The assistant message, finish reason and usage for a chat request."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    model = str(body.get("model") or "fake-model")
    last = messages[-1] if messages else {"role": "user", "content": ""}
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
    message: dict[str, Any] = {"role": "assistant", "content": None}
    reasoning = 0
    if tools and last.get("role") == "user" and body.get("tool_choice") != "none":
        tool = tools[0]
        name = (tool.get("function") or {}).get("name", "tool")
        message["tool_calls"] = [
            {
                "id": stable_id("call_", name, text_of(last.get("content"))),
                "type": "function",
                "function": {"name": name, "arguments": _arguments_for(tool)},
            }
        ]
        finish = "tool_calls"
        completion = 12
    else:
        if last.get("role") == "tool":
            text = f"The tool said: {text_of(last.get('content'))[:80]}"
        else:
            text = f"echo: {text_of(last.get('content'))[:60]}"
        message["content"] = text
        finish = "stop"
        completion = words(text)
        if "reasoning" in model:
            message["reasoning_content"] = f"thinking about: {text_of(last.get('content'))[:40]}"
            reasoning = words(message["reasoning_content"])
            completion += reasoning
    max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
    if isinstance(max_tokens, int) and 0 < max_tokens < completion and message.get("content"):
        message["content"] = " ".join(message["content"].split()[:max_tokens])
        completion = max_tokens
        finish = "length"
    return {"message": message, "finish_reason": finish, "usage": usage(prompt_tokens(messages), completion, reasoning)}


def chat_completion(body: dict[str, Any]) -> dict[str, Any]:
    answer = chat_answer(body)
    return {
        "id": stable_id("chatcmpl-", body.get("messages"), time.time_ns()),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(body.get("model") or "fake-model"),
        "system_fingerprint": "fake-llm",
        "choices": [{"index": 0, "message": answer["message"], "finish_reason": answer["finish_reason"]}],
        "usage": answer["usage"],
    }


def chat_chunks(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The SSE chunks of a streamed chat answer (without the final ``[DONE]``)."""
    answer = chat_answer(body)
    model = str(body.get("model") or "fake-model")
    base = {
        "id": stable_id("chatcmpl-", body.get("messages"), time.time_ns()),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fake-llm",
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    chunks = [chunk({"role": "assistant", "content": ""})]
    message = answer["message"]
    if message.get("reasoning_content"):
        chunks.append(chunk({"reasoning_content": message["reasoning_content"]}))
    if message.get("tool_calls"):
        call = message["tool_calls"][0]
        chunks.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": call["function"]["name"], "arguments": ""},
                        }
                    ]
                }
            )
        )
        arguments = call["function"]["arguments"]
        half = len(arguments) // 2
        for piece in (arguments[:half], arguments[half:]):
            chunks.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
    else:
        for word in str(message.get("content") or "").split(" "):
            chunks.append(chunk({"content": word + " "}))
    chunks.append(chunk({}, answer["finish_reason"]))
    options = body.get("stream_options") or {}
    if isinstance(options, dict) and options.get("include_usage"):
        chunks.append({**base, "choices": [], "usage": answer["usage"]})
    return chunks


def text_completion(body: dict[str, Any]) -> dict[str, Any]:
    prompt = body.get("prompt")
    prompt_text = prompt if isinstance(prompt, str) else " ".join(map(str, prompt or []))
    text = f" and then: {prompt_text[:40]}"
    return {
        "id": stable_id("cmpl-", prompt_text, time.time_ns()),
        "object": "text_completion",
        "created": int(time.time()),
        "model": str(body.get("model") or "fake-model"),
        "choices": [{"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}],
        "usage": usage(words(prompt_text), words(text)),
    }


def embedding(body: dict[str, Any]) -> dict[str, Any]:
    raw = body.get("input")
    inputs = [raw] if isinstance(raw, (str, int)) else list(raw or [])
    dimensions = body.get("dimensions") if isinstance(body.get("dimensions"), int) else 8
    data = []
    for index, item in enumerate(inputs):
        digest = hashlib.sha256(str(item).encode()).digest()
        vector = [((digest[i % len(digest)] / 255.0) - 0.5) for i in range(dimensions)]
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        data.append({"object": "embedding", "index": index, "embedding": [v / norm for v in vector]})
    tokens = sum(words(str(i)) for i in inputs)
    return {
        "object": "list",
        "model": str(body.get("model") or "fake-embedding"),
        "data": data,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
