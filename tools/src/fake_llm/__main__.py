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

from aiohttp import web

from .server import create_app


def _env(name: str, default: str) -> str:
    return os.environ.get(f"FAKE_LLM_{name}", default)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="fake-llm",
        description="A deterministic OpenAI-compatible upstream (chat, completions, embeddings, models).",
        epilog="Every option can also be set as FAKE_LLM_<OPTION> (e.g. FAKE_LLM_LATENCY_MS=20).",
    )
    parser.add_argument("--host", default=_env("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(_env("PORT", "8090")))
    parser.add_argument("--latency-ms", type=float, default=float(_env("LATENCY_MS", "0")))
    parser.add_argument("--chunk-delay-ms", type=float, default=float(_env("CHUNK_DELAY_MS", "0")))
    parser.add_argument("--keep-requests", type=int, default=int(_env("KEEP_REQUESTS", "1000")))
    parser.add_argument("--embedding-dimensions", type=int, default=int(_env("EMBEDDING_DIMENSIONS", "8")))
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
    try:
        args = parse_args(argv)
    except ValueError as exc:  # a FAKE_LLM_* variable that is not a number
        sys.exit(f"fake-llm: {exc}")
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
