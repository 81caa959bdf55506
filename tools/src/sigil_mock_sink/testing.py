"""``SinkProcess``: the mock sink as a child process on free loopback ports, for tests and benchmarks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from types import TracebackType
from typing import Any

from sigil_devstack.children import free_port, stop_process


class SinkProcess:
    """``with SinkProcess(auth="tenant") as sink:`` — ``sink.http_url``, ``sink.grpc_target``, read-back
    helpers; the process is always stopped on exit. Credentials travel by environment, never argv."""

    def __init__(
        self,
        *,
        auth: str = "tenant",
        bearer_token: str = "",
        basic_user: str = "",
        basic_password: str = "",
        http_port: int | None = None,
        grpc_port: int | None = None,
        db: str | None = None,
        max_items: int | None = None,
        args: list[str] | None = None,
    ) -> None:
        self.http_port = http_port or free_port()
        self.grpc_port = grpc_port or free_port()
        self.auth = auth
        self.db = db
        self.max_items = max_items
        self.args = list(args or [])
        self.env = dict(
            os.environ,
            PYTHONUNBUFFERED="1",
            SINK_BEARER_TOKEN=bearer_token,
            SINK_BASIC_USER=basic_user,
            SINK_BASIC_PASSWORD=basic_password,
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self, timeout: float = 30.0) -> SinkProcess:
        cmd = [sys.executable, "-m", "sigil_mock_sink", "--host", "127.0.0.1", "--http-port", str(self.http_port)]
        cmd += ["--grpc-port", str(self.grpc_port), "--auth", self.auth]
        if self.db:
            cmd += ["--db", self.db]
        if self.max_items:
            cmd += ["--max-items", str(self.max_items)]
        self.process = subprocess.Popen(cmd + self.args, env=self.env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sigil-mock-sink exited with {self.process.returncode}")
            try:
                self.request("GET", "/readyz")
                return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.stop()
        raise TimeoutError("sigil-mock-sink did not become ready")

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.http_url}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as response:
            raw = response.read()
        return json.loads(raw) if raw and raw[:1] in b"{[" else raw.decode()

    def generations(self, **filters: Any) -> list[dict[str, Any]]:
        """Read back (newest first): filters ``tenant``, ``conversation_id``, ``agent_name``, ``limit``."""
        query = urllib.parse.urlencode({k: v for k, v in filters.items() if v})
        return list(self.request("GET", f"/api/v1/generations?{query}")["items"])

    def generation(self, generation_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/api/v1/generations/{urllib.parse.quote(generation_id)}"))

    def conversations(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/api/v1/conversations")["items"])

    def clear(self) -> None:
        self.request("DELETE", "/api/v1/generations")

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """E.g. ``unavailable_seconds=30``, ``unavailable=True``, ``delay_ms=200``, ``reject_fraction=0.5``."""
        return dict(self.request("POST", "/api/v1/faults", faults))

    def clear_faults(self) -> None:
        self.request("DELETE", "/api/v1/faults")

    def metrics_text(self) -> str:
        return str(self.request("GET", "/metrics"))

    def wait_for_count(self, count: int, timeout: float = 30.0, **filters: Any) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        items = self.generations(**filters)
        while len(items) < count and time.monotonic() < deadline:
            time.sleep(0.1)
            items = self.generations(**filters)
        return items

    def stop(self) -> None:
        stop_process(self.process)

    def __enter__(self) -> SinkProcess:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
