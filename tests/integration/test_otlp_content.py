"""No text in spans or metrics when SIGIL_CONTENT_CAPTURE_MODE says so, through the real proxy.

``full_with_metadata_spans`` (in the recorder process) still sends the content to Sigil but none to the
OTLP destination, which may be shared; ``metadata_only`` (in process) sends it nowhere. Every call
carries a marker in its text (chat, stream, Responses, embedding, and a failing call whose error text
the SDK would otherwise put on the span); it must be in no span, span event or metric point.
"""

from __future__ import annotations

import json
import uuid

import openai
import pytest
from fake_llm.testing import FakeLLMProcess
from sigil_devstack.proxy import ProxyProcess
from sigil_mock_sink.testing import SinkProcess

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("placement", "mode"), [("process", "full_with_metadata_spans"), ("inprocess", "metadata_only")]
)
def test_no_text_reaches_the_otlp_destination(placement: str, mode: str, fake: FakeLLMProcess) -> None:
    marker = f"secret-text-{uuid.uuid4().hex}"
    conversation = f"content-{uuid.uuid4().hex[:8]}"
    with SinkProcess(auth="none") as sink:
        env = {
            "SIGIL_ENDPOINT": sink.grpc_target,
            "SIGIL_PROTOCOL": "grpc",
            "SIGIL_INSECURE": "true",
            "SIGIL_RECORDER": placement,
            "SIGIL_FLUSH_INTERVAL": "0.2",
            "SIGIL_CONTENT_CAPTURE_MODE": mode,
            "OPENAI_API_BASE": fake.base_url,
            "OPENAI_API_KEY": "fake-key",
            "OTEL_EXPORTER_OTLP_ENDPOINT": sink.otlp_http_endpoint,
            "OTEL_METRIC_EXPORT_INTERVAL": "300",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        with ProxyProcess(env=env) as proxy:
            client = proxy.openai_client()
            metadata = {"metadata": {"conversation_id": conversation}}
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "system", "content": f"system {marker}"}, {"role": "user", "content": marker}],
                extra_body=metadata,
            )
            stream = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": marker}], stream=True, extra_body=metadata
            )
            assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
            client.responses.create(model="gpt-4o-mini", instructions=marker, input=marker, extra_body=metadata)
            client.embeddings.create(model="text-embedding-3-small", input=[marker, marker])
            with pytest.raises(openai.BadRequestError):
                client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": f"{marker} [fake:error-400]"}]
                )
            generations = sink.wait_for_count(3, conversation_id=conversation)
            spans = sink.wait_for_spans(5)  # 3 generations, the embedding, the failure
            sink.wait_for_metric_points(1, name="gen_ai.client.token.usage")
            points = sink.metric_points()
    assert len(spans) == 5, [s["name"] for s in spans]
    shipped = json.dumps(spans) + json.dumps(points)
    assert marker not in shipped
    [failed] = [s for s in spans if s["status"]["code"] == "STATUS_CODE_ERROR"]
    assert "fake-llm" not in failed["status"]["message"], failed["status"]  # the error text stays home
    assert not [e for s in spans for e in s["events"] if "exception.message" in e.get("attributes", {})]
    # the generations themselves: with full_with_metadata_spans Sigil still gets the text
    to_sigil = json.dumps(generations)
    assert (marker in to_sigil) is (mode == "full_with_metadata_spans")
