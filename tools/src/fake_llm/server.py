"""The fake upstream's HTTP server (aiohttp): OpenAI routes plus a small test API under ``/_fake``."""

from __future__ import annotations

import asyncio
import collections
import json
import time
from typing import Any

from aiohttp import web

from . import responses

REQUESTS_KEY = web.AppKey("requests", collections.deque)
STATS_KEY = web.AppKey("stats", dict)
LATENCY_KEY = web.AppKey("latency", float)
CHUNK_DELAY_KEY = web.AppKey("chunk_delay", float)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": {"message": "body is not JSON", "type": "invalid_request_error"}}),
            content_type="application/json",
        ) from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(
            text='{"error": {"message": "body must be an object"}}', content_type="application/json"
        )
    headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
    request.app[REQUESTS_KEY].append({"method": request.method, "path": request.path, "headers": headers, "body": data})
    request.app[STATS_KEY]["requests"] += 1
    latency = request.app[LATENCY_KEY]
    if latency > 0:
        await asyncio.sleep(latency)
    return data


def _error_response(body: dict[str, Any]) -> web.Response | None:
    failure = responses.error_for(str(body.get("model") or ""))
    if failure is None:
        return None
    status, payload = failure
    return web.json_response(payload, status=status)


async def chat_completions(request: web.Request) -> web.StreamResponse:
    body = await _body(request)
    error = _error_response(body)
    if error is not None:
        return error
    if not body.get("stream"):
        return web.json_response(responses.chat_completion(body))
    return await _stream(request, responses.chat_chunks(body))


async def completions(request: web.Request) -> web.StreamResponse:
    body = await _body(request)
    error = _error_response(body)
    if error is not None:
        return error
    result = responses.text_completion(body)
    if not body.get("stream"):
        return web.json_response(result)
    chunk = {**result, "choices": [{**result["choices"][0]}]}
    chunks = [chunk]
    if (body.get("stream_options") or {}).get("include_usage"):
        chunks.append({**result, "choices": []})
    return await _stream(request, chunks)


async def _stream(request: web.Request, chunks: list[dict[str, Any]]) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    delay = request.app[CHUNK_DELAY_KEY]
    model = str(chunks[0].get("model", "")) if chunks else ""
    if "slow" in model:
        delay = max(delay, 0.05)
    for chunk in chunks:
        await response.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        if delay:
            await asyncio.sleep(delay)
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


async def embeddings(request: web.Request) -> web.Response:
    body = await _body(request)
    error = _error_response(body)
    if error is not None:
        return error
    return web.json_response(responses.embedding(body))


async def models(request: web.Request) -> web.Response:
    now = int(time.time())
    names = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "fake-reasoning", "fake-error-500"]
    data = [{"id": name, "object": "model", "created": now, "owned_by": "fake-llm"} for name in names]
    return web.json_response({"object": "list", "data": data})


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def recorded(request: web.Request) -> web.Response:
    if request.method == "DELETE":
        request.app[REQUESTS_KEY].clear()
        return web.json_response({"cleared": True})
    return web.json_response({"items": list(request.app[REQUESTS_KEY])})


async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATS_KEY])


def create_app(*, latency: float = 0.0, chunk_delay: float = 0.0, keep_requests: int = 1000) -> web.Application:
    app = web.Application(client_max_size=64 << 20)
    app[REQUESTS_KEY] = collections.deque(maxlen=keep_requests)
    app[STATS_KEY] = {"requests": 0}
    app[LATENCY_KEY] = latency
    app[CHUNK_DELAY_KEY] = chunk_delay
    for prefix in ("/v1", ""):
        app.router.add_post(f"{prefix}/chat/completions", chat_completions)
        app.router.add_post(f"{prefix}/completions", completions)
        app.router.add_post(f"{prefix}/embeddings", embeddings)
        app.router.add_get(f"{prefix}/models", models)
    app.router.add_get("/health", health)
    app.router.add_route("*", "/_fake/requests", recorded)
    app.router.add_get("/_fake/stats", stats)
    return app
