"""The mock sink as a process, spoken to by the SDK's own exporters (HTTP and gRPC) and raw HTTP."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import grpc
import pytest
from sigil_mock_sink.testing import SinkProcess
from sigil_sdk.exporters.grpc import GRPCGenerationExporter
from sigil_sdk.exporters.http import HTTPGenerationExporter
from sigil_sdk.models import (
    ExportGenerationsRequest,
    ExportWorkflowStepsRequest,
    Generation,
    GenerationMode,
    ModelRef,
    TokenUsage,
    WorkflowStep,
    user_text_message,
)

pytestmark = pytest.mark.integration

TENANT = {"X-Scope-OrgID": "acme"}


def generation(gen_id: str = "", **fields: Any) -> Generation:
    values: dict[str, Any] = {
        "id": gen_id,
        "conversation_id": "c-1",
        "agent_name": "agent-a",
        "mode": GenerationMode.SYNC,
        "model": ModelRef(provider="openai", name="gpt-4o-mini"),
        "input": [user_text_message("hello")],
        "usage": TokenUsage(input_tokens=3, output_tokens=2, total_tokens=5),
        "started_at": datetime(2026, 1, 1, tzinfo=timezone.utc),
        "completed_at": datetime(2026, 1, 1, 0, 0, 1, tzinfo=timezone.utc),
    }
    values.update(fields)
    return Generation(**values)


def exporters(sink: SinkProcess, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "http": HTTPGenerationExporter(sink.http_url, headers=headers),
        "grpc": GRPCGenerationExporter(sink.grpc_target, headers=headers, insecure=True),
    }


def post(
    sink: SinkProcess, path: str, body: bytes, headers: dict[str, str] | None = None, method: str = "POST"
) -> tuple[int, str]:
    req = urllib.request.Request(f"{sink.http_url}{path}", data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture(scope="module")
def sink() -> Iterator[SinkProcess]:
    with SinkProcess(auth="tenant") as process:
        yield process


@pytest.fixture(autouse=True)
def _clean(request: pytest.FixtureRequest) -> None:
    if "sink" in request.fixturenames:
        sink = request.getfixturevalue("sink")
        sink.clear()
        sink.clear_faults()


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_sdk_exporters_accepted_and_rejected_per_item(sink: SinkProcess, transport: str) -> None:
    exporter = exporters(sink, TENANT)[transport]
    try:
        response = exporter.export_generations(
            ExportGenerationsRequest(
                generations=[
                    generation(f"{transport}-ok"),
                    generation(f"{transport}-noprov", model=ModelRef(name="gpt")),
                    generation(f"{transport}-noname", model=ModelRef(provider="openai")),
                    generation(f"{transport}-ok"),
                ]
            )
        )
    finally:
        exporter.shutdown()
    outcome = [(r.generation_id, r.accepted, r.error) for r in response.results]
    assert outcome == [
        (f"{transport}-ok", True, ""),
        (f"{transport}-noprov", False, "generation.model.provider is required"),
        (f"{transport}-noname", False, "generation.model.name is required"),
        (f"{transport}-ok", False, "generation already exists"),
    ]
    [stored] = sink.generations()
    assert stored["id"] == f"{transport}-ok" and stored["_tenant"] == "acme"
    assert stored["input"][0]["parts"][0]["text"] == "hello"
    assert stored["usage"]["total_tokens"] == "5"
    assert sink.generation(f"{transport}-ok")["model"] == {"provider": "openai", "name": "gpt-4o-mini"}


def test_http_wire_format_status_codes_and_parse_errors(sink: SinkProcess) -> None:
    good = json.dumps({"generations": [{"model": {"provider": "p", "name": "n"}}]}).encode()
    status, body = post(sink, "/api/v1/generations:export", good, {**TENANT, "Content-Type": "text/plain"})
    assert status == 202
    [result] = json.loads(body)["results"]
    assert result == {"generation_id": "gen-1", "accepted": True}
    assert sink.generation("gen-1")["mode"] == "GENERATION_MODE_SYNC"
    for bad in (
        {"generations": [{"model": {"provider": "p", "name": "n"}, "surprise": 1}]},
        {"generations": [{"model": {"provider": "p", "name": "n"}, "mode": "GENERATION_MODE_TELEPATHY"}]},
        {"generations": [{"input": [{"parts": [{"tool_call": {"name": "f", "input_json": "not base64!"}}]}]}]},
    ):
        status, text = post(sink, "/api/v1/generations:export", json.dumps(bad).encode(), TENANT)
        assert status == 400 and text
    assert post(sink, "/api/v1/generations:export", b"{not json", TENANT)[0] == 400
    assert post(sink, "/api/v1/generations:export", good, {}) == (401, "no org id")
    assert post(sink, "/api/v1/generations:export", good, {"X-Scope-OrgID": "bad/tenant"})[0] == 401
    assert post(sink, "/api/v1/generations:export", b"", TENANT, method="GET")[0] == 405
    assert post(sink, "/api/v1/generations/nope", b"", method="GET")[0] == 404


def test_grpc_without_tenant_is_unauthenticated(sink: SinkProcess) -> None:
    exporter = exporters(sink, {})["grpc"]
    try:
        with pytest.raises(grpc.RpcError) as info:
            exporter.export_generations(ExportGenerationsRequest(generations=[generation("g")]))
    finally:
        exporter.shutdown()
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_workflow_steps(sink: SinkProcess, transport: str) -> None:
    exporter = exporters(sink, TENANT)[transport]
    try:
        response = exporter.export_workflow_steps(
            ExportWorkflowStepsRequest(workflow_steps=[WorkflowStep(id="s1", step_name="plan"), WorkflowStep(id="s1")])
        )
    finally:
        exporter.shutdown()
    assert [(r.step_id, r.accepted, r.error) for r in response.results] == [
        ("s1", True, ""),
        ("s1", False, "workflow step already exists"),
    ]
    [step] = sink.request("GET", "/api/v1/workflow-steps")["items"]
    assert step["step_name"] == "plan"


@pytest.mark.parametrize(
    ("auth", "good", "bad"),
    [
        ({"auth": "none"}, {}, None),
        (
            {"auth": "bearer", "bearer_token": "tok-1"},
            {"Authorization": "Bearer tok-1"},
            {"Authorization": "Bearer no"},
        ),
        (
            {"auth": "basic", "basic_user": "12345", "basic_password": "pw-1"},
            {"Authorization": "Basic MTIzNDU6cHctMQ=="},
            {"Authorization": "Basic MTIzNDU6bm9wZQ=="},
        ),
    ],
)
def test_auth_modes_with_both_exporters(auth: dict[str, str], good: dict[str, str], bad: dict[str, str] | None) -> None:
    expected_tenant = "12345" if auth["auth"] == "basic" else "fake"
    with SinkProcess(**auth) as sink:
        for transport, exporter in exporters(sink, good).items():
            try:
                [result] = exporter.export_generations(ExportGenerationsRequest([generation(transport)])).results
            finally:
                exporter.shutdown()
            assert result.accepted
        assert {g["_tenant"] for g in sink.generations()} == {expected_tenant}
        if bad is not None:
            for transport, exporter in exporters(sink, bad).items():
                try:
                    with pytest.raises((RuntimeError, grpc.RpcError)) as info:
                        exporter.export_generations(ExportGenerationsRequest([generation(f"{transport}-bad")]))
                finally:
                    exporter.shutdown()
                assert "401" in str(info.value) or "UNAUTHENTICATED" in str(info.value)
            assert len(sink.generations()) == 2
        assert "tok-1" not in sink.metrics_text() and "pw-1" not in sink.metrics_text()


def test_faults_at_run_time(sink: SinkProcess) -> None:
    http = HTTPGenerationExporter(sink.http_url, headers=TENANT)
    rpc = GRPCGenerationExporter(sink.grpc_target, headers=TENANT, insecure=True)
    try:
        state = sink.set_faults(unavailable_seconds=0.6)
        assert state["unavailable"] is True
        with pytest.raises(RuntimeError, match="503"):
            http.export_generations(ExportGenerationsRequest([generation("f1")]))
        with pytest.raises(grpc.RpcError) as info:
            rpc.export_generations(ExportGenerationsRequest([generation("f2")]))
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        time.sleep(0.7)  # the window closes by itself
        assert http.export_generations(ExportGenerationsRequest([generation("f3")])).results[0].accepted

        sink.set_faults(unavailable=True)
        with pytest.raises(RuntimeError, match="503"):
            http.export_generations(ExportGenerationsRequest([generation("f4")]))
        sink.clear_faults()
        assert http.export_generations(ExportGenerationsRequest([generation("f5")])).results[0].accepted

        sink.set_faults(delay_ms=300)
        started = time.monotonic()
        http.export_generations(ExportGenerationsRequest([generation("f6")]))
        assert time.monotonic() - started >= 0.3
        sink.clear_faults()

        sink.set_faults(drop_connections=True)
        with pytest.raises(RuntimeError):
            http.export_generations(ExportGenerationsRequest([generation("f7")]))
        sink.clear_faults()

        sink.set_faults(reject_fraction=1.0)
        [result] = http.export_generations(ExportGenerationsRequest([generation("f8")])).results
        assert not result.accepted and "fault injected" in result.error
        sink.clear_faults()
    finally:
        http.shutdown()
        rpc.shutdown()
    assert {g["id"] for g in sink.generations()} == {"f3", "f5", "f6"}
    metrics = sink.metrics_text()
    assert 'sigil_sink_requests_total{transport="http",status="503"} 2' in metrics
    assert 'sigil_sink_rejected_total{kind="generation",reason="fault injected: item rejected"} 1' in metrics


def test_read_back_filters_conversations_and_metrics(sink: SinkProcess) -> None:
    exporter = HTTPGenerationExporter(sink.http_url, headers=TENANT)
    other = HTTPGenerationExporter(sink.http_url, headers={"X-Scope-OrgID": "globex"})
    try:
        exporter.export_generations(
            ExportGenerationsRequest(
                [
                    generation("r1", conversation_id="c-1", agent_name="a"),
                    generation("r2", conversation_id="c-1", agent_name="b"),
                    generation("r3", conversation_id="c-2", agent_name="a"),
                ]
            )
        )
        other.export_generations(ExportGenerationsRequest([generation("r4", conversation_id="c-9")]))
    finally:
        exporter.shutdown()
    assert [g["id"] for g in sink.generations()] == ["r4", "r3", "r2", "r1"]  # newest first
    assert [g["id"] for g in sink.generations(conversation_id="c-1")] == ["r2", "r1"]
    assert [g["id"] for g in sink.generations(agent_name="a", tenant="acme")] == ["r3", "r1"]
    assert [g["id"] for g in sink.generations(tenant="globex")] == ["r4"]
    assert [g["id"] for g in sink.generations(limit=1)] == ["r4"]
    conversations = {(c["tenant"], c["conversation_id"]): c for c in sink.conversations()}
    assert conversations[("acme", "c-1")]["generation_count"] == 2
    assert conversations[("acme", "c-1")]["agents"] == ["a", "b"]
    metrics = sink.metrics_text()
    assert 'sigil_sink_accepted_total{kind="generation"}' in metrics
    assert 'sigil_sink_stored{kind="generation"} 4' in metrics
    sink.clear()
    assert sink.generations() == []


def test_bounded_store_and_sqlite_history(tmp_path: Path) -> None:
    db = str(tmp_path / "sink.db")
    with SinkProcess(auth="none", db=db, max_items=3) as sink:
        exporter = HTTPGenerationExporter(sink.http_url)
        try:
            exporter.export_generations(ExportGenerationsRequest([generation(f"h{i}") for i in range(5)]))
        finally:
            exporter.shutdown()
        assert [g["id"] for g in sink.generations()] == ["h4", "h3", "h2"]
        assert 'sigil_sink_evicted_total{kind="generation"} 2' in sink.metrics_text()
    with SinkProcess(auth="none", db=db, max_items=3) as restarted:
        assert [g["id"] for g in restarted.generations()] == ["h4", "h3", "h2"]
        assert restarted.generation("h3")["input"][0]["parts"][0]["text"] == "hello"


def test_health_and_page(sink: SinkProcess) -> None:
    assert sink.request("GET", "/healthz") == {"status": "ok"}
    assert sink.request("GET", "/readyz") == {"status": "ok"}
    page = sink.request("GET", "/")
    assert "<title>Sigil mock sink</title>" in page and "api/v1/generations" in page
