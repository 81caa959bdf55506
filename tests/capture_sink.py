"""A tiny Sigil HTTP ingest on loopback that records what it is sent (headers included)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support import wait_until


@dataclass
class Export:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


CHAT_COMPLETION = {
    "id": "chatcmpl-capture",
    "object": "chat.completion",
    "created": 1_700_000_000,
    "model": "m",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hello!"}}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
}


class CaptureSink:
    """``POST /api/v1/generations:export`` → every generation accepted; ``exports`` keeps the requests.

    It also answers ``POST /v1/chat/completions`` (OpenAI-style, one canned reply) so a proxy can use
    it as its model upstream. Use it as a context manager: the server thread is stopped on exit.
    """

    def __init__(self) -> None:
        self.exports: list[Export] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.endswith("/chat/completions"):
                    payload = json.dumps(CHAT_COMPLETION).encode()
                else:
                    with sink._lock:
                        sink.exports.append(Export(self.path, dict(self.headers.items()), body))
                    generations = body.get("generations", [])
                    results = [{"generation_id": g.get("id", ""), "accepted": True} for g in generations]
                    payload = json.dumps({"results": results}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def generations(self) -> list[dict[str, Any]]:
        with self._lock:
            return [g for export in self.exports for g in export.body.get("generations", [])]

    def wait_for_generations(self, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        wait_until(lambda: len(self.generations()) >= count, timeout=timeout)
        return self.generations()

    def __enter__(self) -> CaptureSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
