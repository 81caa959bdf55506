"""The request's trace read from a LiteLLM event: LiteLLM's request span, else a client's traceparent."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from sigil_sdk_litellm.mapping.trace_context import TRACEPARENT_KEY, parent_context, request_traceparent
from tests.support import callback_kwargs

CLIENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _with(metadata: dict[str, Any] | None = None, headers: dict[str, str] | None = None, **top: Any) -> dict[str, Any]:
    kwargs = callback_kwargs(**top)
    kwargs["litellm_params"]["metadata"] = metadata or {}
    if headers is not None:
        kwargs["litellm_params"]["proxy_server_request"] = {"headers": headers}
    return kwargs


def test_no_trace_is_no_traceparent() -> None:
    assert request_traceparent(callback_kwargs()) == ""
    assert parent_context("") is None


def test_a_clients_traceparent_header() -> None:
    assert request_traceparent(_with(headers={"traceparent": CLIENT})) == CLIENT


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",  # an all-zero trace id is invalid
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033-01",
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  # version ff is forbidden
    ],
)
def test_an_invalid_traceparent_is_no_trace(value: str) -> None:
    assert request_traceparent(_with(headers={"traceparent": value})) == ""
    assert parent_context(value) is None


@pytest.mark.parametrize("holder", ["metadata", "litellm_metadata"])
def test_litellms_request_span_wins_over_the_header(holder: str) -> None:
    """LiteLLM's otel callback puts its request span (a live span object) in the request metadata; the
    span was started under the client's traceparent, so it is the nearer parent."""
    span = TracerProvider().get_tracer("litellm").start_span("Received Proxy Server Request")
    context = span.get_span_context()
    kwargs = _with(headers={"traceparent": CLIENT})
    kwargs["litellm_params"][holder] = {"litellm_parent_otel_span": span}
    flags = int(context.trace_flags)  # sampled, and (W3C level 2) a random trace id: 03
    assert request_traceparent(kwargs) == f"00-{context.trace_id:032x}-{context.span_id:016x}-{flags:02x}"


def test_a_slim_events_traceparent_comes_first() -> None:
    other = "00-11111111111111111111111111111111-2222222222222222-00"
    assert request_traceparent(_with(headers={"traceparent": CLIENT}, **{TRACEPARENT_KEY: other})) == other


def test_a_span_that_is_no_span_is_ignored() -> None:
    assert request_traceparent(_with({"litellm_parent_otel_span": "not a span"})) == ""
    assert request_traceparent(_with({"litellm_parent_otel_span": trace.INVALID_SPAN})) == ""


def test_the_parent_context_holds_the_request_span_as_remote() -> None:
    context = parent_context(CLIENT)
    assert context is not None
    parent = trace.get_current_span(context).get_span_context()
    assert (f"{parent.trace_id:032x}", f"{parent.span_id:016x}") == (
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
    )
    assert parent.is_remote and parent.trace_flags.sampled
