"""``/v1/completions`` (legacy text completion): ``" and then: <prompt, first 40 chars>"`` per prompt.

A list of strings is several prompts, answered by one choice each (``index`` = position); a list of
token ids is one prompt. Streamed: one chunk per word per choice, a finish chunk per choice, and with
``stream_options.include_usage`` a last chunk with no choices and the usage.
"""

from __future__ import annotations

import time
from typing import Any

from .chat import pieces
from .responses import model_of, new_id, usage, words


def prompts(body: dict[str, Any]) -> list[str]:
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        return [prompt]
    if isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
        return list(prompt)
    if isinstance(prompt, list):
        return [" ".join(map(str, prompt))]
    return [""]


def completion(body: dict[str, Any]) -> dict[str, Any]:
    """The ``text_completion`` object."""
    texts = prompts(body)
    answers = [f" and then: {p[:40]}" for p in texts]
    return {
        "id": new_id("cmpl-"),
        "object": "text_completion",
        "created": int(time.time()),
        "model": model_of(body),
        "system_fingerprint": "fp_fake_llm",
        "choices": [
            {"index": i, "text": text, "logprobs": None, "finish_reason": "stop"} for i, text in enumerate(answers)
        ],
        "usage": usage(sum(words(p) for p in texts), sum(words(a) for a in answers)),
    }


def chunks(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The streamed form of :func:`completion` (the server adds ``data: [DONE]``)."""
    whole = completion(body)
    base = {key: whole[key] for key in ("id", "object", "created", "model", "system_fingerprint")}

    def chunk(index: int, text: str, finish: str | None) -> dict[str, Any]:
        return {**base, "choices": [{"index": index, "text": text, "logprobs": None, "finish_reason": finish}]}

    out = []
    for choice in whole["choices"]:
        out += [chunk(choice["index"], piece, None) for piece in pieces(choice["text"])]
        out.append(chunk(choice["index"], "", "stop"))
    options = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage"):
        out.append({**base, "choices": [], "usage": whole["usage"]})
    return out
