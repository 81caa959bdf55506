"""One trace per request through the real proxy: LiteLLM's own ``otel`` callback beside ours, and the
request's trace without any OpenTelemetry set up (through the disk spool), in both placements."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fake_llm.testing import FakeLLMProcess
from sigil_devstack.proxy import ProxyProcess
from sigil_mock_sink.testing import SinkProcess

from sigil_sdk_litellm.proxy.telemetry.otlp import SDK_SCOPE
from tests.support import wait_until

pytestmark = pytest.mark.integration

# LiteLLM's otel callback and ours, side by side (both read OTEL_EXPORTER_OTLP_*)
CONFIG = """\
model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
litellm_settings:
  callbacks: ["otel", "sigil_callback.sigil_handler"]
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
"""
REQUEST_SPAN = "Received Proxy Server Request"  # LiteLLM's span of the whole proxy request


def _env(sink: SinkProcess, fake: FakeLLMProcess, placement: str) -> dict[str, str]:
    return {
        "SIGIL_ENDPOINT": sink.grpc_target,
        "SIGIL_PROTOCOL": "grpc",
        "SIGIL_INSECURE": "true",
        "SIGIL_RECORDER": placement,
        "SIGIL_FLUSH_INTERVAL": "0.2",
        "OPENAI_API_BASE": fake.base_url,
        "OPENAI_API_KEY": "fake-key",
    }


def _chat(proxy: ProxyProcess, conversation: str, headers: dict[str, str] | None = None) -> None:
    proxy.openai_client().chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "one trace"}],
        extra_body={"metadata": {"conversation_id": conversation}},
        extra_headers=headers or {},
    )


@pytest.mark.parametrize("placement", ["inprocess", "process"])
def test_with_litellms_otel_callback_ours_is_inside_the_requests_trace(
    placement: str, fake: FakeLLMProcess, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    with SinkProcess(auth="none") as sink:
        env = _env(sink, fake, placement) | {
            "OTEL_EXPORTER_OTLP_ENDPOINT": sink.otlp_http_endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        with ProxyProcess(env=env, config=config) as proxy:
            conversation = f"one-trace-{uuid.uuid4().hex[:8]}"
            _chat(proxy, conversation)
            [generation] = sink.wait_for_count(1, conversation_id=conversation)
            trace_id = generation["trace_id"]
            assert wait_until(lambda: any(s["name"] == REQUEST_SPAN for s in sink.spans(trace_id=trace_id)), 30)
            assert wait_until(lambda: sink.spans(trace_id=trace_id, span_id=generation["span_id"]), 30)
            spans = sink.spans(trace_id=trace_id)
    [request] = [s for s in spans if s["name"] == REQUEST_SPAN]
    [ours] = [s for s in spans if s["span_id"] == generation["span_id"]]
    assert ours["scope"]["name"] == SDK_SCOPE and ours["parent_span_id"] == request["span_id"]
    # LiteLLM's own spans of the call are in the same trace: one trace per request
    assert {s["scope"]["name"] for s in spans} >= {SDK_SCOPE, "litellm"}
    assert all(s["trace_id"] == trace_id for s in spans)


@pytest.mark.parametrize("placement", ["inprocess", "process"])
def test_without_opentelemetry_the_generation_carries_the_clients_trace(
    placement: str, fake: FakeLLMProcess, tmp_path: Path
) -> None:
    """No OTEL_* and no otel callback: nothing is exported over OTLP, yet a generation (through the
    disk spool, and in a recorder process through the hand-off) names the trace the client sent."""
    trace_id, parent = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    with SinkProcess(auth="none") as sink:
        env = _env(sink, fake, placement) | {"SIGIL_SPOOL_DIR": str(tmp_path / "spool")}
        with ProxyProcess(env=env) as proxy:
            conversation = f"no-otel-{uuid.uuid4().hex[:8]}"
            _chat(proxy, conversation, {"traceparent": f"00-{trace_id}-{parent}-01"})
            untraced = f"no-otel-{uuid.uuid4().hex[:8]}"
            _chat(proxy, untraced)
            [generation] = sink.wait_for_count(1, conversation_id=conversation)
            [other] = sink.wait_for_count(1, conversation_id=untraced)
        assert (generation["trace_id"], generation["span_id"]) == (trace_id, parent)
        assert other.get("trace_id", "") != trace_id
        assert sink.spans() == []
