"""``/v1/embeddings``: a unit vector per input, derived from a hash of that input (same input, same vector).

``input`` may be a string, a list of strings, a list of token ids (one input) or a list of such lists.
``dimensions`` sets the length (default: the server's ``--embedding-dimensions``, 8). With
``encoding_format: "base64"`` (what the official openai client asks for by default) each vector is
base64 of little-endian float32, as OpenAI sends it; otherwise a list of floats.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import math
import struct
from typing import Any

from .responses import model_of, words

MAX_DIMENSIONS = 8192


def inputs(body: dict[str, Any]) -> list[str | list[int]]:
    raw = body.get("input")
    if isinstance(raw, (str, int)):
        return [str(raw)]
    if isinstance(raw, list) and raw and all(isinstance(i, int) for i in raw):
        return [raw]
    if isinstance(raw, list):
        return [item if isinstance(item, list) else str(item) for item in raw]
    return []


@functools.lru_cache(maxsize=4096)
def vector(key: str, dimensions: int) -> tuple[float, ...]:
    """The unit vector of ``key``: SHAKE-256 bytes mapped to [-1, 1], then normalised."""
    raw = hashlib.shake_256(key.encode()).digest(dimensions)
    values = [(b - 127.5) / 127.5 for b in raw]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return tuple(v / norm for v in values)


@functools.lru_cache(maxsize=4096)
def encoded(key: str, dimensions: int) -> str:
    values = vector(key, dimensions)
    return base64.b64encode(struct.pack(f"<{dimensions}f", *values)).decode()


def response(body: dict[str, Any], default_dimensions: int = 8) -> dict[str, Any]:
    """The embeddings ``list`` object with usage (one token per word, or per token id)."""
    wanted = body.get("dimensions")
    dimensions = wanted if isinstance(wanted, int) and 0 < wanted <= MAX_DIMENSIONS else default_dimensions
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    tokens = 0
    for index, item in enumerate(inputs(body)):
        key = item if isinstance(item, str) else "tokens:" + ",".join(map(str, item))
        tokens += words(item) if isinstance(item, str) else max(1, len(item))
        embedding: Any = encoded(key, dimensions) if as_base64 else list(vector(key, dimensions))
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    return {
        "object": "list",
        "model": model_of(body, "fake-embedding"),
        "data": data,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
