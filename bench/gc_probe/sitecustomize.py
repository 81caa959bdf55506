"""Garbage-collection time of a benchmarked proxy, for ``python -m bench.proxy_threads``.

On ``PYTHONPATH`` with ``BENCH_GC_PROBE=<file>`` set, every process started with it (the proxy's) records
the CPU time of each collection by generation (``gc.callbacks``) and rewrites ``<file>.<pid>`` as JSON
every half second. Without the variable it does nothing. With ``BENCH_HANDLER_PROBE=1`` too, it also
times our in-process handler (``SecretRedactingLogger.handle_event``: the thread's CPU inside it, less the
collections that fell inside it): what an event costs in the proxy, beside what it costs replayed.
"""

from __future__ import annotations

import gc
import json
import os
import threading
import time
from typing import Any

_target = os.environ.get("BENCH_GC_PROBE")
if _target:
    _totals: dict[int, list[float]] = {0: [0, 0.0], 1: [0, 0.0], 2: [0, 0.0]}
    _started = [0.0]
    _longest = [0.0]
    _handler = [0, 0.0]  # events, CPU seconds in the handler less the collections inside it
    _inside = [False]

    def _timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            _started[0] = time.thread_time()
            return
        spent = time.thread_time() - _started[0]
        if _inside[0]:
            _handler[1] -= spent
        entry = _totals[info["generation"]]
        entry[0] += 1
        entry[1] += spent
        if info["generation"] == 2:
            _longest[0] = max(_longest[0], spent)

    def _write() -> None:
        path = f"{_target}.{os.getpid()}"
        while True:
            time.sleep(0.5)
            snapshot = {
                "collections": _totals,
                "longest_full": _longest[0],
                "cpu": time.process_time(),
                "handler": _handler,
            }
            with open(path + ".tmp", "w") as out:
                json.dump(snapshot, out)
            os.replace(path + ".tmp", path)

    gc.callbacks.append(_timed)
    if os.environ.get("BENCH_HANDLER_PROBE"):
        from sigil_sdk_litellm.proxy.redacting_handler import SecretRedactingLogger

        _handle = SecretRedactingLogger.handle_event

        def _timed_handler(self: Any, kwargs: Any, response_obj: Any, *, failed: bool) -> None:
            _inside[0] = True
            start = time.thread_time()
            try:
                _handle(self, kwargs, response_obj, failed=failed)
            finally:
                _handler[1] += time.thread_time() - start
                _handler[0] += 1
                _inside[0] = False

        SecretRedactingLogger.handle_event = _timed_handler  # type: ignore[method-assign]
    threading.Thread(target=_write, name="bench-gc-probe", daemon=True).start()
