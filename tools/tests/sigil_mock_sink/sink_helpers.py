"""Helpers shared by the mock sink's integration tests (``test_sink_*.py``)."""

from __future__ import annotations

import contextlib
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import grpc
from sigil_mock_sink.testing import SinkProcess
from sigil_sdk.exporters.grpc import GRPCGenerationExporter
from sigil_sdk.exporters.http import HTTPGenerationExporter
from sigil_sdk.internal.gen.sigil.v1 import generation_ingest_pb2 as pb
from sigil_sdk.internal.gen.sigil.v1 import generation_ingest_pb2_grpc as pb_grpc
from sigil_sdk.models import Generation, GenerationMode, ModelRef, TokenUsage, user_text_message

TENANT = "acme"
TENANT_HEADERS = {"X-Scope-OrgID": TENANT}
EXPORT = "/api/v1/generations:export"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def generation(gen_id: str = "", **fields: Any) -> Generation:
    """An SDK generation the real server accepts (override any field)."""
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


@contextlib.contextmanager
def exporter(transport: str, sink: SinkProcess, headers: dict[str, str] | None = None) -> Iterator[Any]:
    """The SDK's own exporter for ``transport`` (``http`` or ``grpc``) pointed at the sink."""
    made: Any = (
        HTTPGenerationExporter(sink.http_url, headers=headers)
        if transport == "http"
        else GRPCGenerationExporter(sink.grpc_target, headers=headers, insecure=True)
    )
    try:
        yield made
    finally:
        made.shutdown()


@contextlib.contextmanager
def grpc_stubs(sink: SinkProcess) -> Iterator[tuple[Any, Any]]:
    """Raw stubs (generation, workflow step) for requests the SDK would never build."""
    with grpc.insecure_channel(sink.grpc_target) as channel:
        yield pb_grpc.GenerationIngestServiceStub(channel), pb_grpc.WorkflowStepIngestServiceStub(channel)


def grpc_export(sink: SinkProcess, request: Any, metadata: list[tuple[str, str]] | None = None) -> Any:
    """``ExportGenerations`` with a raw protobuf request and metadata (default: the test tenant)."""
    with grpc_stubs(sink) as (stub, _):
        meta = [("x-scope-orgid", TENANT)] if metadata is None else metadata
        return stub.ExportGenerations(request, metadata=meta, timeout=10)


def post(
    sink: SinkProcess,
    path: str,
    body: bytes,
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> tuple[int, str, str]:
    """Raw HTTP: (status, Content-Type, body text), for any status."""
    req = urllib.request.Request(f"{sink.http_url}{path}", data=body, method=method, headers=headers or {})
    try:
        with _OPENER.open(req, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


def pb_generation(gen_id: str = "", **fields: Any) -> Any:
    """A protobuf generation the real server accepts (override any field; ``model=None`` leaves it out)."""
    values: dict[str, Any] = {
        "id": gen_id,
        "mode": pb.GENERATION_MODE_SYNC,
        "model": pb.ModelRef(provider="openai", name="gpt-4o-mini"),
    }
    values.update(fields)
    return pb.Generation(**{k: v for k, v in values.items() if v is not None})
