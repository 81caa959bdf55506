"""``make run``: the proxy with Sigil telemetry on an embedded default, on loopback.

Starts four processes and keeps them running until Ctrl-C (or SIGTERM):

1. a fake OpenAI-compatible upstream (``fake-llm``), so no API key is needed;
2. a small MCP server (``sigil_devstack.mcp_tools``: ``echo``, ``slow``, ``fail``);
3. the mock Sigil ingest sink (``sigil-mock-sink``: HTTP ingest and its page, gRPC ingest, and the
   OTLP receiver that takes the proxy's spans and ``gen_ai`` metrics);
4. the real LiteLLM proxy (``litellm --config config/config.yaml``, run from a copy whose
   ``mcp_servers`` entry ``devstack`` points at that MCP server instead of compose's ``mcp-tools``) with
   ``sigil_callback`` exporting to the sink,
   using ``LITELLM_MASTER_KEY`` or a freshly generated strong key.

Ports come from flags or environment variables (``PROXY_PORT``, ``SINK_HTTP_PORT``,
``SINK_GRPC_PORT``, ``FAKE_LLM_PORT``, ``MCP_TOOLS_PORT``). Any ``SIGIL_*`` variable you set wins over the defaults
below, e.g. ``SIGIL_PROTOCOL=grpc make run``; an ``OTEL_EXPORTER_OTLP_*ENDPOINT`` of yours replaces
the OTLP defaults (the sink's HTTP port) as a whole.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from .children import stop_process
from .mcp_tools import SERVER, McpToolsProcess, config_with_server
from .proxy import DEFAULT_CONFIG, ProxyProcess, new_master_key

HOST = "127.0.0.1"
TENANT = "dev"


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"devstack: {name}={raw!r} is not a port number") from None


def _wait_http(url: str, process: subprocess.Popen[bytes], name: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"devstack: {name} exited with {process.returncode}; see its output above")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"devstack: {name} did not answer {url} within {timeout:.0f}s")


def _start(command: Sequence[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    # own process group: Ctrl-C reaches only this launcher, which stops the children in order
    return subprocess.Popen(list(command), env=env, stdin=subprocess.DEVNULL, start_new_session=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sigil-litellm-devstack", description=__doc__.split("\n")[0])
    parser.add_argument("--proxy-port", type=int, default=_env_int("PROXY_PORT", 4000))
    parser.add_argument("--sink-http-port", type=int, default=_env_int("SINK_HTTP_PORT", 8080))
    parser.add_argument("--sink-grpc-port", type=int, default=_env_int("SINK_GRPC_PORT", 4317))
    parser.add_argument("--fake-llm-port", type=int, default=_env_int("FAKE_LLM_PORT", 8090))
    parser.add_argument("--mcp-tools-port", type=int, default=_env_int("MCP_TOOLS_PORT", 8765))
    parser.add_argument("--config", type=Path, default=Path(os.environ.get("LITELLM_CONFIG", DEFAULT_CONFIG)))
    return parser.parse_args(argv)


def proxy_environment(args: argparse.Namespace) -> dict[str, str]:
    """The proxy's environment: yours, with the embedded default filled in where you set nothing."""
    protocol = os.environ.get("SIGIL_PROTOCOL", "http").strip().lower() or "http"
    endpoint = f"http://{HOST}:{args.sink_http_port}" if protocol == "http" else f"{HOST}:{args.sink_grpc_port}"
    defaults = {
        "SIGIL_ENDPOINT": endpoint,
        "SIGIL_PROTOCOL": protocol,
        "SIGIL_INSECURE": "true",
        "SIGIL_AUTH_MODE": "tenant",
        "SIGIL_AUTH_TENANT_ID": TENANT,
        "SIGIL_AGENT_NAME": "litellm-proxy",
        "OPENAI_API_BASE": f"http://{HOST}:{args.fake_llm_port}/v1",
        "OPENAI_API_KEY": "fake-key",
        "ANTHROPIC_API_BASE": f"http://{HOST}:{args.fake_llm_port}",
        "ANTHROPIC_API_KEY": "fake-key",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    # the spans and gen_ai metrics go to the sink's OTLP receiver too, unless you named an OTLP endpoint
    if not any(os.environ.get(name, "").strip() for name in OTLP_ENDPOINTS):
        defaults |= {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{HOST}:{args.sink_http_port}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_HEADERS": f"X-Scope-OrgID={TENANT}",
            "OTEL_METRIC_EXPORT_INTERVAL": "5000",  # see the metrics within seconds, not a minute
        }
    env = dict(os.environ)
    for key, value in defaults.items():
        env.setdefault(key, value)
    return env


OTLP_ENDPOINTS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    master_key = os.environ.get("LITELLM_MASTER_KEY", "").strip()
    generated = not master_key
    master_key = master_key or new_master_key()
    base_env = dict(os.environ, PYTHONUNBUFFERED="1")
    python = sys.executable

    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    fake: subprocess.Popen[bytes] | None = None
    sink: subprocess.Popen[bytes] | None = None
    proxy: ProxyProcess | None = None
    tools = McpToolsProcess(HOST, args.mcp_tools_port)
    config_dir = tempfile.TemporaryDirectory(prefix="sigil-devstack-")
    try:
        fake = _start([python, "-m", "fake_llm", "--host", HOST, "--port", str(args.fake_llm_port)], base_env)
        tools.__enter__()  # waits until it listens
        sink_cmd = [python, "-m", "sigil_mock_sink", "--host", HOST, "--http-port", str(args.sink_http_port)]
        sink_cmd += ["--grpc-port", str(args.sink_grpc_port), "--auth", "tenant"]
        sink = _start(sink_cmd, base_env)
        _wait_http(f"http://{HOST}:{args.fake_llm_port}/health", fake, "fake-llm")
        _wait_http(f"http://{HOST}:{args.sink_http_port}/readyz", sink, "sigil-mock-sink")
        proxy = ProxyProcess(
            config=config_with_server(args.config, tools.url, Path(config_dir.name)),
            env=proxy_environment(args),
            port=args.proxy_port,
            master_key=master_key,
            stop_timeout=30.0,
            keep_log=True,  # the user may want to read it after Ctrl-C
        )
        print(f"devstack: starting the LiteLLM proxy (log: {proxy.log_path}) …", flush=True)
        proxy.start()
        key_note = "generated for this run" if generated else "from LITELLM_MASTER_KEY"
        print(
            "\n".join(
                [
                    "",
                    f"  LiteLLM proxy   {proxy.base_url}   (OpenAI-compatible: {proxy.base_url}/v1)",
                    f"  master key      {master_key}   ({key_note})",
                    f"  Sigil sink      http://{HOST}:{args.sink_http_port}/   (telemetry page; tenant {TENANT!r})",
                    f"  fake upstream   http://{HOST}:{args.fake_llm_port}/v1",
                    f"  MCP tools       {tools.url}   (at the proxy: {proxy.base_url}/mcp/, tools {SERVER}-echo, …)",
                    "",
                    "  try:",
                    f"    curl -s {proxy.base_url}/v1/chat/completions -H 'Authorization: Bearer {master_key}' \\",
                    "      -H 'Content-Type: application/json' \\",
                    '      -d \'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello!"}]}\'',
                    "",
                    "  Ctrl-C stops all four.",
                    "",
                ]
            ),
            flush=True,
        )
        while not stop.wait(0.5):
            children = (("fake-llm", fake), ("mcp-tools", tools.process), ("sigil-mock-sink", sink))
            for name, process in (*children, ("proxy", proxy.process)):
                if process is not None and process.poll() is not None:
                    print(f"devstack: {name} exited with {process.returncode}; stopping", flush=True)
                    if name == "proxy":
                        print(proxy.output()[-3000:], flush=True)
                    stop.set()
        return 0
    finally:
        print("devstack: stopping (the proxy flushes its telemetry first) …", flush=True)
        if proxy is not None:
            proxy.stop()
        stop_process(sink, 15)
        stop_process(tools.process, 15)
        stop_process(fake, 15)
        config_dir.cleanup()
        print("devstack: stopped", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
