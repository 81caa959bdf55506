"""``sigil-mock-sink``: a Sigil ingest endpoint that behaves like the real one, for development and tests.

HTTP (``/api/v1/generations:export``, ``/api/v1/workflow-steps:export``, read-back API, faults,
``/healthz``, ``/readyz``, ``/metrics`` and a page at ``/``) and gRPC ingest in one process. Every
flag can also be set by a ``SINK_*`` environment variable; secrets (bearer token, basic password)
are best passed that way so they do not show in process listings. They are never logged.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

from aiohttp import web

from .auth import MODES, Authenticator
from .faults import Faults
from .grpc_service import create_server
from .http_app import create_app
from .store import Store


def _env(name: str, default: str) -> str:
    return os.environ.get(f"SINK_{name}", default)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="sigil-mock-sink", description=__doc__.split("\n")[0])
    p.add_argument("--host", default=_env("HOST", "127.0.0.1"), help="listen address (SINK_HOST)")
    p.add_argument("--http-port", type=int, default=int(_env("HTTP_PORT", "8080")), help="SINK_HTTP_PORT")
    p.add_argument("--grpc-port", type=int, default=int(_env("GRPC_PORT", "4317")), help="0 disables (SINK_GRPC_PORT)")
    p.add_argument("--auth", choices=MODES, default=_env("AUTH", "tenant"), help="SINK_AUTH")
    p.add_argument("--bearer-token", default=_env("BEARER_TOKEN", ""), help="prefer SINK_BEARER_TOKEN")
    p.add_argument("--basic-user", default=_env("BASIC_USER", ""), help="SINK_BASIC_USER")
    p.add_argument("--basic-password", default=_env("BASIC_PASSWORD", ""), help="prefer SINK_BASIC_PASSWORD")
    p.add_argument("--max-items", type=int, default=int(_env("MAX_ITEMS", "10000")), help="SINK_MAX_ITEMS")
    p.add_argument("--db", default=_env("DB", "") or None, help="SQLite file to keep history (SINK_DB)")
    p.add_argument("--unavailable-seconds", type=float, default=float(_env("UNAVAILABLE_SECONDS", "0")))
    p.add_argument("--delay-ms", type=float, default=float(_env("DELAY_MS", "0")))
    p.add_argument("--reject-fraction", type=float, default=float(_env("REJECT_FRACTION", "0")))
    p.add_argument("--drop-connections", action="store_true", default=_env("DROP_CONNECTIONS", "") == "true")
    return p.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    auth = Authenticator(args.auth, args.bearer_token, args.basic_user, args.basic_password)
    store = Store(max_items=args.max_items, db_path=args.db)
    faults = Faults()
    faults.update(
        {
            "delay_ms": args.delay_ms,
            "reject_fraction": args.reject_fraction,
            "drop_connections": args.drop_connections,
        }
    )
    if args.unavailable_seconds:
        faults.update({"unavailable_seconds": args.unavailable_seconds})
    runner = web.AppRunner(create_app(store, auth, faults), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, args.host, args.http_port).start()
    grpc_server = None
    if args.grpc_port:
        grpc_server = create_server(store, auth, faults, f"{args.host}:{args.grpc_port}")
        await grpc_server.start()
    grpc_note = f", gRPC {args.host}:{args.grpc_port}" if grpc_server else ""
    print(f"sigil-mock-sink: HTTP http://{args.host}:{args.http_port}{grpc_note}, auth {args.auth}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    if grpc_server is not None:
        await grpc_server.stop(grace=1)
    await runner.cleanup()
    store.close()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        Authenticator(args.auth, args.bearer_token, args.basic_user, args.basic_password)
    except ValueError as exc:
        raise SystemExit(f"sigil-mock-sink: {exc}") from None
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
