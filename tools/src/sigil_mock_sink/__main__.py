"""``sigil-mock-sink``: a Sigil ingest endpoint that behaves like the real one, for development and tests.

HTTP (``/api/v1/generations:export``, ``/api/v1/workflow-steps:export``, the read-back API, faults,
``/healthz``, ``/readyz``, ``/metrics`` and a page at ``/``) and gRPC ingest, with an OTLP traces and
metrics receiver on both ports (``/v1/traces``, ``/v1/metrics``), in one asyncio process.
Every flag can also be set by the ``SINK_*`` environment variable named in its help; pass secrets
(bearer token, basic password) that way so they do not show in process listings. They are never
printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sqlite3
import ssl
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import grpc
from aiohttp import web

from .auth import MODES, Authenticator
from .core import Sink
from .faults import GRPC_CODES, Faults
from .grpc_service import DEFAULT_MAX_RECEIVE_BYTES, create_server
from .hooks import HookState, load_rules_file
from .http_app import create_app
from .otlp_store import TelemetryStore
from .store import Store

_TRUE = {"1", "true", "yes", "on"}


def _env(name: str, default: str) -> str:
    return os.environ.get(f"SINK_{name}", default)


def _flag(name: str) -> bool:
    return _env(name, "").strip().lower() in _TRUE


def port_number(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be a port number (0-65535)")
    return value


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, not the whole usage."""
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="sigil-mock-sink", description=(__doc__ or "").split("\n")[0].replace("``", ""))
    net = p.add_argument_group("listening")
    net.add_argument("--host", default=_env("HOST", "127.0.0.1"), help="address to listen on (SINK_HOST)")
    net.add_argument("--http-port", type=port_number, default=_env("HTTP_PORT", "8080"), help="(SINK_HTTP_PORT)")
    net.add_argument(
        "--grpc-port", type=port_number, default=_env("GRPC_PORT", "4317"), help="0 disables gRPC (SINK_GRPC_PORT)"
    )
    net.add_argument(
        "--grpc-max-receive-bytes",
        type=positive_int,
        default=_env("GRPC_MAX_RECEIVE_BYTES", str(DEFAULT_MAX_RECEIVE_BYTES)),
        help="largest gRPC request accepted (SINK_GRPC_MAX_RECEIVE_BYTES; grpc-go's default 4 MiB)",
    )
    net.add_argument(
        "--tls-cert",
        default=_env("TLS_CERT", "") or None,
        help="serve HTTPS and gRPC over TLS with this PEM certificate chain (SINK_TLS_CERT; needs --tls-key)",
    )
    net.add_argument("--tls-key", default=_env("TLS_KEY", "") or None, help="its PEM private key (SINK_TLS_KEY)")
    auth = p.add_argument_group("auth")
    auth.add_argument(
        "--auth",
        choices=MODES,
        default=_env("AUTH", "tenant"),
        help="none: every request is tenant 'fake'; tenant: X-Scope-OrgID required; bearer / basic: "
        "gateway credentials required as well (SINK_AUTH)",
    )
    auth.add_argument("--bearer-token", default=_env("BEARER_TOKEN", ""), help="prefer SINK_BEARER_TOKEN")
    auth.add_argument("--basic-user", default=_env("BASIC_USER", ""), help="(SINK_BASIC_USER)")
    auth.add_argument("--basic-password", default=_env("BASIC_PASSWORD", ""), help="prefer SINK_BASIC_PASSWORD")
    store = p.add_argument_group("storage")
    store.add_argument(
        "--max-items",
        type=positive_int,
        default=_env("MAX_ITEMS", "10000"),
        help="generations (and workflow steps, OTLP spans, metric points) kept; the oldest are dropped and"
        " counted (SINK_MAX_ITEMS)",
    )
    store.add_argument("--db", default=_env("DB", "") or None, help="SQLite file that keeps history (SINK_DB)")
    faults = p.add_argument_group("faults at start (change them at run time with POST /api/v1/faults)")
    faults.add_argument(
        "--unavailable",
        action="store_true",
        default=_flag("UNAVAILABLE"),
        help="answer --error-status until cleared (SINK_UNAVAILABLE)",
    )
    faults.add_argument(
        "--unavailable-seconds",
        type=non_negative,
        default=_env("UNAVAILABLE_SECONDS", "0"),
        help="answer --error-status for this long after start (SINK_UNAVAILABLE_SECONDS)",
    )
    faults.add_argument(
        "--fail-next",
        type=int,
        default=_env("FAIL_NEXT", "0"),
        help="answer --error-status to this many ingest requests (SINK_FAIL_NEXT)",
    )
    faults.add_argument(
        "--error-status",
        type=int,
        choices=sorted(GRPC_CODES),
        default=_env("ERROR_STATUS", "503"),
        help="status of those answers; gRPC gets the matching code (SINK_ERROR_STATUS)",
    )
    faults.add_argument(
        "--delay-ms", type=non_negative, default=_env("DELAY_MS", "0"), help="delay each ingest answer (SINK_DELAY_MS)"
    )
    faults.add_argument(
        "--drop-connections",
        action="store_true",
        default=_flag("DROP_CONNECTIONS"),
        help="close ingest connections without an answer (SINK_DROP_CONNECTIONS)",
    )
    faults.add_argument(
        "--reject-fraction",
        type=fraction,
        default=_env("REJECT_FRACTION", "0"),
        help="reject this share of items (SINK_REJECT_FRACTION)",
    )
    p.add_argument(
        "--hook-rules",
        default=_env("HOOK_RULES", "") or None,
        help='JSON file of rules for /api/v1/hooks:evaluate, {"rules": [...], "faults": {...}}; change '
        "them at run time with POST /api/v1/hook-rules (SINK_HOOK_RULES; see sigil_mock_sink/hooks.py)",
    )
    p.add_argument(
        "--log-requests",
        action="store_true",
        default=_flag("LOG_REQUESTS"),
        help="one line per ingest request: tenant, accepted, rejected (SINK_LOG_REQUESTS)",
    )
    return p


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    # argparse converts string defaults (from SINK_*) with ``type`` but checks ``choices`` only on flags
    for action in parser._actions:
        if action.choices is not None and getattr(args, action.dest) not in action.choices:
            choices = ", ".join(map(str, action.choices))
            parser.error(f"argument {action.option_strings[0]} (from SINK_*): choose from {choices}")
    return args


