"""The request's trace: the W3C ``traceparent`` a generation's span is started under.

A LiteLLM event names the request's span in one of two ways, tried in LiteLLM's own order (its ``otel``
callback's ``_get_span_context``): the proxy's request span, ``litellm_parent_otel_span`` in the request
metadata (present when LiteLLM's ``otel`` callback is on), else the ``traceparent`` header a client sent
(``proxy_server_request.headers``). Both are read as one ``traceparent`` text, the form that also travels
to a recorder process and through the disk spool (:data:`TRACEPARENT_KEY` of a slim event). Only a valid
context is kept (the OpenTelemetry API's own W3C parser decides); anything else is no trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from sigil_sdk_litellm.mapping.coerce import as_dict

__all__ = ["TRACEPARENT_KEY", "parent_context", "request_traceparent"]

# where a slim event (the recorder hand-off, the spool) carries the request's traceparent
TRACEPARENT_KEY = "traceparent"
_PARENT_SPAN_KEY = "litellm_parent_otel_span"
_W3C = TraceContextTextMapPropagator()


def _text(context: trace.SpanContext) -> str:
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def _parsed(value: Any) -> trace.SpanContext | None:
    if not isinstance(value, str) or not value:
        return None
    context = trace.get_current_span(_W3C.extract({"traceparent": value})).get_span_context()
    return context if context.is_valid else None


def request_traceparent(kwargs: Mapping[str, Any]) -> str:
    """The ``traceparent`` of the request's span, "" when the request has no trace."""
    if (carried := _parsed(kwargs.get(TRACEPARENT_KEY))) is not None:  # a slim event's
        return _text(carried)
    litellm_params = as_dict(kwargs.get("litellm_params"))
    for holder in ("metadata", "litellm_metadata"):
        span = as_dict(litellm_params.get(holder)).get(_PARENT_SPAN_KEY)
        get_context = getattr(span, "get_span_context", None)
        if callable(get_context):
            context = get_context()
            if isinstance(context, trace.SpanContext) and context.is_valid:
                return _text(context)
    headers = as_dict(as_dict(litellm_params.get("proxy_server_request")).get("headers"))
    found = _parsed(headers.get("traceparent"))
    return _text(found) if found is not None else ""


def parent_context(traceparent: str) -> Context | None:
    """The OpenTelemetry context whose current span is the request's (remote) span, None without one."""
    return _W3C.extract({"traceparent": traceparent}) if _parsed(traceparent) is not None else None
