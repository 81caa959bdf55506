"""Garbage-collection time of a benchmarked proxy, for ``python -m bench.proxy_threads``.

On ``PYTHONPATH`` with ``BENCH_GC_PROBE=<file>`` set, every process started with it (the proxy's) records
the CPU time of each collection by generation (``gc.callbacks``) and rewrites ``<file>.<pid>`` as JSON
every half second. Without the variable it does nothing.
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

    def _timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            _started[0] = time.thread_time()
            return
        spent = time.thread_time() - _started[0]
        entry = _totals[info["generation"]]
        entry[0] += 1
        entry[1] += spent
        if info["generation"] == 2:
            _longest[0] = max(_longest[0], spent)

    def _write() -> None:
        path = f"{_target}.{os.getpid()}"
        while True:
            time.sleep(0.5)
            snapshot = {"collections": _totals, "longest_full": _longest[0], "cpu": time.process_time()}
            with open(path + ".tmp", "w") as out:
                json.dump(snapshot, out)
            os.replace(path + ".tmp", path)

    gc.callbacks.append(_timed)
    threading.Thread(target=_write, name="bench-gc-probe", daemon=True).start()
