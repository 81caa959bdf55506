"""Pieces shared by every answer: token counting, usage blocks, ids, error bodies, the text of a request."""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
from typing import Any

_RUN = secrets.token_hex(3)  # ids differ between runs of the fake, and are unique within one
_COUNTER = itertools.count(1)

ERROR_KINDS = {
    400: ("invalid_request_error", "invalid_request_error"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


def words(text: str) -> int:
    """The fake tokenizer: one token per whitespace-separated word, at least one."""
    return max(1, len(text.split()))


def text_of(content: Any) -> str:
    """The text of a message's ``content``: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and "text" in p)
    return ""


def last_message(body: dict[str, Any]) -> dict[str, Any]:
    messages = body.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        return messages[-1]
    return {"role": "user", "content": ""}


def prompt_text(body: dict[str, Any]) -> str:
    """What the request says, for markers: the last chat message, the prompt, or the embedding input."""
    if "messages" in body:
        return text_of(last_message(body).get("content"))
    value = body.get("prompt", body.get("input"))
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(v for v in value if isinstance(v, str))
    return ""


def model_of(body: dict[str, Any], default: str = "fake-model") -> str:
    model = body.get("model")
    return model if isinstance(model, str) and model else default


def new_id(prefix: str) -> str:
    """A response id, unique per run (no hashing of the request: this is on every request's path)."""
    return f"{prefix}{_RUN}{next(_COUNTER):08x}"


def stable_id(prefix: str, *parts: Any) -> str:
    """An id derived from ``parts`` only: the same input gives the same id (used for tool call ids)."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return f"{prefix}{digest[:24]}"


def usage(prompt: int, completion: int, reasoning: int = 0) -> dict[str, Any]:
    """An OpenAI usage block; half the prompt counts as cached so cache accounting is always exercised."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": prompt // 2, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def error_body(status: int, message: str) -> dict[str, Any]:
    """OpenAI's error envelope: ``{"error": {"message", "type", "param", "code"}}``."""
    kind, code = ERROR_KINDS.get(status, ("server_error", "server_error"))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}
