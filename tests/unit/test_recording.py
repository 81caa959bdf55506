"""SdkRecorder starts the generation's and the embedding's span under the request's trace."""

from __future__ import annotations

from opentelemetry import trace

from sigil_sdk_litellm.mapping import MappingOptions
from sigil_sdk_litellm.recording import SdkRecorder
from tests.support import callback_kwargs, capturing_client, flushed, span_capturing_client, standard_logging_object

TRACE, SPAN = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE}-{SPAN}-01"


def _traced(**overrides: object) -> dict[str, object]:
    kwargs = callback_kwargs(**overrides)
    kwargs["litellm_params"]["proxy_server_request"] = {"headers": {"traceparent": TRACEPARENT}}
    return kwargs


def test_the_generations_span_is_a_child_of_the_requests() -> None:
    client, exporter, spans = span_capturing_client()
    SdkRecorder(client, MappingOptions()).record(_traced(), None, failed=False, redacted=False)
    [generation] = flushed(client, exporter)
    [span] = spans.get_finished_spans()
    assert span.parent is not None and f"{span.parent.span_id:016x}" == SPAN
    assert f"{span.context.trace_id:032x}" == TRACE == generation.trace_id
    assert generation.span_id == f"{span.context.span_id:016x}" != SPAN


def test_without_a_tracer_provider_the_generation_still_carries_the_requests_trace() -> None:
    """OpenTelemetry's no-op tracer hands back the current (the request's) span: its ids are what the
    generation can name."""
    client, exporter = capturing_client()
    SdkRecorder(client, MappingOptions()).record(_traced(), None, failed=False, redacted=False)
    [generation] = flushed(client, exporter)
    assert (generation.trace_id, generation.span_id) == (TRACE, SPAN)


def test_without_a_trace_the_span_is_a_root_and_nothing_stays_attached() -> None:
    client, _, spans = span_capturing_client()
    recorder = SdkRecorder(client, MappingOptions())
    recorder.record(_traced(), None, failed=False, redacted=False)
    assert not trace.get_current_span().get_span_context().is_valid  # the request's context was detached
    recorder.record(callback_kwargs(), None, failed=False, redacted=False)
    first, second = spans.get_finished_spans()
    assert second.parent is None and second.context.trace_id != first.context.trace_id


def test_the_embeddings_span_is_a_child_of_the_requests() -> None:
    client, _, spans = span_capturing_client()
    slo = standard_logging_object(
        call_type="aembedding", response={"model": "e", "data": [], "usage": {}}, model_parameters={}
    )
    SdkRecorder(client, MappingOptions()).record(
        _traced(slo=slo, call_type="aembedding", input=["x"]), None, failed=False, redacted=False
    )
    [span] = spans.get_finished_spans()
    assert span.name.startswith("embeddings")
    assert span.parent is not None and f"{span.parent.span_id:016x}" == SPAN
    assert f"{span.context.trace_id:032x}" == TRACE
