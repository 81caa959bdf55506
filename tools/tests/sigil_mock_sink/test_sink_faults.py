"""Fault injection, at run time and from the start, seen through the SDK's exporters and raw HTTP."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator

import grpc
import pytest
from sigil_mock_sink.testing import SinkProcess
from sigil_sdk.models import ExportGenerationsRequest
from sink_helpers import EXPORT, TENANT_HEADERS, exporter, generation, post

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _clean(sink: SinkProcess) -> Iterator[None]:
    sink.clear()
    sink.clear_faults()
    yield
    sink.clear_faults()


def export(sink: SinkProcess, transport: str, gen_id: str) -> bool:
    with exporter(transport, sink, TENANT_HEADERS) as sdk:
        [result] = sdk.export_generations(ExportGenerationsRequest([generation(gen_id)])).results
    return bool(result.accepted)


def grpc_code(sink: SinkProcess, gen_id: str) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        export(sink, "grpc", gen_id)
    return info.value.code()


def test_unavailable_for_a_while_then_by_itself_available_again(sink: SinkProcess) -> None:
    started = time.monotonic()
    state = sink.set_faults(unavailable_seconds=1.5)
    assert state["unavailable"] is True and 0 < state["unavailable_seconds_left"] <= 1.5
    with pytest.raises(RuntimeError, match="503"):
        export(sink, "http", "w1")
    assert post(sink, EXPORT, b"{}", TENANT_HEADERS)[::2] == (503, "fault injected: 503\n")
    assert grpc_code(sink, "w2") == grpc.StatusCode.UNAVAILABLE
    assert time.monotonic() - started < 1.5, "the checks above must run inside the window"
    while sink.faults_state()["unavailable"]:  # the window closes by itself
        assert time.monotonic() - started < 5
        time.sleep(0.05)
    assert time.monotonic() - started >= 1.5
    assert export(sink, "http", "w3") and export(sink, "grpc", "w4")
    assert sorted(g["id"] for g in sink.generations()) == ["w3", "w4"]


def test_unavailable_until_cleared(sink: SinkProcess) -> None:
    sink.set_faults(unavailable=True)
    assert sink.faults_state()["unavailable_seconds_left"] is None
    with pytest.raises(RuntimeError, match="503"):
        export(sink, "http", "u1")
    assert grpc_code(sink, "u2") == grpc.StatusCode.UNAVAILABLE
    assert sink.clear_faults()["unavailable"] is False
    assert export(sink, "http", "u3") and export(sink, "grpc", "u4")


def test_fail_next_requests_with_a_chosen_status(sink: SinkProcess) -> None:
    assert sink.set_faults(fail_next=2, error_status=429)["fail_next"] == 2
    with pytest.raises(RuntimeError, match="429"):
        export(sink, "http", "n1")
    assert grpc_code(sink, "n2") == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert export(sink, "http", "n3")  # the third request is served
    assert sink.faults_state()["fail_next"] == 0
    sink.set_faults(fail_next=1, error_status=500)
    assert grpc_code(sink, "n4") == grpc.StatusCode.INTERNAL
    assert [g["id"] for g in sink.generations()] == ["n3"]


def test_delay_each_answer(sink: SinkProcess) -> None:
    sink.set_faults(delay_ms=300)
    for transport in ("http", "grpc"):
        started = time.monotonic()
        assert export(sink, transport, f"d-{transport}")
        assert time.monotonic() - started >= 0.3
    sink.clear_faults()
    started = time.monotonic()
    assert export(sink, "http", "d-fast")
    assert time.monotonic() - started < 0.3


def test_drop_connections(sink: SinkProcess) -> None:
    sink.set_faults(drop_connections=True)
    connection = http.client.HTTPConnection("127.0.0.1", sink.http_port, timeout=10)
    try:
        connection.request("POST", EXPORT, body=b"{}", headers=TENANT_HEADERS)
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            connection.getresponse()  # no status line at all
    finally:
        connection.close()
    with pytest.raises(RuntimeError, match="export failed"):
        export(sink, "http", "x1")
    assert grpc_code(sink, "x2") == grpc.StatusCode.UNAVAILABLE
    assert sink.generations() == []
    sink.clear_faults()
    assert export(sink, "http", "x3") and export(sink, "grpc", "x4")
    assert sink.stats()["requests"]["http dropped"] == 2


def test_reject_a_fraction_of_items(sink: SinkProcess) -> None:
    sink.set_faults(reject_fraction=1.0)
    with exporter("http", sink, TENANT_HEADERS) as sdk:
        [result] = sdk.export_generations(ExportGenerationsRequest([generation("r-all")])).results
    assert (result.accepted, result.error) == (False, "fault injected: item rejected")

    sink.set_faults(reject_fraction=0.5)
    batch = [generation(f"r-{i}") for i in range(400)]
    with exporter("grpc", sink, TENANT_HEADERS) as sdk:
        results = sdk.export_generations(ExportGenerationsRequest(batch)).results
    rejected = [r for r in results if not r.accepted]
    assert 120 <= len(rejected) <= 280  # 200 expected; this band fails once in ~10^18 runs
    assert {r.error for r in rejected} == {"fault injected: item rejected"}
    assert len(sink.generations()) == 400 - len(rejected)
    reason = sink.stats()["rejected"]["generation"]["fault injected: item rejected"]
    assert reason == len(rejected) + 1


def test_faults_endpoint_refuses_nonsense_and_changes_nothing(sink: SinkProcess) -> None:
    for body in ({"reject_fraction": 2}, {"brownout": True}, {"error_status": 418}, {"delay_ms": -1}, [1]):
        status, _, text = post(sink, "/api/v1/faults", json.dumps(body).encode(), method="POST")
        assert status == 400 and text.startswith("bad faults: ")
    assert sink.faults_state() == sink.clear_faults()


def test_faults_from_the_start() -> None:
    faults = {"fail_next": 1, "error_status": 502, "delay_ms": 100}
    with SinkProcess(faults=faults, env={"SINK_REJECT_FRACTION": "1"}) as sink:
        assert sink.faults_state()["reject_fraction"] == 1.0
        status, _, _ = post(sink, EXPORT, b'{"generations":[{"model":{"provider":"p","name":"n"}}]}', TENANT_HEADERS)
        assert status == 502
        started = time.monotonic()
        with exporter("http", sink, TENANT_HEADERS) as sdk:
            [result] = sdk.export_generations(ExportGenerationsRequest([generation("s1")])).results
        assert time.monotonic() - started >= 0.1
        assert result.error == "fault injected: item rejected"
    with SinkProcess(faults={"unavailable_seconds": None}) as down:
        assert post(down, EXPORT, b"{}", TENANT_HEADERS)[0] == 503
        down.clear_faults()
        assert post(down, EXPORT, b"{}", TENANT_HEADERS)[0] == 202
