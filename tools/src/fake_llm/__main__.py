"""``fake-llm``: a deterministic OpenAI-compatible upstream for ``make run``, tests and benchmarks.

Options (each also read from the environment variable in brackets):

  --host           [FAKE_LLM_HOST]            default 127.0.0.1
  --port           [FAKE_LLM_PORT]            default 8090
  --latency-ms     [FAKE_LLM_LATENCY_MS]      added before every answer, default 0
  --chunk-delay-ms [FAKE_LLM_CHUNK_DELAY_MS]  between stream chunks, default 0
  --keep-requests  [FAKE_LLM_KEEP_REQUESTS]   requests kept for GET /_fake/requests, default 1000 (0: none)
  --embedding-dimensions [FAKE_LLM_EMBEDDING_DIMENSIONS]  when a request names none, default 8

Special behaviours by model name or ``[fake:…]`` marker: see :mod:`fake_llm.behaviours`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

from aiohttp import web

from .server import create_app


def _env(name: str, default: str, kind: type[float] | type[int] | type[str] = str) -> Any:
    raw = os.environ.get(f"FAKE_LLM_{name}", default)
    try:
        return kind(raw)
    except ValueError:
        sys.exit(f"fake-llm: FAKE_LLM_{name}={raw!r} is not a valid {kind.__name__}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="fake-llm",
        description="A deterministic OpenAI-compatible upstream (chat, completions, embeddings, models).",
        epilog="Every option can also be set as FAKE_LLM_<OPTION> (e.g. FAKE_LLM_LATENCY_MS=20). Special "
        "behaviours by model name or [fake:...] marker: error-NNN, reasoning, slow[-MS], latency-MS.",
    )
    add = parser.add_argument
    add("--host", default=_env("HOST", "127.0.0.1"), help="address to listen on (default %(default)s)")
    add("--port", type=int, default=_env("PORT", "8090", int), help="default %(default)s")
    add("--latency-ms", type=float, default=_env("LATENCY_MS", "0", float), help="wait before every answer")
    add("--chunk-delay-ms", type=float, default=_env("CHUNK_DELAY_MS", "0", float), help="wait between chunks")
    add(
        "--keep-requests",
        type=int,
        default=_env("KEEP_REQUESTS", "1000", int),
        help="how many requests GET /_fake/requests keeps (default %(default)s; 0: none)",
    )
    add(
        "--embedding-dimensions",
        type=int,
        default=_env("EMBEDDING_DIMENSIONS", "8", int),
        help="vector length when a request names none (default %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.latency_ms < 0 or args.chunk_delay_ms < 0 or args.keep_requests < 0:
        parser.error("--latency-ms, --chunk-delay-ms and --keep-requests cannot be negative")
    if not 0 < args.embedding_dimensions <= 8192:
        parser.error("--embedding-dimensions must be between 1 and 8192")
    return args


def new_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (it comes with ``litellm[proxy]``): about a third more requests per second."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    app = create_app(
        latency=args.latency_ms / 1000,
        chunk_delay=args.chunk_delay_ms / 1000,
        keep_requests=args.keep_requests,
        embedding_dimensions=args.embedding_dimensions,
    )
    url = f"http://{args.host}:{args.port}/v1"
    try:
        web.run_app(
            app,
            host=args.host,
            port=args.port,
            access_log=None,
            loop=new_loop(),
            print=lambda _: print(f"fake-llm: listening on {url}", flush=True),  # once bound
        )
    except OSError as exc:  # typically: the port is taken
        sys.exit(f"fake-llm: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")


if __name__ == "__main__":
    main()
