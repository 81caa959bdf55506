"""``FakeLLMProcess``: the fake upstream as a child process on a free loopback port, for tests and benchmarks.

::

    with FakeLLMProcess() as fake:                      # started, /health answered
        client = openai.OpenAI(base_url=fake.base_url, api_key="anything")
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        assert fake.requests()[-1]["body"]["messages"][0]["content"] == "hi"
    # stopped here, whatever happened inside (SIGTERM, then SIGKILL after ``stop_timeout``)

For a LiteLLM proxy in front of it, point a ``model_list`` entry at it::

    litellm_params: {model: openai/gpt-4o-mini, api_base: <fake.base_url>, api_key: fake-key}

or set ``OPENAI_API_BASE=fake.base_url`` for the proxy process (as ``config/config.yaml`` expects).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from sigil_devstack.children import free_port, stop_process

_SRC = str(Path(__file__).resolve().parent.parent)  # so the child finds fake_llm even if not installed
# loopback only: never send these requests through an HTTP(S)_PROXY from the environment
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class FakeLLMProcess:
    """``python -m fake_llm`` on ``127.0.0.1:<free port>``; a context manager that always stops it.

    Arguments (all optional): ``port`` (default: a free one), ``latency_ms`` and ``chunk_delay_ms``
    (``--latency-ms``, ``--chunk-delay-ms``), ``keep_requests`` (how many requests ``requests()`` can
    return; 0 turns recording off for benchmarks), ``args`` (more command-line options), ``env`` (added
    to the inherited environment, e.g. ``{"FAKE_LLM_LATENCY_MS": "20"}``), ``startup_timeout`` and
    ``stop_timeout`` in seconds. Options left as None are not passed (the child's defaults apply).

    Attributes: ``port``, ``root_url`` (``http://127.0.0.1:PORT``), ``base_url`` (``root_url + "/v1"``,
    what an OpenAI client or a LiteLLM ``api_base`` wants), ``process`` (the ``Popen``), ``log_path``
    (the child's stdout and stderr; ``output()`` reads it).
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        latency_ms: float | None = None,
        chunk_delay_ms: float | None = None,
        keep_requests: int | None = None,
        args: list[str] | None = None,
        env: dict[str, str] | None = None,
        startup_timeout: float = 30.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.port = port or free_port()
        self.latency_ms = latency_ms
        self.chunk_delay_ms = chunk_delay_ms
        self.keep_requests = keep_requests
        self.args = list(args or [])
        self.env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="fake-llm-", suffix=".log", delete=False)  # noqa: SIM115
        self.log_path = Path(self._log.name)

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: the ``base_url`` of an OpenAI client, a LiteLLM ``api_base``."""
        return f"{self.root_url}/v1"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "fake_llm", "--host", "127.0.0.1", "--port", str(self.port)]
        for option, value in (
            ("--latency-ms", self.latency_ms),
            ("--chunk-delay-ms", self.chunk_delay_ms),
            ("--keep-requests", self.keep_requests),
        ):
            if value is not None:  # unset: the child's default, or its FAKE_LLM_* variable from ``env``
                cmd += [option, str(value)]
        return cmd + self.args

    def start(self) -> FakeLLMProcess:
        """Start the child and wait until ``/health`` answers; on failure it is stopped and this raises."""
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self.env)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_SRC, env.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, env=env
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"fake-llm exited with {self.process.returncode}:\n{self.output()[-2000:]}")
            if self.is_healthy():
                return self
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"fake-llm not healthy after {self.startup_timeout}s:\n{self.output()[-2000:]}")

    def is_healthy(self) -> bool:
        try:
            with _OPENER.open(f"{self.root_url}/health", timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _call(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(f"{self.root_url}{path}", method=method)
        with _OPENER.open(request, timeout=5) as response:
            return json.loads(response.read())

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """The recorded requests, newest last; only those whose path ends with ``path`` if given.

        Each is ``{"method", "path", "headers", "body", "status"}``: ``headers`` without
        ``Authorization`` (nor ``api-key``, ``x-api-key``), ``body`` the parsed JSON (None for a GET or a
        body that was not a JSON object), ``status`` the HTTP status answered (absent while in flight).
        """
        items = list(self._call("/_fake/requests")["items"])
        return [i for i in items if i["path"].endswith(path)] if path else items

    def clear_requests(self) -> None:
        """Forget the recorded requests (the counters in ``stats()`` keep counting)."""
        self._call("/_fake/requests", method="DELETE")

    def wait_for_requests(self, count: int, path: str | None = None, timeout: float = 10.0) -> list[dict[str, Any]]:
        """``requests(path)`` once at least ``count`` have arrived; ``TimeoutError`` otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            items = self.requests(path)
            if len(items) >= count:
                return items
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(items)} of {count} requests arrived at fake-llm in {timeout}s")
            time.sleep(0.05)

    def stats(self) -> dict[str, Any]:
        """``{"requests", "streams", "errors", "by_path", "uptime_s"}``: counted since start, never cleared."""
        return dict(self._call("/_fake/stats"))

    def output(self) -> str:
        """What the child printed (stdout and stderr); the log is removed on a clean exit of ``with``."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after ``stop_timeout``; returns the exit status. Safe to call twice."""
        self.returncode = stop_process(self.process, self.stop_timeout)
        return self.returncode

    def __enter__(self) -> FakeLLMProcess:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
        self._log.close()
        if et is None:
            self.log_path.unlink(missing_ok=True)
