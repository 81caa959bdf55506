"""The HTTP transport's failure classification and environment handling, against real local servers.

(Delivery through the real mock sink, TLS and connection reuse included: tests/integration/test_delivery.py.)
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sigil_sdk_litellm.proxy.export import transport as _transport
from sigil_sdk_litellm.proxy.export.transport import HttpTransport, TransientFailure


class _Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    status = 200

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"results": [{"generation_id": "g1", "accepted": False, "error": "too old"}]}).encode()
        self.send_response(self.status)
        if self.status == 307:
            self.send_header("Location", "/elsewhere")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def serve(status: int) -> Iterator[str]:
    handler = type("Handler", (_Answer,), {"status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def server() -> Iterator[str]:
    yield from serve(200)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_proxy_variables_are_ignored(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    transport = HttpTransport(server, {"X-Scope-OrgID": "t"})
    try:
        assert transport.send([b'{"id":"g1"}']).rejected == (("g1", "too old"),)
    finally:
        transport.close()


def test_a_refused_connection_is_transient_and_says_so() -> None:
    transport = HttpTransport(f"127.0.0.1:{closed_port()}", {})
    with pytest.raises(TransientFailure, match="connection refused") as caught:
        transport.send([b"{}"])
    assert caught.value.kind == "unreachable"
    transport.close()


def test_no_answer_within_the_timeout_is_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_transport, "TIMEOUT_SECONDS", 0.3)
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts (backlog), never answers
        transport = HttpTransport(f"http://127.0.0.1:{silent.getsockname()[1]}", {})
        with pytest.raises(TransientFailure, match=r"no answer within 0\.3 s"):
            transport.send([b"{}"])
        transport.close()


def test_a_redirect_is_not_followed() -> None:
    for url in serve(307):
        transport = HttpTransport(url, {"Authorization": "Bearer secret-token"})
        with pytest.raises(TransientFailure, match="answered 307") as caught:
            transport.send([b"{}"])
        assert "secret-token" not in str(caught.value)
        transport.close()
