"""A faithful mock of Sigil's ingest: what the real server accepts, rejects and returns, and a page to see it.

Modules: ``__main__`` (CLI, ``SINK_*`` settings), ``core`` (what HTTP and gRPC share), ``http_app``
(aiohttp: ingest, read-back, faults, stats, health, metrics, page), ``grpc_service`` (grpc.aio
ingest), ``otlp`` (the OTLP traces and metrics receiver on both sides) and ``otlp_store`` (its spans and
metric points), ``protojson`` (strict proto-JSON parsing), ``ingest`` (per-item defaults and rejections),
``auth`` (tenant rules, gateway credentials), ``faults``, ``store`` (bounded memory, SQLite),
``metrics``, ``page`` and ``testing`` (``SinkProcess`` for tests and benchmarks).
"""
