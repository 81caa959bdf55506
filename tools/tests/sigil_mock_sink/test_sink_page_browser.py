"""The sink's page in a real headless browser (Debian's chromium driven by playwright-core)."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind
from sigil_mock_sink.testing import SinkProcess
from sigil_sdk.exporters.http import HTTPGenerationExporter
from sigil_sdk.models import (
    ExportGenerationsRequest,
    Generation,
    GenerationMode,
    Message,
    MessageRole,
    ModelRef,
    Part,
    PartKind,
    TokenUsage,
    ToolCall,
    ToolResult,
    user_text_message,
)

pytestmark = [pytest.mark.integration, pytest.mark.browser]

DRIVER = Path(__file__).parent / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _send_trace(sink: SinkProcess) -> tuple[str, str]:
    """A request span with a generation span inside, over the SDK's OTLP exporter; (trace id, child id)."""
    provider = TracerProvider(resource=Resource.create({"service.name": "litellm-proxy"}))
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(f"{sink.http_url}/v1/traces", headers={"X-Scope-OrgID": "acme"}))
    )
    tracer = provider.get_tracer("page-test")
    with (
        tracer.start_as_current_span("POST /chat/completions", kind=SpanKind.SERVER),
        tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as span,
    ):
        span.set_attribute("gen_ai.operation.name", "chat")
    provider.shutdown()
    context = span.get_span_context()
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def _generations(trace_id: str = "", span_id: str = "") -> list[Generation]:
    started = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
    tool_call = Part(
        kind=PartKind.TOOL_CALL, tool_call=ToolCall(name="get_weather", id="call_1", input_json=b'{"city":"Oslo"}')
    )
    tool_result = Part(kind=PartKind.TOOL_RESULT, tool_result=ToolResult(tool_call_id="call_1", content="4C and rain"))
    return [
        Generation(
            id="page-1",
            conversation_id="conv-page",
            agent_name="weather-bot",
            mode=GenerationMode.SYNC,
            model=ModelRef(provider="openai", name="gpt-4o-mini"),
            system_prompt="You are a weather bot.",
            input=[
                user_text_message("Weather in Oslo?"),
                Message(role=MessageRole.ASSISTANT, parts=[tool_call]),
                Message(role=MessageRole.TOOL, parts=[tool_result]),
            ],
            output=[Message(role=MessageRole.ASSISTANT, parts=[Part(kind=PartKind.TEXT, text="It rains in Oslo.")])],
            usage=TokenUsage(input_tokens=42, output_tokens=7, total_tokens=49, cache_read_input_tokens=10),
            trace_id=trace_id,
            span_id=span_id,
            started_at=started,
            completed_at=started,
        ),
        Generation(
            id="page-2",
            conversation_id="conv-page",
            agent_name="weather-bot",
            mode=GenerationMode.STREAM,
            model=ModelRef(provider="anthropic", name="claude-x"),
            input=[user_text_message("<script>alert(1)</script>")],
            call_error="upstream returned 529 overloaded",
            started_at=started,
            completed_at=started,
        ),
    ]


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", header[16:24])


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (CI installs it)")
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (CI installs it)")
@pytest.mark.skipif(
    not (DRIVER / "node_modules").exists(), reason="run `npm ci` in tools/tests/sigil_mock_sink/browser (CI does)"
)
def test_page_lists_generations_refreshes_and_shows_one_in_detail(tmp_path: Path) -> None:
    shot = tmp_path / "sink-page.png"
    with SinkProcess(auth="tenant") as sink:
        trace_id, span_id = _send_trace(sink)
        exporter = HTTPGenerationExporter(sink.http_url, headers={"X-Scope-OrgID": "acme"})
        try:
            results = exporter.export_generations(ExportGenerationsRequest(_generations(trace_id, span_id))).results
            rejected = exporter.export_generations(ExportGenerationsRequest([_generations()[0]])).results
        finally:
            exporter.shutdown()
        assert all(r.accepted for r in results)
        assert rejected[0].error == "generation already exists"
        run = subprocess.run(
            ["node", str(DRIVER / "sink_page.mjs"), f"{sink.http_url}/", str(shot), "page-1", "acme", "page-2"],
            capture_output=True,
            text=True,
            timeout=120,
            env={"PATH": "/usr/bin:/bin", "CHROMIUM_PATH": CHROMIUM, "HOME": str(tmp_path)},
        )
        assert run.returncode == 0, run.stderr[-3000:]
        assert [g["id"] for g in sink.generations()] == ["late", "page-2", "page-1"]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["errors"] == []
    # newest first: time, tenant, agent, model, mode, tokens, conversation, via (how it came), span (✓ when
    # its OTLP span arrived), error
    assert [row[1:10] for row in seen["rows"]] == [
        [
            "acme",
            "weather-bot",
            "anthropic/claude-x",
            "STREAM",
            "0 / 0",
            "conv-page",
            "http",
            "",
            "upstream returned 529 overloaded",
        ],
        ["acme", "weather-bot", "openai/gpt-4o-mini", "SYNC", "42 / 7", "conv-page", "http", "\u2713", ""],
    ]
    assert all(row[0] for row in seen["rows"]), "every row shows a time"
    assert seen["summary"].startswith("2 generations stored · 3 received · 1 rejected")
    assert "OTLP: 2 spans, 0 metric points" in seen["summary"]
    # the page picked up a generation that arrived after it was loaded, without a reload
    assert seen["arrivedStatus"] == 202
    assert seen["refreshedRows"][0][1:7] == ["acme", "late-bot", "openai/gpt-4o", "SYNC", "12 / 30", "conv-late"]
    assert len(seen["refreshedRows"]) == 3
    detail = seen["detail"]
    for expected in (
        "Generation page-1",
        "You are a weather bot.",
        "Weather in Oslo?",
        'get_weather({"city":"Oslo"})',
        "4C and rain",
        "It rains in Oslo.",
        "in 42 · out 7 · total 49 · cache read 10",
        "generateText",
    ):
        assert expected in detail
    assert seen["selected"] == ["page-1"]
    # its trace: the request span, the generation's span inside it (marked, one level deeper), and the
    # span's attributes
    assert f"Trace {trace_id}" in detail and f"Span {span_id}" in detail and '"gen_ai.operation.name": "chat"' in detail
    assert [row[:4] + row[6:] for row in seen["traceRows"]] == [
        [False, 0, "POST /chat/completions", "server", "litellm-proxy", "unset"],
        [True, 1, "chat gpt-4o-mini", "client", "litellm-proxy", "unset"],
    ]
    # a recorded prompt full of markup is shown as text, never run
    assert "<script>alert(1)</script>" in seen["markupDetail"]
    assert (seen["injected"], seen["dialogs"]) == (0, [])
    width, height = png_size(shot)
    assert width == 1400 and height >= 900
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    if os.environ.get("SINK_PAGE_SCREENSHOT"):  # refresh the README's picture: SINK_PAGE_SCREENSHOT=docs/sink-page.png
        shutil.copyfile(shot, os.environ["SINK_PAGE_SCREENSHOT"])
