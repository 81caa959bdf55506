"""``python -m tests.container.engine``: say whether the container tests will run, and with what engine."""

from __future__ import annotations

from tests.container.conftest import detected

if __name__ == "__main__":
    engine, why = detected()
    if engine is None:
        print(f"container tests: SKIPPED — {why}", flush=True)
    else:
        print(f"container tests: will run with {engine.name} ({engine.cli})", flush=True)
