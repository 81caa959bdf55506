"""The OTLP traces and metrics the sink received, kept flat for tests and the page.

Each span becomes one JSON-ready dict (hex ids, attributes as plain values, its resource and scope
beside it), each metric data point one dict (the metric's name, type, unit and temporality beside the
point's values). Both are bounded (``max_items`` each, oldest dropped and counted) and in memory only:
traces are for looking at now, generations are what the SQLite file keeps. Spans are indexed by
``(trace_id, span_id)`` so the page can pair a generation with its span.
"""

from __future__ import annotations

import base64
import threading
import time
from collections import Counter, OrderedDict, deque
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

SPANS = "spans"
METRIC_POINTS = "metric_points"
SIGNALS = (SPANS, METRIC_POINTS)


def value(any_value: AnyValue) -> Any:
    """An attribute value as plain JSON: arrays as lists, key-value lists as objects, bytes as base64."""
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return attributes(any_value.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(any_value.bytes_value).decode()
    return getattr(any_value, kind)


def attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: value(pair.value) for pair in pairs if isinstance(pair, KeyValue)}


def _scope(scope: InstrumentationScope) -> dict[str, Any]:
    return {"name": scope.name, "version": scope.version, "attributes": attributes(scope.attributes)}


def _span(span: trace_pb2.Span) -> dict[str, Any]:
    return {
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent_span_id": span.parent_span_id.hex(),
        "trace_state": span.trace_state,
        "name": span.name,
        "kind": trace_pb2.Span.SpanKind.Name(span.kind),
        "start_time_unix_nano": span.start_time_unix_nano,
        "end_time_unix_nano": span.end_time_unix_nano,
        "attributes": attributes(span.attributes),
        "events": [
            {"name": e.name, "time_unix_nano": e.time_unix_nano, "attributes": attributes(e.attributes)}
            for e in span.events
        ],
        "links": [
            {"trace_id": link.trace_id.hex(), "span_id": link.span_id.hex(), "attributes": attributes(link.attributes)}
            for link in span.links
        ],
        "status": {"code": trace_pb2.Status.StatusCode.Name(span.status.code), "message": span.status.message},
    }


def _number(point: Any) -> int | float | None:
    kind = point.WhichOneof("value")
    return None if kind is None else getattr(point, kind)


def _optional(point: Any, name: str) -> float | None:
    return getattr(point, name) if point.HasField(name) else None


def _points(metric: metrics_pb2.Metric) -> list[dict[str, Any]]:
    """One dict per data point, whatever the metric's type."""
    kind = metric.WhichOneof("data")
    if kind is None:
        return []
    data = getattr(metric, kind)
    common = {"name": metric.name, "description": metric.description, "unit": metric.unit, "type": kind}
    if hasattr(data, "aggregation_temporality"):
        common["temporality"] = metrics_pb2.AggregationTemporality.Name(data.aggregation_temporality)
    if kind == "sum":
        common["is_monotonic"] = data.is_monotonic
    out = []
    for p in data.data_points:
        point = {
            **common,
            "attributes": attributes(p.attributes),
            "start_time_unix_nano": p.start_time_unix_nano,
            "time_unix_nano": p.time_unix_nano,
        }
        if kind in ("gauge", "sum"):
            point["value"] = _number(p)
        elif kind == "histogram":
            point.update(count=p.count, sum=_optional(p, "sum"), min=_optional(p, "min"), max=_optional(p, "max"))
            point.update(bucket_counts=list(p.bucket_counts), explicit_bounds=list(p.explicit_bounds))
        elif kind == "exponential_histogram":
            point.update(count=p.count, sum=_optional(p, "sum"), min=_optional(p, "min"), max=_optional(p, "max"))
            point.update(scale=p.scale, zero_count=p.zero_count)
            point["positive"] = {"offset": p.positive.offset, "bucket_counts": list(p.positive.bucket_counts)}
            point["negative"] = {"offset": p.negative.offset, "bucket_counts": list(p.negative.bucket_counts)}
        else:  # summary
            point.update(count=p.count, sum=p.sum)
            point["quantile_values"] = [{"quantile": q.quantile, "value": q.value} for q in p.quantile_values]
        out.append(point)
    return out


class TelemetryStore:
    """Spans and metric points, each at most ``max_items``, oldest first."""

    def __init__(self, max_items: int = 10_000) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.max_items = max_items
        self.received: Counter[str] = Counter()
        self.evicted: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._spans: OrderedDict[tuple[str, str, str], dict[str, Any]] = OrderedDict()  # (tenant, trace, span)
        self._points: deque[dict[str, Any]] = deque()

    def add_traces(self, tenant: str, request: ExportTraceServiceRequest, via: str) -> int:
        """Keep every span of the request; how many."""
        now = time.time()
        added = [
            {
                **_span(span),
                "resource": attributes(rs.resource.attributes),
                "scope": _scope(ss.scope),
                "_tenant": tenant,
                "_received_at": now,
                "_via": via,
            }
            for rs in request.resource_spans
            for ss in rs.scope_spans
            for span in ss.spans
        ]
        with self._lock:
            self.received[SPANS] += len(added)
            for span in added:
                self._spans[(tenant, span["trace_id"], span["span_id"])] = span
                self._spans.move_to_end((tenant, span["trace_id"], span["span_id"]))
            while len(self._spans) > self.max_items:
                self._spans.popitem(last=False)
                self.evicted[SPANS] += 1
        return len(added)

    def add_metrics(self, tenant: str, request: ExportMetricsServiceRequest, via: str) -> int:
        """Keep every data point of the request; how many."""
        now = time.time()
        added = [
            {
                **point,
                "resource": attributes(rm.resource.attributes),
                "scope": _scope(sm.scope),
                "_tenant": tenant,
                "_received_at": now,
                "_via": via,
            }
            for rm in request.resource_metrics
            for sm in rm.scope_metrics
            for metric in sm.metrics
            for point in _points(metric)
        ]
        with self._lock:
            self.received[METRIC_POINTS] += len(added)
            self._points.extend(added)
            while len(self._points) > self.max_items:
                self._points.popleft()
                self.evicted[METRIC_POINTS] += 1
        return len(added)

    def spans(
        self, *, tenant: str = "", trace_id: str = "", span_id: str = "", name: str = "", limit: int = 0
    ) -> list[dict[str, Any]]:
        """Newest first; empty filters match everything; ids are lower-case hex."""
        with self._lock:
            values = list(self._spans.values())
        out = []
        for span in reversed(values):
            if (tenant and span["_tenant"] != tenant) or (trace_id and span["trace_id"] != trace_id):
                continue
            if (span_id and span["span_id"] != span_id) or (name and span["name"] != name):
                continue
            out.append(span)
            if limit and len(out) >= limit:
                break
        return out

    def has_span(self, tenant: str, trace_id: str, span_id: str) -> bool:
        with self._lock:
            return (tenant, trace_id, span_id) in self._spans

    def metric_points(self, *, tenant: str = "", name: str = "", limit: int = 0) -> list[dict[str, Any]]:
        """Newest first; ``name`` is the metric's name."""
        with self._lock:
            values = list(self._points)
        out = []
        for point in reversed(values):
            if (tenant and point["_tenant"] != tenant) or (name and point["name"] != name):
                continue
            out.append(point)
            if limit and len(out) >= limit:
                break
        return out

    def count(self, signal: str) -> int:
        with self._lock:
            return len(self._spans) if signal == SPANS else len(self._points)

    def clear(self) -> None:
        with self._lock:
            self._spans.clear()
            self._points.clear()
