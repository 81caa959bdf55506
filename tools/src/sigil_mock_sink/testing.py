"""``SinkProcess``: the mock sink as a child process on free loopback ports, for tests and benchmarks.

::

    with SinkProcess(auth="bearer", bearer_token="t0k") as sink:
        exporter = HTTPGenerationExporter(sink.http_url, headers={"Authorization": "Bearer t0k"})
        ...
        [generation] = sink.wait_for_count(1)

The process is ``python -m sigil_mock_sink`` with the interpreter running the tests. Credentials
travel by environment, never on the command line, and the sink never prints them. Its output goes to
a temporary log file (``log_text()``), quoted when it fails to start. On exit the process is always
stopped (SIGTERM, then SIGKILL after a timeout) and the log file removed (its text stays readable).

The helpers talk to the sink's own read-back API (``/api/v1/...``), which needs no credentials, and
ignore any HTTP proxy settings of the environment (everything is on 127.0.0.1).
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from sigil_devstack.children import free_port, stop_process

HOST = "127.0.0.1"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class SinkProcess:
    """A ``sigil-mock-sink`` child process and a small client for its read-back API.

    Arguments (all keyword-only):

    ``auth``: ``none`` (every request is tenant ``fake``), ``tenant`` (``X-Scope-OrgID`` required),
    ``bearer`` or ``basic`` (gateway credentials required as well).
    ``bearer_token``, ``basic_user``, ``basic_password``: the credentials those modes require.
    ``http_port``, ``grpc_port``: None picks free ports; ``grpc_port=0`` runs without gRPC.
    ``db``: SQLite file to keep history in (across a restart on the same file).
    ``max_items``: bound of the in-memory store (oldest dropped first, counted).
    ``faults``: faults from the start, as ``POST /api/v1/faults`` takes them (e.g.
    ``{"unavailable": True}``, ``{"delay_ms": 50}``, ``{"fail_next": 2, "error_status": 429}``).
    ``log_requests``: the sink logs one line per ingest request.
    ``args``: more command-line flags; ``env``: more environment variables.
    """

    def __init__(
        self,
        *,
        auth: str = "tenant",
        bearer_token: str = "",
        basic_user: str = "",
        basic_password: str = "",
        http_port: int | None = None,
        grpc_port: int | None = None,
        db: str | os.PathLike[str] | None = None,
        max_items: int | None = None,
        faults: dict[str, Any] | None = None,
        log_requests: bool = False,
        args: list[str] | None = None,
        env: dict[str, str] | None = None,
        tls: tuple[str | os.PathLike[str], str | os.PathLike[str], str | os.PathLike[str]] | None = None,
    ) -> None:
        self.http_port = http_port or free_port()
        self.grpc_port = free_port() if grpc_port is None else grpc_port
        self.auth = auth
        self.db = None if db is None else str(db)
        self.max_items = max_items
        self.faults = dict(faults or {})
        self.log_requests = log_requests
        self.args = list(args or [])
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "SINK_BEARER_TOKEN": bearer_token,
            "SINK_BASIC_USER": basic_user,
            "SINK_BASIC_PASSWORD": basic_password,
            **(env or {}),
        }
        # (certificate, key, CA that signed it): HTTPS and gRPC over TLS; the helpers trust that CA
        self.tls = None if tls is None else tuple(str(part) for part in tls)
        self._opener = _OPENER
        if self.tls is not None:
            context = ssl.create_default_context(cafile=self.tls[2])
            self._opener = urllib.request.build_opener(
                urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
            )
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None
        self._log = ""

    # -- where it is ---------------------------------------------------------------------------------

    @property
    def http_url(self) -> str:
        """Base URL of the HTTP side, e.g. ``http://127.0.0.1:PORT`` (the SDK's HTTP endpoint; https with TLS)."""
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.http_port}"

    @property
    def otlp_http_endpoint(self) -> str:
        """``OTEL_EXPORTER_OTLP_ENDPOINT`` for ``http/protobuf`` (the exporters add ``/v1/traces``, ``/v1/metrics``)."""
        return self.http_url

    @property
    def otlp_grpc_endpoint(self) -> str:
        """``OTEL_EXPORTER_OTLP_ENDPOINT`` for ``grpc`` (``http://`` is plaintext, ``https://`` TLS)."""
        return f"{'https' if self.tls else 'http'}://{self.grpc_target}"

    @property
    def grpc_target(self) -> str:
        """``127.0.0.1:PORT`` of the gRPC side (the SDK's gRPC endpoint, insecure)."""
        if not self.grpc_port:
            raise RuntimeError("this sink runs without gRPC (grpc_port=0)")
        return f"{HOST}:{self.grpc_port}"

    # -- lifecycle -----------------------------------------------------------------------------------

    def command(self) -> list[str]:
        """The command line that starts the sink (no secrets in it)."""
        cmd = [sys.executable, "-m", "sigil_mock_sink", "--host", HOST, "--http-port", str(self.http_port)]
        cmd += ["--grpc-port", str(self.grpc_port), "--auth", self.auth]
        if self.db:
            cmd += ["--db", self.db]
        if self.max_items:
            cmd += ["--max-items", str(self.max_items)]
        if self.log_requests:
            cmd.append("--log-requests")
        if self.tls:
            cmd += ["--tls-cert", self.tls[0], "--tls-key", self.tls[1]]
        return cmd + _fault_flags(self.faults) + self.args

    def start(self, timeout: float = 30.0) -> SinkProcess:
        """Start the process and wait until ``/readyz`` answers; on any failure it is stopped again and
        the error quotes the end of its log."""
        if self.process is not None:
            raise RuntimeError("this SinkProcess was already started")
        fd, log_name = tempfile.mkstemp(prefix="sigil-mock-sink-", suffix=".log")
        self.log_path = Path(log_name)
        try:
            with os.fdopen(fd, "wb") as log:
                self.process = subprocess.Popen(
                    self.command(), env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
                )
            deadline = time.monotonic() + timeout
            while self.process.poll() is None:
                try:
                    self.request("GET", "/readyz")
                    return self
                except OSError:  # not listening yet (URLError is an OSError)
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"sigil-mock-sink not ready after {timeout:g}s") from None
                    time.sleep(0.05)
            raise RuntimeError(f"sigil-mock-sink exited with status {self.process.returncode}")
        except BaseException as exc:
            self.stop()
            if isinstance(exc, Exception):
                raise RuntimeError(f"{exc}; its log ends with:\n{self.log_text()[-2000:]}") from exc
            raise

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; the exit status (None if never started). Idempotent;
        the log stays readable through :meth:`log_text` and its file is removed."""
        status = stop_process(self.process, timeout)
        if self.log_path is not None and self.log_path.exists():
            self._log = self.log_text()
            self.log_path.unlink()
        return status

    def log_text(self) -> str:
        """Everything the process printed (so far, or until it was stopped)."""
        if self.log_path is not None and self.log_path.exists():
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        return self._log

    def __enter__(self) -> SinkProcess:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # -- the read-back API ---------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None, timeout: float = 30.0) -> Any:
        """One request to the sink (``body`` sent as JSON); the JSON answer, or the text of a non-JSON
        answer. An HTTP error status raises ``urllib.error.HTTPError``."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.http_url}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with self._opener.open(req, timeout=timeout) as response:
            raw = response.read()
            content_type = response.headers.get("Content-Type", "")
        return json.loads(raw) if content_type.startswith("application/json") else raw.decode()

    def generations(self, **filters: Any) -> list[dict[str, Any]]:
        """Stored generations, newest first, as proto-JSON with proto field names (int64 values are
        strings, enums are names) plus ``_tenant`` and ``_received_at``. Filters (exact match):
        ``tenant``, ``conversation_id``, ``agent_name``, ``model`` (model name), ``limit``."""
        return list(self.request("GET", f"/api/v1/generations?{_query(filters)}")["items"])

    def generation(self, generation_id: str, tenant: str = "") -> dict[str, Any]:
        """One generation by id (of ``tenant`` if given); KeyError when the sink has none."""
        path = f"/api/v1/generations/{urllib.parse.quote(generation_id, safe='')}?{_query({'tenant': tenant})}"
        try:
            return dict(self.request("GET", path))
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise KeyError(generation_id) from None
            raise

    def workflow_steps(self, **filters: Any) -> list[dict[str, Any]]:
        """Stored workflow steps, newest first; filters ``tenant``, ``conversation_id``, ``limit``."""
        return list(self.request("GET", f"/api/v1/workflow-steps?{_query(filters)}")["items"])

    def conversations(self, tenant: str = "") -> list[dict[str, Any]]:
        """Conversations (per tenant) with ``generation_count``, ``agents``, ``models``, token and error
        counts; latest first."""
        return list(self.request("GET", f"/api/v1/conversations?{_query({'tenant': tenant})}")["items"])

    def wait_for_count(self, count: int, timeout: float = 30.0, **filters: Any) -> list[dict[str, Any]]:
        """Poll :meth:`generations` (with ``filters``) until at least ``count`` match or ``timeout``
        passes; returns what matched last, so the caller asserts on it."""
        deadline = time.monotonic() + timeout
        items = self.generations(**filters)
        while len(items) < count and time.monotonic() < deadline:
            time.sleep(0.05)
            items = self.generations(**filters)
        return items

    def spans(self, **filters: Any) -> list[dict[str, Any]]:
        """OTLP spans received, newest first, flat: hex ``trace_id`` / ``span_id`` / ``parent_span_id``,
        ``name``, ``kind``, ``attributes`` (plain values), ``events``, ``status``, ``resource``, ``scope``,
        ``_tenant``, ``_via``. Filters: ``tenant``, ``trace_id``, ``span_id``, ``name``, ``limit``."""
        return list(self.request("GET", f"/api/v1/spans?{_query(filters)}")["items"])

    def metric_points(self, **filters: Any) -> list[dict[str, Any]]:
        """OTLP metric data points received, newest first: the metric's ``name``, ``type``, ``unit``,
        ``temporality`` beside the point's ``attributes`` and values (``count``, ``sum``,
        ``bucket_counts``, … or ``value``). Filters: ``tenant``, ``name``, ``limit``."""
        return list(self.request("GET", f"/api/v1/metric-points?{_query(filters)}")["items"])

    def wait_for_spans(self, count: int, timeout: float = 30.0, **filters: Any) -> list[dict[str, Any]]:
        """Poll :meth:`spans` until at least ``count`` match or ``timeout`` passes; what matched last."""
        return _poll(lambda: self.spans(**filters), count, timeout)

    def wait_for_metric_points(self, count: int, timeout: float = 30.0, **filters: Any) -> list[dict[str, Any]]:
        """Poll :meth:`metric_points` until at least ``count`` match or ``timeout`` passes."""
        return _poll(lambda: self.metric_points(**filters), count, timeout)

    def clear(self) -> None:
        """Forget every stored generation, workflow step, span and metric point (counters and faults stay)."""
        self.request("DELETE", "/api/v1/generations")

    # -- faults and counters -------------------------------------------------------------------------

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Change faults at run time; returns the new state. Keys: ``unavailable_seconds`` (None: until
        cleared), ``unavailable``, ``fail_next``, ``error_status`` (429/500/502/503/504), ``delay_ms``,
        ``drop_connections``, ``reject_fraction``."""
        return dict(self.request("POST", "/api/v1/faults", faults))

    def clear_faults(self) -> dict[str, Any]:
        """Back to no faults; returns the state."""
        return dict(self.request("DELETE", "/api/v1/faults"))

    def faults_state(self) -> dict[str, Any]:
        return dict(self.request("GET", "/api/v1/faults"))

    def metrics_text(self) -> str:
        """``GET /metrics`` (Prometheus text)."""
        return str(self.request("GET", "/metrics"))

    def stats(self) -> dict[str, Any]:
        """The counters as JSON: ``received``, ``accepted``, ``evicted``, ``stored`` by kind, ``rejected``
        by kind then reason, ``requests`` by ``"<transport> <outcome>"``."""
        return dict(self.request("GET", "/api/v1/stats"))


def _poll(read: Callable[[], list[dict[str, Any]]], count: int, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    items = read()
    while len(items) < count and time.monotonic() < deadline:
        time.sleep(0.05)
        items = read()
    return items


def _query(filters: dict[str, Any]) -> str:
    return urllib.parse.urlencode({k: v for k, v in filters.items() if v not in (None, "", 0)})


def _fault_flags(faults: dict[str, Any]) -> list[str]:
    flags: list[str] = []
    for key, value in faults.items():
        flag = "--" + key.replace("_", "-")
        if key == "unavailable_seconds" and value is None:
            flags.append("--unavailable")
        elif isinstance(value, bool):
            flags += [flag] if value else []
        else:
            flags += [flag, str(value)]
    return flags
