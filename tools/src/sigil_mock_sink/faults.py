"""Fault injection for reliability tests, switchable at start (CLI / ``SINK_*``) and at run time
(``POST /api/v1/faults`` with a JSON object, ``DELETE /api/v1/faults`` to clear).

Faults apply to the ingest endpoints only (HTTP and gRPC), in this order: ``delay_ms``, then
``drop_connections``, then ``unavailable`` / ``fail_next`` (an error status), then — once a request is
admitted — ``reject_fraction`` per item. Read-back, health and the page are never faulted.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import grpc

# the statuses a fault may answer with, and what a gRPC client sees instead
GRPC_CODES = {
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    500: grpc.StatusCode.INTERNAL,
    502: grpc.StatusCode.UNAVAILABLE,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}
REJECTED_BY_FAULT = "fault injected: item rejected"
KEYS = (
    "unavailable_seconds",
    "unavailable",
    "fail_next",
    "error_status",
    "delay_ms",
    "drop_connections",
    "reject_fraction",
)


def check_keys(data: Any, known: tuple[str, ...], kind: str) -> None:
    """ValueError naming the first unknown key of ``data`` (``kind``: what the keys are, e.g. "fault")."""
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"unknown {kind} {unknown[0]!r} (known: {', '.join(known)})")


def as_bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"{key} must be true or false")


def as_choice(value: Any, key: str, choices: Collection[int]) -> int:
    if isinstance(value, bool) or value not in choices:
        raise ValueError(f"{key} must be one of {', '.join(map(str, choices))}")
    return int(value)


def as_number(value: Any, key: str, low: float, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"{key} must be a number from {low:g}" + ("" if high == math.inf else f" to {high:g}"))
    return float(value)


@dataclass
class Faults:
    """The current faults. ``unavailable_until`` is a ``time.monotonic()`` deadline (``inf``: until
    cleared); ``fail_next`` counts the ingest requests still to fail; both answer ``error_status``."""

    unavailable_until: float = 0.0
    fail_next: int = 0
    error_status: int = 503
    delay_ms: float = 0.0
    drop_connections: bool = False
    reject_fraction: float = 0.0
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def error(self) -> int | None:
        """The status to answer this ingest request with, or None to serve it (counts ``fail_next``)."""
        if time.monotonic() < self.unavailable_until:
            return self.error_status
        if self.fail_next > 0:
            self.fail_next -= 1
            return self.error_status
        return None

    def unavailable(self) -> bool:
        return time.monotonic() < self.unavailable_until

    def reject_item(self) -> bool:
        return self.reject_fraction > 0 and self._random.random() < self.reject_fraction

    def update(self, data: dict[str, Any]) -> None:
        """Apply a JSON object; every key is optional, unknown keys and bad values raise ValueError
        (and change nothing):

        ``unavailable_seconds`` (number; ``null``: until cleared) or ``unavailable`` (bool): answer
        ``error_status`` for that long; ``fail_next`` (int): answer ``error_status`` to that many
        requests; ``error_status`` (429, 500, 502, 503 or 504; default 503); ``delay_ms``: delay each
        answer; ``drop_connections`` (bool): close the connection without an answer;
        ``reject_fraction`` (0..1): reject that share of items with ``fault injected: item rejected``.
        """
        check_keys(data, KEYS, "fault")
        changes: dict[str, Any] = {}
        if "unavailable_seconds" in data:
            seconds = data["unavailable_seconds"]
            until = math.inf if seconds is None else time.monotonic() + as_number(seconds, "unavailable_seconds", 0)
            changes["unavailable_until"] = until
        if "unavailable" in data:
            changes["unavailable_until"] = math.inf if as_bool(data["unavailable"], "unavailable") else 0.0
        if "fail_next" in data:
            changes["fail_next"] = int(as_number(data["fail_next"], "fail_next", 0))
        if "error_status" in data:
            changes["error_status"] = as_choice(data["error_status"], "error_status", GRPC_CODES)
        if "delay_ms" in data:
            changes["delay_ms"] = as_number(data["delay_ms"], "delay_ms", 0, 600_000)
        if "drop_connections" in data:
            changes["drop_connections"] = as_bool(data["drop_connections"], "drop_connections")
        if "reject_fraction" in data:
            changes["reject_fraction"] = as_number(data["reject_fraction"], "reject_fraction", 0, 1)
        for key, value in changes.items():
            setattr(self, key, value)

    def clear(self) -> None:
        self.unavailable_until = 0.0
        self.fail_next = 0
        self.error_status = 503
        self.delay_ms = 0.0
        self.drop_connections = False
        self.reject_fraction = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The state as ``GET /api/v1/faults`` shows it."""
        remaining = self.unavailable_until - time.monotonic()
        return {
            "unavailable": remaining > 0,
            "unavailable_seconds_left": None if remaining == math.inf else round(max(0.0, remaining), 3),
            "fail_next": self.fail_next,
            "error_status": self.error_status,
            "delay_ms": self.delay_ms,
            "drop_connections": self.drop_connections,
            "reject_fraction": self.reject_fraction,
        }
