"""Rate-limited problem reporting: one log line per kind of problem, never a log storm."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger("sigil_sdk_litellm")


class ProblemLog:
    """Logs the first occurrence of each problem key at WARNING, then at most one summary line per
    ``interval`` seconds with how many more occurred. Counts are kept for tests and metrics."""

    def __init__(self, interval: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._suppressed: dict[str, int] = {}
        self._last_logged: dict[str, float] = {}

    def report(self, key: str, message: str) -> None:
        now = self._clock()
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            last = self._last_logged.get(key)
            if last is not None and now - last < self._interval:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return
            suppressed = self._suppressed.pop(key, 0)
            self._last_logged[key] = now
        if suppressed:
            message = f"{message} ({suppressed} more since the last report)"
        logger.warning("sigil: %s", message)

    def count(self, key: str) -> int:
        with self._lock:
            return self._counts.get(key, 0)

    @property
    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)
