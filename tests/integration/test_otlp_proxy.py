"""OTLP traces and metrics through the real proxy: ``litellm --config`` with ``OTEL_*`` set, the fake
upstream, and the mock sink taking both the generations and the OTLP signals, in both placements.

Each placement runs one proxy (in process: OTLP over gRPC with the headers in a variable; the recorder
process: OTLP over HTTP/protobuf with the headers in a ``_FILE``, so the hand-off carries them). The
sink enforces tenant auth on OTLP too, so a span that arrives proves the headers were sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import pytest
from fake_llm.testing import FakeLLMProcess
from sigil_devstack.children import free_port
from sigil_devstack.proxy import ProxyProcess
from sigil_mock_sink.testing import SinkProcess

# one stack per placement, started once: the module stays on one pytest worker
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("otlp_proxy")]

TENANT = "otlp-tenant"
SERVICE = "gateway-under-test"
SDK_SCOPE = "github.com/grafana/sigil/sdks/python"


@dataclass
class Stack:
    placement: str
    protocol: str
    sink: SinkProcess
    proxy: ProxyProcess


def base_env(sink: SinkProcess, fake: FakeLLMProcess, placement: str) -> dict[str, str]:
    return {
        "SIGIL_ENDPOINT": sink.grpc_target,
        "SIGIL_PROTOCOL": "grpc",
        "SIGIL_INSECURE": "true",
        "SIGIL_AUTH_MODE": "tenant",
        "SIGIL_AUTH_TENANT_ID": TENANT,
        "SIGIL_RECORDER": placement,
        "SIGIL_FLUSH_INTERVAL": "0.2",
        "OPENAI_API_BASE": fake.base_url,
        "OPENAI_API_KEY": "fake-key",
        "ANTHROPIC_API_BASE": fake.root_url,
        "ANTHROPIC_API_KEY": "fake-key",
    }


def otel_env(sink: SinkProcess, protocol: str, headers_file: Path | None = None) -> dict[str, str]:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": sink.otlp_grpc_endpoint if protocol == "grpc" else sink.otlp_http_endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_SERVICE_NAME": SERVICE,
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test,team=ml%20ops",
        "OTEL_METRIC_EXPORT_INTERVAL": "300",
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # read by the OpenTelemetry SDK itself
    }
    if headers_file is None:
        env["OTEL_EXPORTER_OTLP_HEADERS"] = f"X-Scope-OrgID={TENANT}"
    else:
        headers_file.write_text(f"X-Scope-OrgID={TENANT}\n")
        env["OTEL_EXPORTER_OTLP_HEADERS_FILE"] = str(headers_file)
    return env


@pytest.fixture(scope="module", params=[("inprocess", "grpc"), ("process", "http/protobuf")], ids=lambda p: p[0])
def stack(
    request: pytest.FixtureRequest, fake: FakeLLMProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    placement, protocol = request.param
    headers_file = tmp_path_factory.mktemp("otel") / "headers" if placement == "process" else None
    with SinkProcess(auth="tenant") as sink:
        env = base_env(sink, fake, placement) | otel_env(sink, protocol, headers_file)
        with ProxyProcess(env=env) as proxy:
            yield Stack(placement, protocol, sink, proxy)
            output = proxy.output()
    assert f"X-Scope-OrgID={TENANT}" not in output, "the OTLP headers appeared in the proxy's output"


def _conversation() -> str:
    return f"otlp-{uuid.uuid4().hex[:12]}"


def _span_of(sink: SinkProcess, generation: dict[str, Any]) -> dict[str, Any]:
    """The span the generation names (by trace and span id), waited for."""
    assert len(generation.get("trace_id", "")) == 32 and len(generation.get("span_id", "")) == 16, generation
    spans = sink.wait_for_spans(1, trace_id=generation["trace_id"], span_id=generation["span_id"])
    assert len(spans) == 1, f"no span {generation['span_id']} of trace {generation['trace_id']}"
    return spans[0]


def _assert_resource_and_scope(stack: Stack, span: dict[str, Any]) -> None:
    assert span["resource"]["service.name"] == SERVICE
    assert span["resource"]["deployment.environment"] == "test" and span["resource"]["team"] == "ml ops"
    assert span["scope"]["name"] == SDK_SCOPE
    assert span["_tenant"] == TENANT  # the headers reached the receiver
    assert span["_via"] == ("otlp grpc" if stack.protocol == "grpc" else "otlp http")


def test_a_chat_has_a_span_with_the_generations_trace_and_span_ids(stack: Stack) -> None:
    conversation = _conversation()
    answer = stack.proxy.openai_client().chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hello spans"}],
        extra_body={"metadata": {"conversation_id": conversation}},
    )
    [generation] = stack.sink.wait_for_count(1, conversation_id=conversation)
    span = _span_of(stack.sink, generation)
    _assert_resource_and_scope(stack, span)
    attributes = span["attributes"]
    assert span["kind"] == "SPAN_KIND_CLIENT" and span["status"]["code"] != "STATUS_CODE_ERROR"
    assert attributes["gen_ai.operation.name"] == generation["operation_name"]
    assert attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert attributes["gen_ai.conversation.id"] == conversation
    assert attributes["sigil.generation.id"] == generation["id"]
    assert attributes["gen_ai.usage.input_tokens"] == answer.usage.prompt_tokens
    assert attributes["gen_ai.usage.output_tokens"] == answer.usage.completion_tokens


def test_a_clients_traceparent_is_the_trace_of_the_generation_and_its_span(stack: Stack) -> None:
    """A client's W3C traceparent: the generation's span is its child, the generation names that trace
    (in the recorder process too: the hand-off carries the context)."""
    trace_id, parent = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    conversation = _conversation()
    stack.proxy.openai_client().chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "traced"}],
        extra_body={"metadata": {"conversation_id": conversation}},
        extra_headers={"traceparent": f"00-{trace_id}-{parent}-01"},
    )
    [generation] = stack.sink.wait_for_count(1, conversation_id=conversation)
    assert generation["trace_id"] == trace_id and generation["span_id"] != parent
    span = _span_of(stack.sink, generation)
    assert span["parent_span_id"] == parent


def test_a_stream_has_its_span_and_a_time_to_first_token(stack: Stack) -> None:
    conversation = _conversation()
    chunks = stack.proxy.openai_client().chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "stream spans"}],
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"metadata": {"conversation_id": conversation}},
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    [generation] = stack.sink.wait_for_count(1, conversation_id=conversation)
    assert generation["mode"] == "GENERATION_MODE_STREAM"
    span = _span_of(stack.sink, generation)
    assert span["attributes"]["gen_ai.operation.name"] == generation["operation_name"] == "streamText"
    points = stack.sink.wait_for_metric_points(1, name="gen_ai.client.time_to_first_token")
    assert points and points[0]["type"] == "histogram" and points[0]["count"] >= 1


def test_an_embedding_leaves_a_span_though_sigil_ingest_has_none(stack: Stack) -> None:
    vectors = stack.proxy.openai_client().embeddings.create(model="text-embedding-3-small", input=["first", "second"])
    assert len(vectors.data) == 2
    # the only embedding this proxy sees (Sigil's ingest has no embeddings: the span is all there is)
    [span] = stack.sink.wait_for_spans(1, name="embeddings text-embedding-3-small")
    _assert_resource_and_scope(stack, span)
    assert span["attributes"]["gen_ai.operation.name"] == "embeddings"
    assert span["attributes"]["gen_ai.embeddings.input_count"] == 2
    # the client asked for base64 vectors (its default): the dimensions are counted from that text
    assert span["attributes"]["gen_ai.embeddings.dimension.count"] == len(vectors.data[0].embedding) > 0


def test_a_responses_call_has_its_span(stack: Stack) -> None:
    conversation = _conversation()
    reply = stack.proxy.openai_client().responses.create(
        model="gpt-4o-mini",
        instructions="Be brief.",
        input="hello responses",
        extra_body={"metadata": {"conversation_id": conversation}},
    )
    [generation] = stack.sink.wait_for_count(1, conversation_id=conversation)
    assert generation["metadata"]["litellm.call_type"] == "aresponses"
    span = _span_of(stack.sink, generation)
    _assert_resource_and_scope(stack, span)
    assert span["attributes"]["gen_ai.request.model"] == "gpt-4o-mini"
    assert span["attributes"]["gen_ai.usage.input_tokens"] == reply.usage.input_tokens
    assert span["attributes"]["gen_ai.usage.output_tokens"] == reply.usage.output_tokens


def test_a_messages_call_has_its_span(stack: Stack) -> None:
    conversation = _conversation()
    client = anthropic.Anthropic(
        base_url=stack.proxy.base_url,
        api_key=stack.proxy.master_key,
        max_retries=0,
        default_headers={"x-litellm-session-id": conversation},
    )
    reply = client.messages.create(
        model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "hello messages"}]
    )
    [generation] = stack.sink.wait_for_count(1, conversation_id=conversation)
    assert generation["metadata"]["litellm.call_type"] == "anthropic_messages"
    span = _span_of(stack.sink, generation)
    _assert_resource_and_scope(stack, span)
    assert span["attributes"]["gen_ai.request.model"] == "claude-sonnet-4-5"
    assert span["attributes"]["gen_ai.provider.name"] == "anthropic"
    assert span["attributes"]["gen_ai.usage.output_tokens"] == reply.usage.output_tokens


def test_the_gen_ai_histograms_arrive_with_their_attributes(stack: Stack) -> None:
    stack.proxy.openai_client().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "metrics please"}]
    )
    duration = stack.sink.wait_for_metric_points(1, name="gen_ai.client.operation.duration")
    assert duration, "no gen_ai.client.operation.duration"
    chat = [p for p in duration if p["attributes"].get("gen_ai.request.model") == "gpt-4o-mini"]
    assert chat and chat[0]["type"] == "histogram" and chat[0]["unit"] == "s" and chat[0]["count"] >= 1
    assert chat[0]["attributes"]["gen_ai.operation.name"] in ("generateText", "streamText")
    assert chat[0]["resource"]["service.name"] == SERVICE
    usage = stack.sink.wait_for_metric_points(2, name="gen_ai.client.token.usage")
    assert {p["attributes"].get("gen_ai.token.type") for p in usage} >= {"input", "output"}


def test_an_unreachable_receiver_costs_no_request_and_no_generation(fake: FakeLLMProcess, tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    with SinkProcess(auth="tenant") as sink:
        env = base_env(sink, fake, "inprocess") | {
            "OTEL_EXPORTER_OTLP_ENDPOINT": closed,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_METRIC_EXPORT_INTERVAL": "200",
            "OTEL_BSP_SCHEDULE_DELAY": "50",
            "SIGIL_SHUTDOWN_GRACE": "3",
        }
        with ProxyProcess(env=env) as proxy:
            client = proxy.openai_client()
            conversation = _conversation()
            for n in range(5):
                answer = client.chat.completions.create(
                    model="gpt-4o-mini",
                    messages=[{"role": "user", "content": f"still fine {n}"}],
                    extra_body={"metadata": {"conversation_id": conversation}},
                )
                assert answer.choices[0].message.content == f"echo: still fine {n}"
            assert client.embeddings.create(model="text-embedding-3-small", input="x").data
            generations = sink.wait_for_count(5, conversation_id=conversation)
            assert len(generations) == 5 and all(len(g["trace_id"]) == 32 for g in generations)
            proxy.signal()
            assert proxy.wait_exit(60) is not None, "the proxy did not stop with an unreachable OTLP receiver"


def test_spans_and_metrics_are_flushed_when_the_proxy_is_stopped(fake: FakeLLMProcess) -> None:
    with SinkProcess(auth="tenant") as sink:
        env = base_env(sink, fake, "inprocess") | otel_env(sink, "http/protobuf")
        # nothing would be exported before the stop: only the flush at SIGTERM sends it
        env |= {"OTEL_BSP_SCHEDULE_DELAY": "600000", "OTEL_METRIC_EXPORT_INTERVAL": "600000"}
        with ProxyProcess(env=env) as proxy:
            conversation = _conversation()
            proxy.openai_client().chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "flush me"}],
                extra_body={"metadata": {"conversation_id": conversation}},
            )
            [generation] = sink.wait_for_count(1, conversation_id=conversation)
            assert sink.spans(trace_id=generation["trace_id"]) == []
            proxy.signal()
            assert proxy.wait_exit(60) is not None
        assert sink.spans(trace_id=generation["trace_id"], span_id=generation["span_id"])
        assert sink.metric_points(name="gen_ai.client.operation.duration")


def test_a_wrong_otel_variable_stops_the_proxy_with_one_line_hiding_the_headers(fake: FakeLLMProcess) -> None:
    secret = "Basic%20" + uuid.uuid4().hex
    env = {
        "OPENAI_API_BASE": fake.base_url,
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
        "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization {secret}",  # no '='
    }
    proxy = ProxyProcess(env=env)
    try:
        proxy.start(wait=False)
        status = proxy.wait_exit(timeout=120)
        output = proxy.output()
        assert status == 3, output[-3000:]
        lines = [line for line in output.splitlines() if line.strip()]
        assert lines[-1] == (
            "sigil: invalid configuration: OTEL_EXPORTER_OTLP_HEADERS (value hidden) — accepted: key=value pairs "
            "separated by commas, e.g. Authorization=Basic%20dXNlcjp0b2tlbg== (pair 1 is not key=value)"
        ), output[-3000:]
        assert secret not in output and secret.removeprefix("Basic%20") not in output
        assert "Traceback" not in output
    finally:
        proxy.stop()
