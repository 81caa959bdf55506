"""Special behaviours, chosen by the request itself so that any caller (a test, the proxy) can pick them.

A behaviour is named by a token, found either in the **model name** (case-insensitive; the part after
``openai/`` is what reaches the fake) or in a **marker** ``[fake:TOKEN]`` in the last message (chat),
the prompt (completions) or the input (embeddings). Markers let a test choose a behaviour through a
proxy whose ``model_list`` only has ordinary names. Tokens:

``error-NNN``
    answer HTTP ``NNN`` (400-599) with an OpenAI-style error body, e.g. ``error-500``, ``error-429``,
    ``error-400``, ``error-401``, ``error-503``; streamed requests fail the same way, before any chunk.
``reasoning``
    chat answers carry ``reasoning_content`` (message field, and deltas before the content when streamed)
    and count ``completion_tokens_details.reasoning_tokens``.
``slow`` / ``slow-MS``
    streamed answers wait ``MS`` milliseconds (default 50) between chunks.
``latency-MS``
    wait ``MS`` milliseconds before answering (on top of ``--latency-ms``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace

MARKER = "[fake:"
DEFAULT_SLOW_MS = 50.0

_TOKEN = re.compile(r"error-(\d{3})|reasoning|slow(?:-(\d+))?|latency-(\d+)")
_MARKER = re.compile(r"\[fake:([^\]]*)\]")


@dataclass(frozen=True)
class Behaviour:
    """What is special about one request; the default instance means: nothing."""

    error_status: int | None = None
    reasoning: bool = False
    chunk_delay_ms: float = 0.0
    latency_ms: float = 0.0

    def merge(self, other: Behaviour) -> Behaviour:
        if other == NORMAL:
            return self
        return replace(
            self,
            error_status=other.error_status or self.error_status,
            reasoning=self.reasoning or other.reasoning,
            chunk_delay_ms=max(self.chunk_delay_ms, other.chunk_delay_ms),
            latency_ms=max(self.latency_ms, other.latency_ms),
        )


NORMAL = Behaviour()


def _parse(text: str) -> Behaviour:
    found = NORMAL
    for match in _TOKEN.finditer(text.lower()):
        error, slow_ms, latency_ms = match.groups()
        token = match.group(0)
        if error is not None and 400 <= int(error) <= 599:
            found = replace(found, error_status=int(error))
        elif token == "reasoning":
            found = replace(found, reasoning=True)
        elif token.startswith("slow"):
            found = replace(found, chunk_delay_ms=float(slow_ms) if slow_ms else DEFAULT_SLOW_MS)
        elif latency_ms is not None:
            found = replace(found, latency_ms=float(latency_ms))
    return found


@functools.lru_cache(maxsize=1024)
def for_model(model: str) -> Behaviour:
    """The behaviour a model name selects (cached: benchmarks send the same few names)."""
    return _parse(model)


def for_request(model: str, text: str) -> Behaviour:
    """The model name's behaviour, plus any ``[fake:…]`` markers in ``text``."""
    behaviour = for_model(model)
    if MARKER in text:
        for marker in _MARKER.findall(text):
            behaviour = behaviour.merge(_parse(marker))
    return behaviour
