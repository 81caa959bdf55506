"""The sink's HTTP side (aiohttp): ingest as the real server answers it, plus read-back, faults,
stats, health, metrics and the page.

Ingest answers like grafana/sigil's handler behind its auth middleware: the tenant is checked first
(401 with dskit's text), then the method (405 ``method not allowed``), then the body is parsed as
proto-JSON whatever the Content-Type (400 with the parse error), then 202 ``application/json`` with
the per-item results in proto-JSON (proto field names, empty fields left out). Error bodies are
``text/plain`` and end with a newline, as Go's ``http.Error`` writes them. Faults come before all of
that. The read-back API is the sink's own (the real query API differs) and needs no credentials.
Sigil's hooks (``/api/v1/hooks:evaluate`` with rules, hook faults and an evaluation log) are in hooks.py,
the OTLP receiver (``/v1/traces``, ``/v1/metrics``) in otlp.py; its spans and metric points read back
from ``/api/v1/spans`` and ``/api/v1/metric-points``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from sigil_sdk.internal.gen.sigil.v1 import generation_ingest_pb2 as pb

from . import hooks, metrics, otlp, page, protojson
from .auth import AuthError
from .core import Sink
from .store import GENERATION, WORKFLOW_STEP, Stored

SINK = web.AppKey("sink", Sink)


def text_error(status: int, message: str) -> web.Response:
    """An error the way Go's ``http.Error`` writes it."""
    return web.Response(
        status=status,
        body=(message + "\n").encode(),
        headers={"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"},
    )


def json_body(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status, body=json.dumps(data, separators=(",", ":")).encode(), content_type="application/json"
    )


async def _faulted(request: web.Request, sink: Sink) -> web.StreamResponse | None:
    """Apply the ingest faults; a response (or a dropped connection) when one fires."""
    faults = sink.faults
    if faults.delay_ms:
        await asyncio.sleep(faults.delay_ms / 1000)
    if faults.drop_connections:
        sink.note("http", "dropped", "fault injected: connection dropped")
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=503)  # never reaches the client
    status = faults.error()
    if status is not None:
        sink.note("http", str(status), "fault injected")
        return text_error(status, f"fault injected: {status}")
    return None


async def _export(request: web.Request, kind: str) -> web.StreamResponse:
    sink = request.app[SINK]
    faulted = await _faulted(request, sink)
    if faulted is not None:
        return faulted
    try:
        tenant = sink.tenant({k.lower(): v for k, v in request.headers.items()})
    except AuthError as exc:
        sink.note("http", "401", str(exc))
        return text_error(401, str(exc))
    if request.method != "POST":
        sink.note("http", "405", request.method)
        return text_error(405, "method not allowed")
    body = await request.read()
    message = pb.ExportGenerationsRequest() if kind == GENERATION else pb.ExportWorkflowStepsRequest()
    try:
        protojson.parse(body, message)
    except protojson.ProtoJSONError as exc:
        sink.note("http", "400", str(exc))
        return text_error(400, str(exc))
    if kind == GENERATION:
        items, id_key = message.generations, "generation_id"
    else:
        items, id_key = message.workflow_steps, "step_id"
    errors = sink.take("http", kind, tenant, items)
    results = [
        {id_key: item.id, "accepted": True} if error is None else {id_key: item.id, "error": error}
        for item, error in zip(items, errors, strict=True)
    ]
    sink.count("http", "202")
    return json_body({"results": results} if results else {}, status=202)


async def export_generations(request: web.Request) -> web.StreamResponse:
    return await _export(request, GENERATION)


async def export_workflow_steps(request: web.Request) -> web.StreamResponse:
    return await _export(request, WORKFLOW_STEP)


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", "0")
    if not raw.isdigit():
        raise web.HTTPBadRequest(text="limit must be a whole number")
    return int(raw)


def _items_response(sink: Sink, items: list[Stored], summary: bool = False) -> web.Response:
    store = sink.store
    if summary:
        return json_body({"items": [_with_span(sink, item) for item in items]})
    body = b'{"items":[' + b",".join(store.rendered(item) for item in items) + b"]}"
    return web.Response(body=body, content_type="application/json")


def _with_span(sink: Sink, item: Stored) -> dict[str, Any]:
    """The page's summary of a generation, with ``_span``: whether its span arrived over OTLP."""
    summary = item.summary()
    g = item.message
    summary["_span"] = bool(g.span_id) and sink.telemetry.has_span(item.tenant, g.trace_id, g.span_id)
    return summary


