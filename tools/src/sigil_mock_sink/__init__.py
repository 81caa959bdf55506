"""A faithful mock of Sigil's ingest: what the real server accepts, rejects and returns, and a page to see it.

Modules: ``__main__`` (CLI, ``SINK_*`` settings), ``core`` (what HTTP and gRPC share), ``http_app``
(aiohttp: ingest, read-back, faults, stats, health, metrics, page), ``grpc_service`` (grpc.aio
ingest), ``protojson`` (strict proto-JSON parsing), ``ingest`` (per-item defaults and rejections),
``auth`` (tenant rules, gateway credentials), ``faults``, ``store`` (bounded memory, SQLite),
``metrics``, ``page`` and ``testing`` (``SinkProcess`` for tests and benchmarks).
"""
