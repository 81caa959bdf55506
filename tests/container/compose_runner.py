"""The compose stack's test profile: run the shared OpenAI-SDK scenarios against a running proxy.

``python -m tests.container.compose_runner`` inside the ``test-runner`` service (PROXY_URL, SINK_URL and
LITELLM_MASTER_KEY from its environment); exits 0 when every scenario passed. It uses only what the
image already has (the ``openai`` client comes with LiteLLM), not pytest.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
import time
import traceback
import urllib.error
import urllib.request

from tests.scenarios import SCENARIOS, SinkReader, Target


def wait_live(url: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=3):
                return
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def main() -> int:
    proxy, sink = os.environ["PROXY_URL"], os.environ["SINK_URL"]
    wait_live(f"{proxy}/health/liveliness")
    wait_live(f"{sink}/readyz")
    target = Target(proxy, os.environ["LITELLM_MASTER_KEY"], SinkReader(sink))
    failed = []
    for name, scenario in SCENARIOS.items():
        started = time.monotonic()
        try:
            result = scenario(target)
            if inspect.isawaitable(result):
                asyncio.run(result)  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - report every scenario, then fail
            failed.append(name)
            print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)
        else:
            print(f"ok   {name} ({time.monotonic() - started:.1f}s)", flush=True)
    print(f"{len(SCENARIOS) - len(failed)}/{len(SCENARIOS)} scenarios passed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
