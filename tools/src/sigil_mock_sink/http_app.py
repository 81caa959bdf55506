"""The sink's HTTP side: ingest (as grpc-gateway serves it), read-back, faults, health, metrics, page."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from google.protobuf import json_format
from sigil_sdk.internal.gen.sigil.v1 import generation_ingest_pb2 as pb

from . import metrics, page
from .auth import Authenticator, AuthError
from .faults import Faults
from .store import Store

STORE = web.AppKey("store", Store)
AUTH = web.AppKey("auth", Authenticator)
FAULTS = web.AppKey("faults", Faults)


async def _admit(request: web.Request) -> str:
    """Faults, then method, then auth: the tenant of an ingest request, or an HTTP error."""
    store, faults = request.app[STORE], request.app[FAULTS]
    if faults.delay_ms:
        await asyncio.sleep(faults.delay_ms / 1000)
    if faults.drop_connections:
        store.stats.requests[("http", "dropped")] += 1
        if request.transport is not None:
            request.transport.close()
        raise web.HTTPServiceUnavailable(text="fault injected: connection dropped")
    if faults.unavailable():
        store.stats.requests[("http", "503")] += 1
        raise web.HTTPServiceUnavailable(text="fault injected: unavailable")
    if request.method != "POST":
        raise web.HTTPMethodNotAllowed(request.method, ["POST"])
    try:
        return request.app[AUTH].tenant({k.lower(): v for k, v in request.headers.items()})
    except AuthError as exc:
        store.stats.requests[("http", "401")] += 1
        raise web.HTTPUnauthorized(text=str(exc)) from None


async def _parse(request: web.Request, message: Any) -> Any:
    """Proto-JSON whatever the Content-Type; unknown fields, bad enums or bad base64 → 400."""
    body = await request.read()
    try:
        json_format.Parse(body, message)
    except (json_format.ParseError, UnicodeDecodeError, ValueError) as exc:
        request.app[STORE].stats.requests[("http", "400")] += 1
        raise web.HTTPBadRequest(text=str(exc)) from None
    return message


async def export_generations(request: web.Request) -> web.Response:
    tenant = await _admit(request)
    parsed = await _parse(request, pb.ExportGenerationsRequest())
    store, faults = request.app[STORE], request.app[FAULTS]
    results: list[dict[str, Any]] = []
    for generation in parsed.generations:
        error = store.add_generation(tenant, generation, reject=faults.reject_item())
        results.append(
            {"generation_id": generation.id, "accepted": True}
            if error is None
            else {"generation_id": generation.id, "error": error}
        )
    store.stats.requests[("http", "202")] += 1
    return web.json_response({"results": results}, status=202)


async def export_workflow_steps(request: web.Request) -> web.Response:
    tenant = await _admit(request)
    parsed = await _parse(request, pb.ExportWorkflowStepsRequest())
    store, faults = request.app[STORE], request.app[FAULTS]
    results: list[dict[str, Any]] = []
    for step in parsed.workflow_steps:
        error = store.add_workflow_step(tenant, step, reject=faults.reject_item())
        results.append(
            {"step_id": step.id, "accepted": True} if error is None else {"step_id": step.id, "error": error}
        )
    store.stats.requests[("http", "202")] += 1
    return web.json_response({"results": results}, status=202)


def _limit(request: web.Request) -> int:
    try:
        return max(0, int(request.query.get("limit", "0")))
    except ValueError:
        raise web.HTTPBadRequest(text="limit must be a number") from None


async def list_generations(request: web.Request) -> web.Response:
    store = request.app[STORE]
    if request.method == "DELETE":
        store.clear()
        return web.json_response({"cleared": True})
    q = request.query
    items = store.query(
        tenant=q.get("tenant", ""),
        conversation_id=q.get("conversation_id", ""),
        agent_name=q.get("agent_name", ""),
        limit=_limit(request),
    )
    return web.json_response({"items": [item.to_json() for item in items]})


async def get_generation(request: web.Request) -> web.Response:
    stored = request.app[STORE].get(request.match_info["id"], tenant=request.query.get("tenant", ""))
    if stored is None:
        raise web.HTTPNotFound(text=json.dumps({"error": "generation not found"}), content_type="application/json")
    return web.json_response(stored.to_json())


async def list_workflow_steps(request: web.Request) -> web.Response:
    items = request.app[STORE].query("workflow_step", tenant=request.query.get("tenant", ""), limit=_limit(request))
    return web.json_response({"items": [item.to_json() for item in items]})


async def conversations(request: web.Request) -> web.Response:
    return web.json_response({"items": request.app[STORE].conversations(request.query.get("tenant", ""))})


async def faults(request: web.Request) -> web.Response:
    state = request.app[FAULTS]
    if request.method == "DELETE":
        state.clear()
    elif request.method == "POST":
        try:
            data = await request.json()
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
            state.update(data)
        except (ValueError, TypeError) as exc:
            raise web.HTTPBadRequest(text=f"bad faults: {exc}") from None
    return web.json_response(state.as_dict())


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def prometheus(request: web.Request) -> web.Response:
    return web.Response(text=metrics.render(request.app[STORE]), content_type="text/plain", charset="utf-8")


async def index(request: web.Request) -> web.Response:
    return web.Response(text=page.HTML, content_type="text/html", charset="utf-8")


def create_app(store: Store, auth: Authenticator, fault_state: Faults) -> web.Application:
    app = web.Application(client_max_size=64 << 20)
    app[STORE] = store
    app[AUTH] = auth
    app[FAULTS] = fault_state
    app.router.add_route("*", "/api/v1/generations:export", export_generations)
    app.router.add_route("*", "/api/v1/workflow-steps:export", export_workflow_steps)
    app.router.add_get("/api/v1/generations", list_generations)
    app.router.add_delete("/api/v1/generations", list_generations)
    app.router.add_get("/api/v1/generations/{id}", get_generation)
    app.router.add_get("/api/v1/workflow-steps", list_workflow_steps)
    app.router.add_get("/api/v1/conversations", conversations)
    app.router.add_route("*", "/api/v1/faults", faults)
    app.router.add_get("/healthz", health)
    app.router.add_get("/readyz", health)
    app.router.add_get("/metrics", prometheus)
    app.router.add_get("/", index)
    return app
