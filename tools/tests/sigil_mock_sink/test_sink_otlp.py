"""The sink's OTLP receiver, driven by the OpenTelemetry SDK's own exporters (gRPC and HTTP/protobuf)
and by hand-made bad requests answered as the OTLP specification says."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from typing import Any

import grpc
import pytest
from google.rpc import code_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GRPCMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GRPCSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HTTPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HTTPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode
from sigil_mock_sink.testing import SinkProcess
from sigil_sdk.models import ExportGenerationsRequest
from sink_helpers import TENANT, TENANT_HEADERS, exporter, generation

pytestmark = pytest.mark.integration

METADATA = {"x-scope-orgid": TENANT}
PROTOBUF = {"Content-Type": "application/x-protobuf", **TENANT_HEADERS}
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _span_exporter(sink: SinkProcess, protocol: str, **kwargs: Any) -> SpanExporter:
    if protocol == "grpc":
        return GRPCSpanExporter(endpoint=sink.otlp_grpc_endpoint, insecure=True, headers=METADATA, **kwargs)
    return HTTPSpanExporter(endpoint=f"{sink.otlp_http_endpoint}/v1/traces", headers=TENANT_HEADERS, **kwargs)


@pytest.fixture
def service() -> str:
    return f"svc-{uuid.uuid4().hex[:8]}"


def _tracer_provider(exporter: SpanExporter, service: str) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_spans_arrive_flat_with_their_ids_resource_and_attributes(
    sink: SinkProcess, protocol: str, service: str
) -> None:
    provider = _tracer_provider(_span_exporter(sink, protocol), service)
    tracer = provider.get_tracer("otlp-test", "1.2.3")
    with (
        tracer.start_as_current_span("request", kind=SpanKind.SERVER) as parent,
        tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as child,
    ):
        child.set_attributes(
            {"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 3, "ratio": 0.5, "ok": True}
        )
        child.set_attribute("gen_ai.response.finish_reasons", ["stop"])
        child.add_event("retry", {"attempt": 2})
        child.set_status(Status(StatusCode.ERROR, "upstream said no"))
    provider.shutdown()
    trace_id = format(parent.get_span_context().trace_id, "032x")

    spans = sink.wait_for_spans(2, trace_id=trace_id)
    by_name = {span["name"]: span for span in spans}
    assert set(by_name) == {"request", "chat gpt-4o-mini"}
    chat, request = by_name["chat gpt-4o-mini"], by_name["request"]
    assert chat["span_id"] == format(child.get_span_context().span_id, "016x")
    assert chat["parent_span_id"] == request["span_id"] and request["parent_span_id"] == ""
    assert chat["kind"] == "SPAN_KIND_CLIENT" and request["kind"] == "SPAN_KIND_SERVER"
    assert chat["attributes"] == {
        "gen_ai.operation.name": "chat",
        "gen_ai.usage.input_tokens": 3,
        "ratio": 0.5,
        "ok": True,
        "gen_ai.response.finish_reasons": ["stop"],
    }
    assert [(e["name"], e["attributes"]) for e in chat["events"]] == [("retry", {"attempt": 2})]
    assert chat["status"] == {"code": "STATUS_CODE_ERROR", "message": "upstream said no"}
    assert chat["resource"]["service.name"] == service
    assert chat["scope"]["name"] == "otlp-test" and chat["scope"]["version"] == "1.2.3"
    assert chat["_tenant"] == TENANT and chat["_via"] == f"otlp {protocol}"
    assert chat["end_time_unix_nano"] >= chat["start_time_unix_nano"] > 0
    assert sink.spans(span_id=chat["span_id"]) == [chat]


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_metric_points_arrive_with_histogram_buckets_and_sums(sink: SinkProcess, protocol: str, service: str) -> None:
    if protocol == "grpc":
        exporter: Any = GRPCMetricExporter(endpoint=sink.otlp_grpc_endpoint, insecure=True, headers=METADATA)
    else:
        exporter = HTTPMetricExporter(endpoint=f"{sink.otlp_http_endpoint}/v1/metrics", headers=TENANT_HEADERS)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create({"service.name": service}))
    meter = provider.get_meter("otlp-test")
    histogram_name, counter_name = f"{service}.duration", f"{service}.calls"
    histogram = meter.create_histogram(histogram_name, unit="s", explicit_bucket_boundaries_advisory=[0.1, 1.0])
    histogram.record(0.05, {"gen_ai.operation.name": "chat"})
    histogram.record(0.5, {"gen_ai.operation.name": "chat"})
    meter.create_counter(counter_name).add(3, {"route": "chat"})
    provider.shutdown()

    [point] = sink.wait_for_metric_points(1, name=histogram_name)
    assert point["type"] == "histogram" and point["unit"] == "s"
    assert point["temporality"] == "AGGREGATION_TEMPORALITY_CUMULATIVE"
    assert point["attributes"] == {"gen_ai.operation.name": "chat"}
    assert point["count"] == 2 and point["sum"] == pytest.approx(0.55)
    assert point["min"] == pytest.approx(0.05) and point["max"] == pytest.approx(0.5)
    assert point["explicit_bounds"] == [0.1, 1.0] and point["bucket_counts"] == [1, 1, 0]
    assert point["resource"]["service.name"] == service and point["_via"] == f"otlp {protocol}"
    [counter] = sink.metric_points(name=counter_name)
    assert counter["type"] == "sum" and counter["is_monotonic"] is True and counter["value"] == 3


def test_a_gzip_body_is_inflated(sink: SinkProcess, service: str) -> None:
    provider = _tracer_provider(_span_exporter(sink, "http", compression=Compression.Gzip), service)
    with provider.get_tracer("otlp-test").start_as_current_span("gzipped") as span:
        pass
    provider.shutdown()
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert [s["name"] for s in sink.wait_for_spans(1, trace_id=trace_id)] == ["gzipped"]


def _post(sink: SinkProcess, path: str, body: bytes, headers: dict[str, str], method: str = "POST") -> Any:
    req = urllib.request.Request(f"{sink.http_url}{path}", data=body, method=method, headers=headers)
    try:
        with _OPENER.open(req, timeout=30) as response:
            return response.status, response.headers.get("Content-Type"), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type"), exc.read()


def _request_with_span(**span_fields: Any) -> bytes:
    fields = {"trace_id": b"\x01" * 16, "span_id": b"\x02" * 8, "name": "s", **span_fields}
    request = trace_service_pb2.ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.append(trace_pb2.Span(**fields))
    return request.SerializeToString()


def _status(body: bytes) -> status_pb2.Status:
    return status_pb2.Status.FromString(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\xff\xff\xff", "cannot decode opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest"),
        (_request_with_span(trace_id=b"\x01" * 8), "spans[0].trace_id must be 16 bytes, got 8"),
        (_request_with_span(trace_id=b"\x00" * 16), "spans[0].trace_id must not be all zeros"),
        (_request_with_span(span_id=b""), "spans[0].span_id must be 8 bytes, got 0"),
        (_request_with_span(parent_span_id=b"\x03" * 4), "spans[0].parent_span_id must be 8 bytes, got 4"),
    ],
)
def test_http_rejects_a_malformed_body_with_400_and_a_status(sink: SinkProcess, body: bytes, message: str) -> None:
    status, content_type, answer = _post(sink, "/v1/traces", body, PROTOBUF)
    assert (status, content_type) == (400, "application/x-protobuf")
    assert _status(answer).code == code_pb2.INVALID_ARGUMENT and message in _status(answer).message


def test_http_answers_method_media_type_and_tenant_like_the_collector(sink: SinkProcess) -> None:
    good = _request_with_span()
    status, content_type, answer = _post(sink, "/v1/traces", good, PROTOBUF)
    assert (status, content_type) == (200, "application/x-protobuf")
    assert trace_service_pb2.ExportTraceServiceResponse.FromString(answer) == (
        trace_service_pb2.ExportTraceServiceResponse()
    )
    assert _post(sink, "/v1/metrics", b"", PROTOBUF)[0] == 200  # an empty request is valid
    json_headers = {**TENANT_HEADERS, "Content-Type": "application/json"}
    status, _, answer = _post(sink, "/v1/traces", b"{}", json_headers)
    assert status == 415 and b"supported: [application/x-protobuf]" in answer
    assert _post(sink, "/v1/traces", b"", TENANT_HEADERS, method="GET")[0] == 405
    status, _, answer = _post(sink, "/v1/traces", good, {"Content-Type": "application/x-protobuf"})
    assert status == 401 and _status(answer).code == code_pb2.UNAUTHENTICATED and _status(answer).message == "no org id"


def _grpc_export(sink: SinkProcess, body: bytes, metadata: tuple[tuple[str, str], ...]) -> grpc.StatusCode:
    with grpc.insecure_channel(sink.grpc_target) as channel:
        export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        try:
            export(body, metadata=metadata, timeout=30)
        except grpc.RpcError as exc:
            return exc.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def test_grpc_answers_invalid_argument_and_unauthenticated(sink: SinkProcess) -> None:
    tenant = (("x-scope-orgid", TENANT),)
    assert _grpc_export(sink, _request_with_span(), tenant) == grpc.StatusCode.OK
    assert _grpc_export(sink, b"\xff\xff\xff", tenant) == grpc.StatusCode.INVALID_ARGUMENT
    assert _grpc_export(sink, _request_with_span(span_id=b"\x02" * 7), tenant) == grpc.StatusCode.INVALID_ARGUMENT
    assert _grpc_export(sink, _request_with_span(), ()) == grpc.StatusCode.UNAUTHENTICATED
    # the SDK's exporter sees the same refusal as a failed export (UNAUTHENTICATED is not retried)
    exporter = GRPCSpanExporter(endpoint=sink.otlp_grpc_endpoint, insecure=True)
    provider = TracerProvider()
    with provider.get_tracer("t").start_as_current_span("refused") as span:
        pass
    assert exporter.export([span]) == SpanExportResult.FAILURE  # type: ignore[list-item]
    exporter.shutdown()


def test_stats_count_otlp_and_clear_forgets_it() -> None:
    with SinkProcess(auth="none") as sink:
        assert _post(sink, "/v1/traces", _request_with_span(), {"Content-Type": "application/x-protobuf"})[0] == 200
        assert sink.stats()["otlp"]["spans"] == {"received": 1, "evicted": 0, "stored": 1}
        assert sink.stats()["requests"]["otlp http 200"] == 1
        assert 'sigil_sink_otlp_received_total{signal="spans"} 1' in sink.metrics_text()
        sink.clear()
        assert sink.spans() == [] and sink.stats()["otlp"]["spans"]["received"] == 1


def test_the_page_summary_pairs_a_generation_with_its_span(sink: SinkProcess) -> None:
    trace_id, span_id = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    paired = generation(f"paired-{uuid.uuid4().hex}", trace_id=trace_id, span_id=span_id)
    alone = generation(f"alone-{uuid.uuid4().hex}", trace_id=trace_id, span_id="00f067aa0ba902b7")
    with exporter("http", sink, TENANT_HEADERS) as generations:
        generations.export_generations(ExportGenerationsRequest([paired, alone]))
    body = _request_with_span(trace_id=bytes.fromhex(trace_id), span_id=bytes.fromhex(span_id))
    assert _post(sink, "/v1/traces", body, PROTOBUF)[0] == 200
    summary = {g["id"]: g for g in sink.request("GET", "/api/v1/generations?view=summary")["items"]}
    assert summary[paired.id]["_span"] is True and summary[alone.id]["_span"] is False
