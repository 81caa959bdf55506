"""``fake-llm``: a deterministic OpenAI-compatible upstream for local runs, tests and benchmarks.

Chat completions (streaming with usage, tool calls, reasoning), legacy completions, embeddings and
``/v1/models``; no key checks. Special behaviour by model name: ``…error-500`` / ``error-429`` /
``error-400`` / ``error-401`` / ``error-503`` fail with that status; ``…reasoning…`` adds
``reasoning_content``; ``…slow…`` streams with a delay between chunks. ``GET /_fake/requests`` lists
what it received (without Authorization), ``DELETE`` clears it; ``GET /_fake/stats`` counts requests.
"""

from __future__ import annotations

import argparse
import os

from aiohttp import web

from .server import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="fake-llm", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=os.environ.get("FAKE_LLM_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("FAKE_LLM_PORT", "8090")))
    parser.add_argument("--latency-ms", type=float, default=float(os.environ.get("FAKE_LLM_LATENCY_MS", "0")))
    parser.add_argument("--chunk-delay-ms", type=float, default=float(os.environ.get("FAKE_LLM_CHUNK_DELAY_MS", "0")))
    args = parser.parse_args(argv)
    app = create_app(latency=args.latency_ms / 1000, chunk_delay=args.chunk_delay_ms / 1000)
    print(f"fake-llm: listening on http://{args.host}:{args.port}/v1", flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
