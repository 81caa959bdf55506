"""The aiohttp application: OpenAI routes (with and without ``/v1``), Anthropic's ``/v1/messages``,
``/health`` and the ``/_fake`` test API.

Every OpenAI route is counted and, unless ``keep_requests`` is 0, recorded (method, path, headers
without credentials, JSON body, answer status) in a bounded deque. Answers are built by pure functions
(:mod:`.chat`, :mod:`.legacy`, :mod:`.embeddings`, :mod:`.images`, :mod:`.responses_api`,
:mod:`.anthropic_messages`);
nothing sleeps unless a latency or chunk delay was asked for, and a stream without delay is written in
one piece.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from . import anthropic_messages, behaviours, chat, embeddings, images, legacy, responses_api
from .responses import error_body, model_of, prompt_text

HIDDEN_HEADERS = frozenset({"authorization", "api-key", "x-api-key", "proxy-authorization"})
MODELS = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "fake-reasoning", "fake-slow"]
MODELS += ["fake-error-400", "fake-error-429", "fake-error-500", "claude-sonnet-4-5"]
SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
DONE = b"data: [DONE]\n\n"


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass
class State:
    """Settings and the in-memory record of one server."""

    latency: float = 0.0
    chunk_delay: float = 0.0
    embedding_dimensions: int = 8
    keep_requests: int = 1000
    requests: collections.deque[dict[str, Any]] = field(default_factory=collections.deque)
    stats: dict[str, Any] = field(default_factory=lambda: {"requests": 0, "streams": 0, "errors": 0})
    by_path: collections.Counter[str] = field(default_factory=collections.Counter)

    def __post_init__(self) -> None:
        self.requests = collections.deque(maxlen=self.keep_requests)

    def record(self, request: web.Request) -> dict[str, Any]:
        self.stats["requests"] += 1
        self.by_path[request.path] += 1
        entry: dict[str, Any] = {"method": request.method, "path": request.path}
        if self.keep_requests:
            entry["headers"] = {k: v for k, v in request.headers.items() if k.lower() not in HIDDEN_HEADERS}
            entry["body"] = None
            self.requests.append(entry)
        return entry

    def answer(self, entry: dict[str, Any], response: web.StreamResponse) -> web.StreamResponse:
        entry["status"] = response.status
        if response.status >= 400:
            self.stats["errors"] += 1
        return response


STATE = web.AppKey("fake_llm_state", State)


def error_response(status: int, message: str, kind: str = "") -> web.Response:
    body = anthropic_messages.error_body(status, message) if kind == "messages" else error_body(status, message)
    return web.Response(text=dumps(body), status=status, content_type="application/json")


def json_response(value: Any) -> web.Response:
    return web.Response(text=dumps(value), content_type="application/json")


async def _read_json(request: web.Request) -> dict[str, Any] | None:
    try:
        data = json.loads(await request.read())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


async def _write_stream(request: web.Request, chunks: list[dict[str, Any]], delay: float) -> web.StreamResponse:
    response = web.StreamResponse(headers=SSE_HEADERS)
    await response.prepare(request)
    events = [b"data: " + dumps(chunk).encode() + b"\n\n" for chunk in chunks]
    with contextlib.suppress(ConnectionError):  # the client went away mid-stream: nothing to tell
        if delay <= 0:
            await response.write(b"".join(events) + DONE)
        else:
            for event in events:
                await response.write(event)
                await asyncio.sleep(delay)
            await response.write(DONE)
        await response.write_eof()
    return response


async def _write_events(request: web.Request, events: list[dict[str, Any]], delay: float) -> web.StreamResponse:
    """Server-sent events with an ``event:`` line naming each (Responses and Anthropic streams; no [DONE])."""
    response = web.StreamResponse(headers=SSE_HEADERS)
    await response.prepare(request)
    encoded = [f"event: {event['type']}\ndata: {dumps(event)}\n\n".encode() for event in events]
    with contextlib.suppress(ConnectionError):
        if delay <= 0:
            await response.write(b"".join(encoded))
        else:
            for event in encoded:
                await response.write(event)
                await asyncio.sleep(delay)
        await response.write_eof()
    return response


def _marker_text(kind: str, body: dict[str, Any]) -> str:
    if kind == "responses":
        return responses_api.input_text(body)
    if kind == "messages":
        return anthropic_messages.input_text(body)
    return prompt_text(body)


async def _serve(request: web.Request, kind: str) -> web.StreamResponse:
    state = request.app[STATE]
    entry = state.record(request)
    body = await _read_json(request)
    if body is None:
        return state.answer(entry, error_response(400, "fake-llm: the body must be a JSON object", kind))
    if state.keep_requests:
        entry["body"] = body
    behaviour = behaviours.for_request(model_of(body), _marker_text(kind, body))
    wait = state.latency + behaviour.latency_ms / 1000
    if wait > 0:
        await asyncio.sleep(wait)
    if behaviour.error_status is not None:
        message = f"fake-llm: error-{behaviour.error_status} requested by the model name or a [fake:] marker"
        return state.answer(entry, error_response(behaviour.error_status, message, kind))
    if kind in ("responses", "messages"):
        return state.answer(entry, await _serve_events(request, state, kind, body, behaviour))
    if kind == "images":
        if not isinstance(body.get("prompt"), str):
            return state.answer(entry, error_response(400, "Missing required parameter: 'prompt'."))
        return state.answer(entry, json_response(images.response(body)))
    if kind == "embeddings":
        if "input" not in body:
            return state.answer(entry, error_response(400, "Missing required parameter: 'input'."))
        return state.answer(entry, json_response(embeddings.response(body, state.embedding_dimensions)))
    if kind == "chat" and not isinstance(body.get("messages"), list):
        return state.answer(entry, error_response(400, "Missing required parameter: 'messages'."))
    if not body.get("stream"):
        whole = chat.completion(body, behaviour) if kind == "chat" else legacy.completion(body)
        return state.answer(entry, json_response(whole))
    state.stats["streams"] += 1
    chunks = chat.chunks(body, behaviour) if kind == "chat" else legacy.chunks(body)
    delay = max(state.chunk_delay, behaviour.chunk_delay_ms / 1000)
    return state.answer(entry, await _write_stream(request, chunks, delay))


async def _serve_events(
    request: web.Request, state: State, kind: str, body: dict[str, Any], behaviour: behaviours.Behaviour
) -> web.StreamResponse:
    module: Any = responses_api if kind == "responses" else anthropic_messages
    if kind == "messages" and not isinstance(body.get("messages"), list):
        return error_response(400, "messages: Field required", kind)
    if kind == "responses" and "input" not in body:
        return error_response(400, "Missing required parameter: 'input'.", kind)
    if not body.get("stream"):
        whole = responses_api.response(body, behaviour) if kind == "responses" else module.message(body, behaviour)
        return json_response(whole)
    state.stats["streams"] += 1
    delay = max(state.chunk_delay, behaviour.chunk_delay_ms / 1000)
    return await _write_events(request, module.events(body, behaviour), delay)


async def responses_route(request: web.Request) -> web.StreamResponse:
    return await _serve(request, "responses")


async def messages_route(request: web.Request) -> web.StreamResponse:
    return await _serve(request, "messages")


async def chat_completions(request: web.Request) -> web.StreamResponse:
    return await _serve(request, "chat")


async def completions(request: web.Request) -> web.StreamResponse:
    return await _serve(request, "completions")


async def embeddings_route(request: web.Request) -> web.StreamResponse:
    return await _serve(request, "embeddings")


async def images_route(request: web.Request) -> web.StreamResponse:
    return await _serve(request, "images")


def _model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 1700000000, "owned_by": "fake-llm"}


MODELS_TEXT = dumps({"object": "list", "data": [_model(name) for name in MODELS]})


async def models(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    return state.answer(state.record(request), web.Response(text=MODELS_TEXT, content_type="application/json"))


async def model(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    return state.answer(state.record(request), json_response(_model(request.match_info["model"])))


async def health(request: web.Request) -> web.Response:
    return web.Response(text='{"status":"ok"}', content_type="application/json")


async def recorded(request: web.Request) -> web.Response:
    """``GET``: ``{"items": [...]}``, oldest first; ``DELETE``: forget them, ``{"cleared": N}``."""
    items = request.app[STATE].requests
    if request.method == "DELETE":
        count = len(items)
        items.clear()
        return json_response({"cleared": count})
    return json_response({"items": list(items)})


async def stats(request: web.Request) -> web.Response:
    """``{"requests", "streams", "errors", "by_path", "uptime_s"}`` since start."""
    state = request.app[STATE]
    uptime = round(time.monotonic() - request.app[STARTED_KEY], 3)
    return json_response({**state.stats, "by_path": dict(state.by_path), "uptime_s": uptime})


STARTED_KEY = web.AppKey("fake_llm_started", float)


def create_app(
    *,
    latency: float = 0.0,
    chunk_delay: float = 0.0,
    keep_requests: int = 1000,
    embedding_dimensions: int = 8,
) -> web.Application:
    """The fake's application; ``latency`` and ``chunk_delay`` in seconds."""
    app = web.Application(client_max_size=64 << 20)
    app[STATE] = State(
        latency=latency,
        chunk_delay=chunk_delay,
        keep_requests=max(0, keep_requests),
        embedding_dimensions=embedding_dimensions,
    )
    app[STARTED_KEY] = time.monotonic()
    for prefix in ("/v1", ""):
        app.router.add_post(f"{prefix}/chat/completions", chat_completions)
        app.router.add_post(f"{prefix}/completions", completions)
        app.router.add_post(f"{prefix}/embeddings", embeddings_route)
        app.router.add_post(f"{prefix}/images/generations", images_route)
        app.router.add_post(f"{prefix}/responses", responses_route)
        app.router.add_post(f"{prefix}/messages", messages_route)
        app.router.add_get(f"{prefix}/models", models)
        app.router.add_get(f"{prefix}/models/{{model}}", model)
    app.router.add_get("/health", health)
    app.router.add_route("GET", "/_fake/requests", recorded)
    app.router.add_route("DELETE", "/_fake/requests", recorded)
    app.router.add_get("/_fake/stats", stats)
    return app
