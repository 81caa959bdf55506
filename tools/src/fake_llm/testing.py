"""``FakeLLMProcess``: the fake upstream as a child process on a free loopback port, for tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from types import TracebackType
from typing import Any

from sigil_devstack.children import free_port, stop_process


class FakeLLMProcess:
    """``with FakeLLMProcess() as fake: fake.base_url`` → ``http://127.0.0.1:PORT/v1``; always stopped."""

    def __init__(self, *, port: int | None = None, latency_ms: float = 0.0, args: list[str] | None = None) -> None:
        self.port = port or free_port()
        self.latency_ms = latency_ms
        self.args = list(args or [])
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def start(self, timeout: float = 30.0) -> FakeLLMProcess:
        cmd = [sys.executable, "-m", "fake_llm", "--host", "127.0.0.1", "--port", str(self.port)]
        cmd += ["--latency-ms", str(self.latency_ms), *self.args]
        self.process = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ, PYTHONUNBUFFERED="1")
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"fake-llm exited with {self.process.returncode}: {err[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.root_url}/health", timeout=1):
                    return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.stop()
        raise TimeoutError("fake-llm did not become healthy")

    def _get(self, path: str, method: str = "GET") -> Any:
        req = urllib.request.Request(f"{self.root_url}{path}", method=method)
        with urllib.request.urlopen(req, timeout=5) as response:
            return json.loads(response.read())

    def requests(self) -> list[dict[str, Any]]:
        """What the fake received, oldest first: ``{"method", "path", "headers", "body"}``."""
        return list(self._get("/_fake/requests")["items"])

    def clear_requests(self) -> None:
        self._get("/_fake/requests", method="DELETE")

    def stats(self) -> dict[str, Any]:
        return dict(self._get("/_fake/stats"))

    def stop(self) -> None:
        stop_process(self.process)

    def __enter__(self) -> FakeLLMProcess:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
