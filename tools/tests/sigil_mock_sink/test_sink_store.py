"""What the sink keeps and shows: read-back with filters, conversations, clearing, counters, the
bounded store and SQLite history across a restart, health and the page."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sigil_mock_sink.testing import SinkProcess
from sigil_sdk.models import ExportGenerationsRequest, ModelRef, TokenUsage
from sink_helpers import EXPORT, TENANT_HEADERS, exporter, generation, post

pytestmark = pytest.mark.integration


def send(sink: SinkProcess, tenant: str, *generations: object, transport: str = "http") -> None:
    with exporter(transport, sink, {"X-Scope-OrgID": tenant}) as sdk:
        results = sdk.export_generations(ExportGenerationsRequest(list(generations))).results
    assert all(r.accepted for r in results), [r.error for r in results]


def test_read_back_filters_conversations_and_clear(sink: SinkProcess) -> None:
    sink.clear()
    send(
        sink,
        "acme",
        generation("r1", conversation_id="c-1", agent_name="a"),
        generation("r2", conversation_id="c-1", agent_name="b", call_error="boom"),
        generation("r3", conversation_id="c-2", agent_name="a", model=ModelRef(provider="anthropic", name="claude")),
    )
    send(sink, "globex", generation("r4", conversation_id="c-9"), generation("r1", conversation_id="c-9"))
    assert [g["id"] for g in sink.generations()] == ["r1", "r4", "r3", "r2", "r1"]  # newest first
    assert [g["id"] for g in sink.generations(conversation_id="c-1")] == ["r2", "r1"]
    assert [g["id"] for g in sink.generations(agent_name="a", tenant="acme")] == ["r3", "r1"]
    assert [g["id"] for g in sink.generations(model="claude")] == ["r3"]
    assert [g["id"] for g in sink.generations(tenant="globex")] == ["r1", "r4"]
    assert [g["id"] for g in sink.generations(limit=2)] == ["r1", "r4"]
    # the same id in two tenants: the newest, unless the tenant is named
    assert sink.generation("r1")["_tenant"] == "globex"
    assert sink.generation("r1", tenant="acme")["conversation_id"] == "c-1"

    conversations = {(c["tenant"], c["conversation_id"]): c for c in sink.conversations()}
    assert set(conversations) == {("acme", "c-1"), ("acme", "c-2"), ("globex", "c-9")}
    c1 = conversations[("acme", "c-1")]
    assert (c1["generation_count"], c1["error_count"], c1["agents"]) == (2, 1, ["a", "b"])
    assert (c1["input_tokens"], c1["output_tokens"], c1["models"]) == (6, 4, ["gpt-4o-mini"])
    assert [c["conversation_id"] for c in sink.conversations(tenant="acme")] == ["c-2", "c-1"]

    sink.clear()
    assert sink.generations() == [] and sink.conversations() == []
    assert sink.stats()["accepted"]["generation"] >= 5  # counters survive clearing


def test_read_back_is_proto_json_with_proto_field_names(sink: SinkProcess) -> None:
    sink.clear()
    usage = TokenUsage(input_tokens=10, output_tokens=2, total_tokens=12, cache_read_input_tokens=4)
    send(sink, "acme", generation("pj", usage=usage, tags={"env": "test"}, metadata={"k": [1, "x"]}), transport="grpc")
    [item] = sink.generations()
    assert item["usage"] == {
        "input_tokens": "10",
        "output_tokens": "2",
        "total_tokens": "12",
        "cache_read_input_tokens": "4",
    }
    assert (item["mode"], item["tags"], item["metadata"]) == (
        "GENERATION_MODE_SYNC",
        {"env": "test"},
        {"k": [1.0, "x"]},
    )
    assert item["input"][0]["role"] == "MESSAGE_ROLE_USER"
    assert "conversationId" not in item and item["conversation_id"] == "c-1"
    assert sink.generation("pj") == item


def test_metrics_and_stats_count_received_accepted_and_rejected_by_reason(sink: SinkProcess) -> None:
    before = sink.stats()
    body = {
        "generations": [
            {"id": "m1", "model": {"provider": "p", "name": "n"}},
            {"id": "m2", "model": {"provider": "p"}},
            {"id": "m3"},
            {"id": "m1", "model": {"provider": "p", "name": "n"}},
        ]
    }
    sink.clear()
    assert post(sink, EXPORT, json.dumps(body).encode(), TENANT_HEADERS)[0] == 202
    assert post(sink, EXPORT, b"{}", {})[0] == 401
    after = sink.stats()
    assert after["received"]["generation"] - before["received"]["generation"] == 4
    assert after["accepted"]["generation"] - before["accepted"]["generation"] == 1
    for reason in ("generation.model.name is required", "generation.model is required", "generation already exists"):
        assert after["rejected"]["generation"][reason] - before["rejected"]["generation"].get(reason, 0) == 1
    assert after["stored"]["generation"] == 1
    text = sink.metrics_text()
    assert "# TYPE sigil_sink_rejected_total counter" in text
    lines = set(text.splitlines())
    assert f'sigil_sink_received_total{{kind="generation"}} {after["received"]["generation"]}' in lines
    assert f'sigil_sink_accepted_total{{kind="generation"}} {after["accepted"]["generation"]}' in lines
    dup = after["rejected"]["generation"]["generation already exists"]
    assert f'sigil_sink_rejected_total{{kind="generation",reason="generation already exists"}} {dup}' in lines
    assert 'sigil_sink_stored{kind="generation"} 1' in lines
    assert f'sigil_sink_requests_total{{transport="http",outcome="401"}} {after["requests"]["http 401"]}' in lines


def test_bounded_store_and_sqlite_history_across_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "history" / "sink.db"
    with SinkProcess(auth="none", db=db, max_items=3) as first:
        send(first, "ignored", *[generation(f"h{i}") for i in range(5)])
        send(first, "ignored", generation("h5", conversation_id="c-late"), transport="grpc")
        assert [g["id"] for g in first.generations()] == ["h5", "h4", "h3"]
        stats = first.stats()
        assert (stats["evicted"]["generation"], stats["stored"]["generation"]) == (3, 3)
        assert 'sigil_sink_evicted_total{kind="generation"} 3' in first.metrics_text()
        assert first.stop() == 0  # SIGTERM is a clean shutdown
        assert first.log_text().endswith("sigil-mock-sink: stopping\n")
    with sqlite3.connect(db) as conn:  # evicted rows left the file too
        assert conn.execute("SELECT count(*) FROM sink_items").fetchone() == (3,)
    with SinkProcess(auth="none", db=db, max_items=3) as second:
        assert "(3 generations stored)" in second.log_text()
        restored = second.generations()
        assert [(g["id"], g["_tenant"]) for g in restored] == [("h5", "fake"), ("h4", "fake"), ("h3", "fake")]
        assert second.generation("h3")["input"][0]["parts"][0]["text"] == "hello"
        assert second.conversations()[0]["conversation_id"] == "c-late"
        # still a duplicate after the restart, as in the real server's storage
        with exporter("http", second) as sdk:
            [again] = sdk.export_generations(ExportGenerationsRequest([generation("h4")])).results
        assert again.error == "generation already exists"
        second.clear()
    with SinkProcess(auth="none", db=db) as third:
        assert third.generations() == []


def test_health_and_the_page_are_served(sink: SinkProcess) -> None:
    assert sink.request("GET", "/healthz") == {"status": "ok"}
    assert sink.request("GET", "/readyz") == {"status": "ok"}
    status, content_type, page = post(sink, "/", b"", method="GET")
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    assert "<title>Sigil mock sink</title>" in page and "api/v1/generations?limit=200&view=summary" in page
    sink.clear()
    send(sink, "acme", generation("sum", call_error="upstream 529"))
    [summary] = sink.request("GET", "/api/v1/generations?view=summary")["items"]
    assert summary["model"] == {"provider": "openai", "name": "gpt-4o-mini"}
    assert (summary["mode"], summary["usage"], summary["call_error"]) == (
        "GENERATION_MODE_SYNC",
        {"input_tokens": 3, "output_tokens": 2},
        "upstream 529",
    )