def initial_faults(args: argparse.Namespace) -> dict[str, Any]:
    faults: dict[str, Any] = {
        "error_status": args.error_status,
        "delay_ms": args.delay_ms,
        "drop_connections": args.drop_connections,
        "reject_fraction": args.reject_fraction,
        "fail_next": args.fail_next,
    }
    if args.unavailable:
        faults["unavailable"] = True
    elif args.unavailable_seconds:
        faults["unavailable_seconds"] = args.unavailable_seconds
    return faults


@dataclass(frozen=True)
class Tls:
    cert: bytes
    key: bytes
    cert_path: str
    key_path: str

    def http_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context

    def grpc_credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials([(self.key, self.cert)])


def load_tls(args: argparse.Namespace) -> Tls | None:
    """The TLS material of --tls-cert/--tls-key, or None; ValueError when only one is given or unreadable."""
    if not args.tls_cert and not args.tls_key:
        return None
    if not (args.tls_cert and args.tls_key):
        raise ValueError("--tls-cert and --tls-key go together")
    try:
        with open(args.tls_cert, "rb") as cert, open(args.tls_key, "rb") as key:
            return Tls(cert.read(), key.read(), args.tls_cert, args.tls_key)
    except OSError as exc:
        raise ValueError(f"cannot read the TLS files: {exc}") from None


def initial_hooks(args: argparse.Namespace) -> HookState:
    """The hook rules (and hook faults) of ``--hook-rules``; ValueError names a problem."""
    state = HookState()
    if args.hook_rules:
        state.rules, faults = load_rules_file(args.hook_rules)
        state.faults.update(faults)
    return state


async def serve(args: argparse.Namespace, auth: Authenticator, hook_state: HookState | None = None) -> None:
    fault_state = Faults()
    fault_state.update(initial_faults(args))
    store = Store(max_items=args.max_items, db_path=args.db)
    telemetry = TelemetryStore(max_items=args.max_items)
    sink = Sink(store, auth, fault_state, log_requests=args.log_requests, telemetry=telemetry)
    runner = web.AppRunner(create_app(sink, hook_state), access_log=None, handle_signals=False)
    await runner.setup()
    grpc_server = None
    tls = load_tls(args)
    try:
        await web.TCPSite(runner, args.host, args.http_port, ssl_context=tls.http_context() if tls else None).start()
        if args.grpc_port:
            grpc_server = create_server(
                sink,
                f"{args.host}:{args.grpc_port}",
                args.grpc_max_receive_bytes,
                credentials=tls.grpc_credentials() if tls else None,
            )
            await grpc_server.start()
        scheme = "https" if tls else "http"
        grpc_note = f", gRPC {args.host}:{args.grpc_port}" if grpc_server else ", gRPC off"
        grpc_note += " (TLS)" if tls and grpc_server else ""
        db_note = f", history in {args.db}" if args.db else ""
        print(
            f"sigil-mock-sink: HTTP {scheme}://{args.host}:{args.http_port}{grpc_note}, auth {args.auth}{db_note}"
            f" ({store.count()} generations stored)",
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        print("sigil-mock-sink: stopping", flush=True)
    finally:
        if grpc_server is not None:
            await grpc_server.stop(grace=1)
        await runner.cleanup()
        store.close()


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        auth = Authenticator(args.auth, args.bearer_token, args.basic_user, args.basic_password)
        Faults().update(initial_faults(args))
        hook_state = initial_hooks(args)
        load_tls(args)
    except ValueError as exc:
        raise SystemExit(f"sigil-mock-sink: {exc}") from None
    try:
        asyncio.run(serve(args, auth, hook_state))
    except (OSError, RuntimeError, sqlite3.Error) as exc:  # a port in use, an unusable database, …
        print(f"sigil-mock-sink: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
