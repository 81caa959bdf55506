"""The sink's ingest rules, driven by the SDK's own exporters and by raw HTTP / gRPC for what the SDK
never sends: per-item results, defaults, parse errors, status codes, workflow steps."""

from __future__ import annotations

import json
import time

import grpc
import pytest
from sigil_mock_sink.testing import SinkProcess
from sigil_sdk.internal.gen.sigil.v1 import generation_ingest_pb2 as pb
from sigil_sdk.models import (
    ExportGenerationsRequest,
    ExportWorkflowStepsRequest,
    GenerationMode,
    ModelRef,
    WorkflowStep,
)
from sink_helpers import (
    EXPORT,
    TENANT,
    TENANT_HEADERS,
    exporter,
    generation,
    grpc_export,
    grpc_stubs,
    pb_generation,
    post,
)

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _clean(sink: SinkProcess) -> None:
    sink.clear()
    sink.clear_faults()


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_sdk_exporters_get_per_item_results(sink: SinkProcess, transport: str) -> None:
    batch = [
        generation(f"{transport}-ok"),
        generation(f"{transport}-noprov", model=ModelRef(name="gpt")),
        generation(f"{transport}-noname", model=ModelRef(provider="openai")),
        generation(f"{transport}-ok"),
        generation(f"{transport}-stream", mode=GenerationMode.STREAM),
    ]
    with exporter(transport, sink, TENANT_HEADERS) as sdk:
        response = sdk.export_generations(ExportGenerationsRequest(batch))
    assert [(r.generation_id, r.accepted, r.error) for r in response.results] == [
        (f"{transport}-ok", True, ""),
        (f"{transport}-noprov", False, "generation.model.provider is required"),
        (f"{transport}-noname", False, "generation.model.name is required"),
        (f"{transport}-ok", False, "generation already exists"),
        (f"{transport}-stream", True, ""),
    ]
    assert [g["id"] for g in sink.generations()] == [f"{transport}-stream", f"{transport}-ok"]
    stored = sink.generation(f"{transport}-ok")
    assert stored["_tenant"] == TENANT
    assert stored["model"] == {"provider": "openai", "name": "gpt-4o-mini"}
    assert stored["input"][0]["parts"][0]["text"] == "hello"
    assert stored["usage"]["total_tokens"] == "5"  # proto-JSON: int64 as a string
    assert stored["started_at"] == "2026-01-01T00:00:00Z"
    assert sink.generation(f"{transport}-stream")["operation_name"] == "streamText"


def test_every_rejection_over_raw_http(sink: SinkProcess) -> None:
    model = {"provider": "openai", "name": "gpt"}
    body = {
        "generations": [
            {"id": "ok", "model": model},
            {"id": "no-model"},
            {"id": "no-provider", "model": {"name": "gpt"}},
            {"id": "blank-provider", "model": {"provider": " ", "name": "gpt"}},  # the server only checks ""
            {"id": "no-name", "model": {"provider": "openai"}},
            {"id": "mode-7", "model": model, "mode": 7},
            {"id": "ok", "model": model},
        ]
    }
    status, content_type, text = post(sink, EXPORT, json.dumps(body).encode(), TENANT_HEADERS)
    assert (status, content_type) == (202, "application/json")
    assert json.loads(text) == {
        "results": [
            {"generation_id": "ok", "accepted": True},
            {"generation_id": "no-model", "error": "generation.model is required"},
            {"generation_id": "no-provider", "error": "generation.model.provider is required"},
            {"generation_id": "blank-provider", "accepted": True},
            {"generation_id": "no-name", "error": "generation.model.name is required"},
            {"generation_id": "mode-7", "error": "generation.mode is invalid"},
            {"generation_id": "ok", "error": "generation already exists"},
        ]
    }
    assert sorted(g["id"] for g in sink.generations()) == ["blank-provider", "ok"]