async def generations(request: web.Request) -> web.Response:
    """GET: newest first, filtered by ``tenant``, ``conversation_id``, ``agent_name``, ``model``, ``limit``
    (``view=summary`` for the page's list). DELETE: forget everything stored (OTLP signals too)."""
    sink = request.app[SINK]
    if request.method == "DELETE":
        sink.store.clear()
        sink.telemetry.clear()
        return json_body({"cleared": True})
    q = request.query
    items = sink.store.query(
        GENERATION,
        tenant=q.get("tenant", ""),
        conversation_id=q.get("conversation_id", ""),
        agent_name=q.get("agent_name", ""),
        model=q.get("model", ""),
        limit=_limit(request),
    )
    return _items_response(sink, items, summary=q.get("view") == "summary")


async def generation(request: web.Request) -> web.Response:
    stored = request.app[SINK].store.get(request.match_info["id"], GENERATION, request.query.get("tenant", ""))
    if stored is None:
        return json_body({"error": "generation not found"}, status=404)
    return web.Response(body=request.app[SINK].store.rendered(stored), content_type="application/json")


async def workflow_steps(request: web.Request) -> web.Response:
    q = request.query
    sink = request.app[SINK]
    items = sink.store.query(
        WORKFLOW_STEP, tenant=q.get("tenant", ""), conversation_id=q.get("conversation_id", ""), limit=_limit(request)
    )
    return _items_response(sink, items)


async def spans(request: web.Request) -> web.Response:
    """OTLP spans, newest first, filtered by ``tenant``, ``trace_id``, ``span_id`` (lower-case hex),
    ``name``, ``limit``."""
    q = request.query
    found = request.app[SINK].telemetry.spans(
        tenant=q.get("tenant", ""),
        trace_id=q.get("trace_id", "").lower(),
        span_id=q.get("span_id", "").lower(),
        name=q.get("name", ""),
        limit=_limit(request),
    )
    return json_body({"items": found})


async def metric_points(request: web.Request) -> web.Response:
    """OTLP metric data points, newest first, filtered by ``tenant``, ``name`` (the metric's), ``limit``."""
    q = request.query
    found = request.app[SINK].telemetry.metric_points(
        tenant=q.get("tenant", ""), name=q.get("name", ""), limit=_limit(request)
    )
    return json_body({"items": found})


async def conversations(request: web.Request) -> web.Response:
    return json_body({"items": request.app[SINK].store.conversations(request.query.get("tenant", ""))})


async def faults(request: web.Request) -> web.Response:
    """GET the faults, POST a JSON object to change some, DELETE to clear them all."""
    state = request.app[SINK].faults
    if request.method == "DELETE":
        state.clear()
    elif request.method == "POST":
        try:
            data = json.loads(await request.read() or b"{}")
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
            state.update(data)
        except ValueError as exc:
            return text_error(400, f"bad faults: {exc}")
    return json_body(state.as_dict())


async def stats(request: web.Request) -> web.Response:
    sink = request.app[SINK]
    return json_body(metrics.as_json(sink.store, sink.telemetry))


async def health(request: web.Request) -> web.Response:
    return json_body({"status": "ok"})


async def prometheus(request: web.Request) -> web.Response:
    text = metrics.render(request.app[SINK].store, request.app[SINK].telemetry)
    return web.Response(text=text, content_type="text/plain", charset="utf-8", headers={"Cache-Control": "no-store"})


async def index(request: web.Request) -> web.Response:
    return web.Response(text=page.HTML, content_type="text/html", charset="utf-8")


def create_app(sink: Sink, hook_state: hooks.HookState | None = None) -> web.Application:
    app = web.Application(client_max_size=64 << 20)
    app[SINK] = sink
    # Sigil hooks (/api/v1/hooks:evaluate, same auth as ingest) and their rules/faults: hooks.py
    hooks.register(app, sink.tenant, hook_state)
    app.router.add_route("*", "/api/v1/generations:export", export_generations)
    app.router.add_route("*", "/api/v1/workflow-steps:export", export_workflow_steps)
    app.router.add_get("/api/v1/generations", generations)
    app.router.add_delete("/api/v1/generations", generations)
    app.router.add_get("/api/v1/generations/{id}", generation)
    app.router.add_get("/api/v1/workflow-steps", workflow_steps)
    app.router.add_get("/api/v1/conversations", conversations)
    otlp.register_http(app, SINK)
    app.router.add_get("/api/v1/spans", spans)
    app.router.add_get("/api/v1/metric-points", metric_points)
    app.router.add_route("GET", "/api/v1/faults", faults)
    app.router.add_route("POST", "/api/v1/faults", faults)
    app.router.add_route("DELETE", "/api/v1/faults", faults)
    app.router.add_get("/api/v1/stats", stats)
    app.router.add_get("/healthz", health)
    app.router.add_get("/readyz", health)
    app.router.add_get("/metrics", prometheus)
    app.router.add_get("/", index)
    return app
