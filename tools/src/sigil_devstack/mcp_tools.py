"""A small MCP server for the dev stack and tests: ``python -m sigil_devstack.mcp_tools --port N``.

Streamable HTTP at ``/mcp`` (stateless), built with the ``mcp`` package (which ``litellm[proxy]``
brings): ``echo`` gives its text back (``echoed_texts`` lists what it was called with), ``slow`` sleeps
(at most 10 s) then says so, ``fail`` always raises, so the client reads a tool error.
:class:`McpToolsProcess` runs it as a child process on loopback; :func:`config_with_server` names it in a
copy of a LiteLLM config (``mcp_servers``), as ``make run`` and the tests do.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from .children import free_port, stop_process

NAME = "devstack-tools"
SERVER = "devstack"  # its name in LiteLLM's mcp_servers: the proxy offers its tools as devstack-<tool>


def config_with_server(config: Path, url: str, directory: Path, server: str = SERVER) -> Path:
    """A copy of the LiteLLM ``config`` in ``directory`` whose ``mcp_servers`` also names the server at
    ``url`` (streamable HTTP) as ``server``; the original file is left as it is."""
    data = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
    servers = data.get("mcp_servers") or {}
    servers[server] = {"url": url, "transport": "http"}
    data["mcp_servers"] = servers
    copy = Path(directory) / "config.yaml"
    copy.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return copy


def build_server() -> Any:
    from mcp.server.mcpserver import MCPServer

    server = MCPServer(NAME)
    echoed: list[str] = []

    @server.tool()
    def echo(text: str) -> str:
        """Give the text back."""
        echoed.append(text)
        return f"echo: {text}"

    @server.tool()
    def echoed_texts() -> list[str]:
        """What ``echo`` was called with so far (tests read it: was the tool reached, with what)."""
        return list(echoed)

    @server.tool()
    async def slow(seconds: float = 1.0) -> str:
        """Sleep a while (at most 10 seconds), then say so."""
        waited = max(0.0, min(float(seconds), 10.0))
        await asyncio.sleep(waited)
        return f"slept {waited:g}s"

    @server.tool()
    def fail(reason: str = "failing on purpose") -> str:
        """Always fail."""
        raise RuntimeError(reason)

    return server


class McpToolsProcess:
    """The server as a child process on a free loopback port; ``url`` is its streamable HTTP endpoint."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}/mcp"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> McpToolsProcess:
        command = [sys.executable, "-m", "sigil_devstack.mcp_tools", "--host", self.host, "--port", str(self.port)]
        # its own session: a Ctrl-C of `make run` reaches the launcher only, which stops it in order
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mcp_tools exited with {self.process.returncode}")
            with socket.socket() as sock:
                if sock.connect_ex((self.host, self.port)) == 0:
                    return self
            time.sleep(0.1)
        stop_process(self.process)
        raise RuntimeError(f"mcp_tools did not listen on {self.host}:{self.port} within 30s")

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        stop_process(self.process)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    build_server().run("streamable-http", host=args.host, port=args.port, stateless_http=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