def test_every_rejection_over_raw_grpc(sink: SinkProcess) -> None:
    request = pb.ExportGenerationsRequest(
        generations=[
            pb_generation("ok"),
            pb_generation("no-model", model=None),
            pb_generation("no-provider", model=pb.ModelRef(name="gpt")),
            pb_generation("no-name", model=pb.ModelRef(provider="openai")),
            pb_generation("mode-7", mode=7),
            pb_generation("ok"),
        ]
    )
    response = grpc_export(sink, request)
    assert [(r.generation_id, r.accepted, r.error) for r in response.results] == [
        ("ok", True, ""),
        ("no-model", False, "generation.model is required"),
        ("no-provider", False, "generation.model.provider is required"),
        ("no-name", False, "generation.model.name is required"),
        ("mode-7", False, "generation.mode is invalid"),
        ("ok", False, "generation already exists"),
    ]
    assert [g["id"] for g in sink.generations()] == ["ok"]


def test_the_server_defaults_are_filled_in(sink: SinkProcess) -> None:
    before = time.time()
    response = grpc_export(
        sink,
        pb.ExportGenerationsRequest(
            generations=[
                pb_generation(mode=pb.GENERATION_MODE_UNSPECIFIED),
                pb_generation(mode=pb.GENERATION_MODE_STREAM),
                pb_generation("named", operation_name="chat"),
            ]
        ),
    )
    first, second, named = (r.generation_id for r in response.results)
    assert all(r.accepted for r in response.results)
    assert first.startswith("gen-") and second == f"gen-{int(first[4:]) + 1}"
    sync, stream = sink.generation(first), sink.generation(second)
    assert (sync["mode"], sync["operation_name"]) == ("GENERATION_MODE_SYNC", "generateText")
    assert (stream["mode"], stream["operation_name"]) == ("GENERATION_MODE_STREAM", "streamText")
    assert sink.generation(named)["operation_name"] == "chat"
    stamped = pb.Generation()
    stamped.started_at.FromJsonString(sync["started_at"])
    stamped.completed_at.FromJsonString(sync["completed_at"])
    assert before - 1 <= stamped.started_at.ToSeconds() <= time.time() + 1
    assert before - 1 <= stamped.completed_at.ToSeconds() <= time.time() + 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"generations":[{"model":{"provider":"p","name":"n"},"surprise":1}]}', 'no field named "surprise"'),
        (b'{"generations":[{"mode":"GENERATION_MODE_TELEPATHY"}]}', "Invalid enum value GENERATION_MODE_TELEPATHY"),
        # json_format alone would drop the bad characters and accept this
        (b'{"generations":[{"input":[{"parts":[{"tool_call":{"input_json":"!!"}}]}]}]}', "invalid base64"),
        (b'{"generations":[{"raw_artifacts":[{"payload":"YQ="}]}]}', "invalid base64"),
        (b"[]", "expected a JSON object"),
        (b'{"generations":[{"id":"a","id":"b"}]}', "duplicate field 'id'"),
        (b'{"generations":[{"usage":{"input_tokens":1.5}}]}', "Couldn't parse integer"),
        (b"{not json", "invalid JSON"),
        (b"\xff{}", "invalid UTF-8"),
    ],
    ids=["unknown-field", "bad-enum", "bad-base64", "bad-padding", "array", "duplicate-key", "float", "json", "utf8"],
)
def test_unparsable_bodies_are_400_with_the_reason(sink: SinkProcess, body: bytes, reason: str) -> None:
    status, content_type, text = post(sink, EXPORT, body, TENANT_HEADERS)
    assert (status, content_type) == (400, "text/plain; charset=utf-8")
    assert reason in text and text.endswith("\n")
    assert sink.generations() == []
    assert sink.stats()["requests"]["http 400"] >= 1


