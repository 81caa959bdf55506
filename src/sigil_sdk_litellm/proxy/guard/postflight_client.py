"""Postflight evaluation over HTTP: ``POST /api/v1/hooks:evaluate`` keeping the transformed *output*.

Why not ``sigil_sdk.hooks.evaluate_hook`` as for preflight: sigil-sdk 0.9.x parses only the messages,
system prompt and preview of ``transformed_input`` and drops its ``output``, so a postflight transform
(a redacted answer) would be lost. The request is serialised and the answer parsed with the SDK's own
wire helpers (the same format as ``evaluate_hook``, pinned with sigil-sdk 0.9.x); only the ``output``
of the transformed input is read here in addition. Failures raise ``HookTransportError`` with the SDK's
texts, so the guard treats both phases alike.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sigil_sdk import hooks as sdk_hooks
from sigil_sdk.errors import HookTransportError
from sigil_sdk.hooks import HOOK_TIMEOUT_HEADER, HOOKS_EVALUATE_PATH, HookEvaluateRequest, HookEvaluateResponse
from sigil_sdk.models import Message

__all__ = ["PostflightAnswer", "evaluate_postflight", "parse_answer"]

_MAX_ANSWER_BYTES = 4 << 20


@dataclass(frozen=True)
class PostflightAnswer:
    """The SDK's response, and the transformed output (None when the rules did not change the answer)."""

    response: HookEvaluateResponse
    output: list[Message] | None


def parse_answer(payload: Any) -> PostflightAnswer:
    """An evaluation's JSON answer as the SDK reads it, plus ``transformed_input.output``."""
    response = sdk_hooks._parse_response(payload)
    transformed = payload.get("transformed_input") if isinstance(payload, dict) else None
    raw_output = transformed.get("output") if isinstance(transformed, dict) else None
    output: list[Message] | None = None
    if isinstance(raw_output, list):
        output = [m for m in (sdk_hooks._parse_wire_message_dict(item) for item in raw_output) if m is not None]
    return PostflightAnswer(response, output or None)


def evaluate_postflight(
    *,
    base_url: str,
    headers: Mapping[str, str],
    timeout: float,
    request: HookEvaluateRequest,
    context: ssl.SSLContext | None = None,
) -> PostflightAnswer:
    """One evaluation (blocking urllib I/O: run it off the event loop); ``context`` verifies HTTPS (the
    system's CAs when None)."""
    body = json.dumps(sdk_hooks._serialize_request(request)).encode("utf-8")
    http_request = urllib.request.Request(
        base_url.rstrip("/") + HOOKS_EVALUATE_PATH,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            HOOK_TIMEOUT_HEADER: str(max(1, int(timeout * 1000))),
            **headers,
        },
    )
    try:
        with urllib.request.urlopen(http_request, timeout=timeout, context=context) as answer:
            raw = answer.read(_MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", errors="replace").strip() if exc.fp is not None else ""
        detail = text or f"HTTP {exc.code}"
        raise HookTransportError(f"sigil hook evaluation failed: status {exc.code}: {detail}") from None
    except Exception as exc:  # noqa: BLE001 - connection refused, timeouts, TLS: the SDK's text
        raise HookTransportError(f"sigil hook evaluation failed: {exc}") from None
    if len(raw) > _MAX_ANSWER_BYTES:
        raise HookTransportError("sigil hook evaluation failed: hook response too large")
    try:
        return parse_answer(json.loads(raw.decode("utf-8", errors="replace")))
    except ValueError as exc:
        raise HookTransportError(f"sigil hook evaluation failed: invalid JSON response: {exc}") from None
