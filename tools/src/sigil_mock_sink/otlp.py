"""An OTLP receiver for traces and metrics beside the Sigil ingest: ``POST /v1/traces`` and
``/v1/metrics`` on the HTTP port (binary protobuf), ``opentelemetry.proto.collector.trace.v1.TraceService``
and ``...metrics.v1.MetricsService`` ``Export`` on the gRPC port, so one endpoint serves the proxy's
generations and its OpenTelemetry signals (OTLP v1.10.0, the classes of the ``opentelemetry-proto``
package sigil-sdk installs).

Requests answer as the OTLP specification and the Collector's receiver do. HTTP: the tenant first
(the same ``--auth`` as ingest; 401), then ``405`` for another method and ``415`` for a Content-Type
other than ``application/x-protobuf`` (plain text, as the Collector writes them), then the body is
parsed (``400``); 4xx answers the receiver makes after the media type carry a protobuf
``google.rpc.Status``; success is ``200`` with an empty ``Export*ServiceResponse``. A gzip body
(``Content-Encoding: gzip``) is inflated by aiohttp. gRPC: ``UNAUTHENTICATED``, ``INVALID_ARGUMENT``
for a body that does not parse. A body parses when protobuf decodes it and every span (and link)
has a 16-byte trace id and an 8-byte span id (an 8-byte parent or none): the Collector's pdata
refuses other lengths, and a span without ids could never be found again. The ingest faults do not
apply here; stop the receiver's port (or point the exporter elsewhere) to test an outage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import grpc
from aiohttp import web
from google.protobuf.message import DecodeError
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_service
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_service

from .auth import AuthError
from .core import Sink

PROTOBUF = "application/x-protobuf"
TRACES_PATH = "/v1/traces"
METRICS_PATH = "/v1/metrics"
VIA_HTTP = "otlp http"
VIA_GRPC = "otlp grpc"


class OTLPError(ValueError):
    """The body is not a valid OTLP export request (HTTP 400 / INVALID_ARGUMENT, with this text)."""


@dataclass(frozen=True)
class Signal:
    name: str  # "traces" or "metrics"
    request: type[Any]
    response: type[Any]
    service: str  # the gRPC service's full name

    def parse(self, body: bytes) -> Any:
        message = self.request()
        try:
            message.ParseFromString(body)
        except DecodeError as exc:
            raise OTLPError(f"cannot decode {self.request.DESCRIPTOR.full_name}: {exc}") from None
        if self.name == "traces":
            _check_ids(message)
        return message

    def keep(self, sink: Sink, tenant: str, message: Any, via: str) -> None:
        if self.name == "traces":
            kept = sink.telemetry.add_traces(tenant, message, via)
        else:
            kept = sink.telemetry.add_metrics(tenant, message, via)
        if sink.log_requests:
            unit = "spans" if self.name == "traces" else "points"
            print(f"sigil-mock-sink: {via} {self.name} tenant={tenant} {unit}={kept}", file=sink.log, flush=True)


TRACES = Signal(
    "traces",
    trace_service.ExportTraceServiceRequest,
    trace_service.ExportTraceServiceResponse,
    "opentelemetry.proto.collector.trace.v1.TraceService",
)
METRICS = Signal(
    "metrics",
    metrics_service.ExportMetricsServiceRequest,
    metrics_service.ExportMetricsServiceResponse,
    "opentelemetry.proto.collector.metrics.v1.MetricsService",
)


def _id_error(value: bytes, size: int, where: str, optional: bool = False) -> str | None:
    if optional and not value:
        return None
    if len(value) != size:
        return f"{where} must be {size} bytes, got {len(value)}"
    if not any(value):
        return f"{where} must not be all zeros"
    return None


def _check_ids(request: trace_service.ExportTraceServiceRequest) -> None:
    for r, rs in enumerate(request.resource_spans):
        for s, ss in enumerate(rs.scope_spans):
            for i, span in enumerate(ss.spans):
                where = f"resource_spans[{r}].scope_spans[{s}].spans[{i}]"
                checks = [
                    _id_error(span.trace_id, 16, f"{where}.trace_id"),
                    _id_error(span.span_id, 8, f"{where}.span_id"),
                    _id_error(span.parent_span_id, 8, f"{where}.parent_span_id", optional=True),
                ]
                for n, link in enumerate(span.links):
                    checks.append(_id_error(link.trace_id, 16, f"{where}.links[{n}].trace_id"))
                    checks.append(_id_error(link.span_id, 8, f"{where}.links[{n}].span_id"))
                error = next((c for c in checks if c), None)
                if error:
                    raise OTLPError(error)


# -- HTTP ----------------------------------------------------------------------------------------


def _status(http_status: int, code: int, message: str) -> web.Response:
    body = status_pb2.Status(code=code, message=message).SerializeToString()
    return web.Response(status=http_status, body=body, content_type=PROTOBUF)


def _text(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message + "\n", content_type="text/plain", charset="utf-8")


def http_handler(signal: Signal, sink_key: web.AppKey[Sink]) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        sink = request.app[sink_key]
        try:
            tenant = sink.tenant({k.lower(): v for k, v in request.headers.items()})
        except AuthError as exc:
            sink.note("otlp http", "401", str(exc))
            return _status(401, code_pb2.UNAUTHENTICATED, str(exc))
        if request.method != "POST":
            sink.note("otlp http", "405", request.method)
            return _text(405, f"{request.method} method not allowed, supported: [POST]")
        if request.content_type != PROTOBUF:
            sink.note("otlp http", "415", request.content_type)
            return _text(415, f"{request.content_type} unsupported media type, supported: [{PROTOBUF}]")
        try:
            message = signal.parse(await request.read())
        except OTLPError as exc:
            sink.note("otlp http", "400", str(exc))
            return _status(400, code_pb2.INVALID_ARGUMENT, str(exc))
        signal.keep(sink, tenant, message, VIA_HTTP)
        sink.count("otlp http", "200")
        return web.Response(body=signal.response().SerializeToString(), content_type=PROTOBUF)

    return handle


def register_http(app: web.Application, sink_key: web.AppKey[Sink]) -> None:
    app.router.add_route("*", TRACES_PATH, http_handler(TRACES, sink_key))
    app.router.add_route("*", METRICS_PATH, http_handler(METRICS, sink_key))


# -- gRPC ----------------------------------------------------------------------------------------


async def _abort(context: grpc.aio.ServicerContext, sink: Sink, code: grpc.StatusCode, detail: str) -> NoReturn:
    sink.note("otlp grpc", code.name, detail)
    await context.abort(code, detail)
    raise AssertionError("abort returns only by raising")


def _grpc_handler(sink: Sink, signal: Signal) -> grpc.GenericRpcHandler:
    async def export(body: bytes, context: grpc.aio.ServicerContext) -> Any:
        metadata: Mapping[str, str] = {key.lower(): value for key, value in context.invocation_metadata() or ()}
        try:
            tenant = sink.tenant(metadata)
        except AuthError as exc:
            await _abort(context, sink, grpc.StatusCode.UNAUTHENTICATED, str(exc))
        try:
            message = signal.parse(body)
        except OTLPError as exc:
            await _abort(context, sink, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        signal.keep(sink, tenant, message, VIA_GRPC)
        sink.count("otlp grpc", "OK")
        return signal.response()

    # the body arrives as bytes (no deserializer) so a malformed one is INVALID_ARGUMENT, not INTERNAL
    method = grpc.unary_unary_rpc_method_handler(export, response_serializer=signal.response.SerializeToString)
    return grpc.method_handlers_generic_handler(signal.service, {"Export": method})


def grpc_handlers(sink: Sink) -> tuple[grpc.GenericRpcHandler, ...]:
    return _grpc_handler(sink, TRACES), _grpc_handler(sink, METRICS)