def test_valid_base64_variants_are_accepted(sink: SinkProcess) -> None:
    parts = [{"tool_call": {"name": "f", "input_json": value}} for value in ("eyJhIjoxfQ==", "eyJhIjoxfQ", "-_-_")]
    body = {"generations": [{"id": "b64", "model": {"provider": "p", "name": "n"}, "input": [{"parts": parts}]}]}
    status, _, text = post(sink, EXPORT, json.dumps(body).encode(), TENANT_HEADERS)
    assert status == 202, text
    stored = sink.generation("b64")["input"][0]["parts"]
    assert [p["tool_call"]["input_json"] for p in stored] == ["eyJhIjoxfQ==", "eyJhIjoxfQ==", "+/+/"]


def test_status_codes_and_content_types(sink: SinkProcess) -> None:
    good = json.dumps({"generations": [{"id": "ct", "model": {"provider": "p", "name": "n"}}]}).encode()
    # proto-JSON whatever the Content-Type says
    status, content_type, text = post(sink, EXPORT, good, {**TENANT_HEADERS, "Content-Type": "text/plain"})
    assert (status, content_type, json.loads(text)) == (
        202,
        "application/json",
        {"results": [{"generation_id": "ct", "accepted": True}]},
    )
    # an empty batch: protojson leaves the empty list out
    assert post(sink, EXPORT, b"{}", TENANT_HEADERS)[::2] == (202, "{}")
    assert post(sink, EXPORT, b"", TENANT_HEADERS, method="GET")[::2] == (405, "method not allowed\n")
    assert post(sink, EXPORT, b"{}", TENANT_HEADERS, method="PUT")[0] == 405
    # the auth middleware runs before the handler's method check
    assert post(sink, EXPORT, b"", {}, method="GET")[::2] == (401, "no org id\n")
    assert post(sink, "/api/v1/generations/nope", b"", method="GET")[0] == 404
    with pytest.raises(KeyError):
        sink.generation("nope")


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_workflow_steps(sink: SinkProcess, transport: str) -> None:
    steps = [WorkflowStep(id="s1", step_name="plan", conversation_id="c-1"), WorkflowStep(id="s1"), WorkflowStep()]
    with exporter(transport, sink, TENANT_HEADERS) as sdk:
        response = sdk.export_workflow_steps(ExportWorkflowStepsRequest(workflow_steps=steps))
    results = [(r.step_id, r.accepted, r.error) for r in response.results]
    assert results[:2] == [("s1", True, ""), ("s1", False, "workflow step already exists")]
    assert results[2][0].startswith("step-") and results[2][1]
    stored = {s["id"]: s for s in sink.workflow_steps(tenant=TENANT)}
    assert stored.keys() == {"s1", results[2][0]}
    assert stored["s1"]["step_name"] == "plan" and stored["s1"]["_tenant"] == TENANT
    assert "completed_at" in stored["s1"]
    assert sink.generations() == []


def test_workflow_steps_need_a_tenant_and_post(sink: SinkProcess) -> None:
    path = "/api/v1/workflow-steps:export"
    assert post(sink, path, b'{"workflow_steps":[{"id":"w"}]}', {})[::2] == (401, "no org id\n")
    assert post(sink, path, b"", TENANT_HEADERS, method="GET")[0] == 405
    assert post(sink, path, b'{"workflow_steps":[{"nope":1}]}', TENANT_HEADERS)[0] == 400


def test_grpc_requests_over_the_grpc_go_limit_are_refused(sink: SinkProcess) -> None:
    huge = pb.ExportGenerationsRequest(generations=[pb_generation("huge", system_prompt="x" * (5 << 20))])
    with pytest.raises(grpc.RpcError) as info:
        grpc_export(sink, huge)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    with grpc_stubs(sink) as (stub, _):
        ok = stub.ExportGenerations(
            pb.ExportGenerationsRequest(generations=[pb_generation("big", system_prompt="x" * (3 << 20))]),
            metadata=[("x-scope-orgid", TENANT)],
            timeout=10,
        )
    assert ok.results[0].accepted
