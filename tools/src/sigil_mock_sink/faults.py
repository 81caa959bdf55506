"""Fault injection for reliability tests: switchable at start (CLI) and at run time (``/api/v1/faults``)."""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Faults:
    """``unavailable_until``: answer 503 / UNAVAILABLE until then (``inf``: until cleared).
    ``delay_ms``: delay each ingest response. ``drop_connections``: close ingest connections without
    an answer. ``reject_fraction``: reject that share of items with ``fault injected``."""

    unavailable_until: float = 0.0
    delay_ms: float = 0.0
    drop_connections: bool = False
    reject_fraction: float = 0.0

    def unavailable(self) -> bool:
        return time.monotonic() < self.unavailable_until

    def reject_item(self) -> bool:
        return self.reject_fraction > 0 and random.random() < self.reject_fraction

    def update(self, data: dict[str, Any]) -> None:
        """Apply a JSON body: ``unavailable_seconds`` (number, or ``null`` for until cleared),
        ``unavailable`` (bool), ``delay_ms``, ``drop_connections``, ``reject_fraction``."""
        if "unavailable_seconds" in data:
            seconds = data["unavailable_seconds"]
            self.unavailable_until = float("inf") if seconds is None else time.monotonic() + float(seconds)
        if "unavailable" in data:
            self.unavailable_until = float("inf") if data["unavailable"] else 0.0
        if "delay_ms" in data:
            self.delay_ms = max(0.0, float(data["delay_ms"]))
        if "drop_connections" in data:
            self.drop_connections = bool(data["drop_connections"])
        if "reject_fraction" in data:
            fraction = float(data["reject_fraction"])
            if not 0.0 <= fraction <= 1.0:
                raise ValueError("reject_fraction must be between 0 and 1")
            self.reject_fraction = fraction

    def clear(self) -> None:
        self.update({"unavailable": False, "delay_ms": 0, "drop_connections": False, "reject_fraction": 0})

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        remaining = self.unavailable_until - time.monotonic()
        data["unavailable_until"] = None
        data["unavailable_seconds_left"] = None if remaining == float("inf") else max(0.0, round(remaining, 3))
        data["unavailable"] = self.unavailable()
        return data
