"""The export path of the distribution against the real mock sink: a real ``sigil_sdk.Client`` built
from settings (``build_client``) exporting through the delivery buffer, the sink injecting faults.

Each generation must arrive exactly once across outages (503, refused connections); permanent
rejections are logged once and not retried; the buffer is bounded and shutdown is bounded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litellm.types.utils import ModelResponse
from sigil_mock_sink.testing import SinkProcess
from sigil_sdk import Client, GenerationStart, ModelRef

from sigil_sdk_litellm.proxy.builders import build_client
from sigil_sdk_litellm.proxy.export.delivery import DeliveryExporter
from sigil_sdk_litellm.proxy.guardrail import build_guard
from sigil_sdk_litellm.proxy.settings.loading import load_settings
from tests.tcp_relay import CountingRelay
from tests.tls import TlsFiles, make_tls_files

pytestmark = pytest.mark.integration

TOKEN = "sk-sigil-delivery-test-token-9f3a"


def env_for(sink: SinkProcess, protocol: str, **extra: str) -> dict[str, str]:
    endpoint = sink.http_url if protocol == "http" else sink.grpc_target
    env = {
        "SIGIL_PROTOCOL": protocol,
        "SIGIL_ENDPOINT": endpoint,
        "SIGIL_INSECURE": "true" if protocol == "grpc" else "false",
        "SIGIL_AUTH_MODE": "tenant",
        "SIGIL_AUTH_TENANT_ID": "delivery",
        "SIGIL_FLUSH_INTERVAL": "0.05",
        "SIGIL_INITIAL_BACKOFF": "0.05",
        "SIGIL_MAX_BACKOFF": "0.5",
        "SIGIL_SHUTDOWN_GRACE": "5",
    }
    env.update(extra)
    return env


def record(client: Client, count: int, conversation: str) -> None:
    for _ in range(count):
        with client.start_generation(
            GenerationStart(model=ModelRef(provider="openai", name="m"), conversation_id=conversation)
        ):
            pass
    client.flush()  # into the delivery buffer; never raises, whatever the sink does


def delivery_of(client: Client) -> DeliveryExporter:
    exporter = client._generation_exporter
    assert isinstance(exporter, DeliveryExporter)
    return exporter


def ingest_requests(sink: SinkProcess) -> int:
    requests: dict[str, int] = sink.stats()["requests"]
    return sum(count for key, count in requests.items() if not key.startswith("read"))


def wait_until(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture
def sink() -> Iterator[SinkProcess]:
    with SinkProcess(auth="tenant") as process:
        yield process


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_an_outage_delays_but_loses_nothing(sink: SinkProcess, protocol: str) -> None:
    sink.set_faults(unavailable=True)
    client = build_client(load_settings(env_for(sink, protocol)))
    try:
        record(client, 60, "outage")
        delivery = delivery_of(client)
        wait_until(lambda: delivery.stats()["retries"] >= 3)
        assert sink.generations(conversation_id="outage") == []
        record(client, 40, "outage")  # more arrive during the outage
        sink.clear_faults()
        assert delivery.flush(timeout=30)
        stats = delivery.stats()
    finally:
        client.shutdown()
    items = sink.generations(conversation_id="outage", limit=1000)
    ids = [item["id"] for item in items]
    assert len(ids) == 100 and len(set(ids)) == 100
    assert stats["delivered"] == 100
    assert stats["dropped_full"] == stats["dropped_shutdown"] == stats["rejected"] == 0


def test_refused_connections_until_the_sink_comes_back() -> None:
    first = SinkProcess(auth="tenant").start()
    http_port, grpc_port = first.http_port, first.grpc_port
    first.stop()
    client = build_client(load_settings(env_for(first, "grpc")))
    try:
        record(client, 30, "refused")
        delivery = delivery_of(client)
        wait_until(lambda: delivery.stats()["retries"] >= 2)
        with SinkProcess(auth="tenant", http_port=http_port, grpc_port=grpc_port) as second:
            assert delivery.flush(timeout=30)
            ids = [item["id"] for item in second.generations(conversation_id="refused", limit=100)]
    finally:
        client.shutdown()
    assert len(ids) == 30 and len(set(ids)) == 30


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_wrong_credentials_are_reported_once_and_not_retried(protocol: str, caplog: pytest.LogCaptureFixture) -> None:
    with SinkProcess(auth="bearer", bearer_token="the-right-token") as sink:
        # flushed only by record(): three batches of ten
        env = env_for(sink, protocol, SIGIL_AUTH_MODE="bearer", SIGIL_AUTH_TOKEN=TOKEN, SIGIL_FLUSH_INTERVAL="60")
        del env["SIGIL_AUTH_TENANT_ID"]
        client = build_client(load_settings(env))
        caplog.set_level(logging.INFO)
        try:
            for _ in range(3):
                record(client, 10, "denied")
                assert delivery_of(client).flush(timeout=10)
            stats = delivery_of(client).stats()
            attempts = ingest_requests(sink)
            sink_stats = sink.stats()["requests"]
        finally:
            client.shutdown()
    assert stats["rejected"] == 30 and stats["delivered"] == 0 and stats["retries"] == 0
    assert attempts == 3, f"no retry storm: one request per batch ({sink_stats})"
    lines = [r.getMessage() for r in caplog.records if "rejected the credentials (401)" in r.getMessage()]
    assert len(lines) == 1, lines
    assert "SIGIL_AUTH_TOKEN" in lines[0]
    assert TOKEN not in caplog.text


def test_a_full_buffer_drops_new_generations_counted_and_logged_once(
    sink: SinkProcess, caplog: pytest.LogCaptureFixture
) -> None:
    sink.set_faults(unavailable=True)
    client = build_client(load_settings(env_for(sink, "http", SIGIL_BUFFER_MAX_ITEMS="10")))
    caplog.set_level(logging.INFO)
    try:
        record(client, 25, "full")
        delivery = delivery_of(client)
        assert delivery.stats()["dropped_full"] == 15
        sink.clear_faults()
        assert delivery.flush(timeout=30)
        delivered = delivery.stats()["delivered"]
    finally:
        client.shutdown()
    assert delivered == 10
    assert len(sink.generations(conversation_id="full", limit=100)) == 10
    assert sum("export buffer full" in r.getMessage() for r in caplog.records) == 1


def test_shutdown_during_an_outage_is_bounded_and_counts_what_it_drops(
    sink: SinkProcess, caplog: pytest.LogCaptureFixture
) -> None:
    sink.set_faults(unavailable=True)
    client = build_client(load_settings(env_for(sink, "grpc", SIGIL_SHUTDOWN_GRACE="1")))
    caplog.set_level(logging.INFO)
    record(client, 5, "late")
    delivery = delivery_of(client)
    started = time.monotonic()
    client.shutdown()
    elapsed = time.monotonic() - started
    assert elapsed < 4.0
    assert delivery.stats()["dropped_shutdown"] == 5
    assert any("not delivered" in r.getMessage() and "SIGIL_SHUTDOWN_GRACE" in r.getMessage() for r in caplog.records)


def test_shutdown_delivers_what_is_buffered(sink: SinkProcess) -> None:
    client = build_client(load_settings(env_for(sink, "http", SIGIL_FLUSH_INTERVAL="60")))
    with client.start_generation(GenerationStart(model=ModelRef(provider="openai", name="m"), conversation_id="end")):
        pass
    client.shutdown()
    assert len(sink.generations(conversation_id="end")) == 1


# ---------------------------------------------------------------------------------------------
# Transport security: a sink serving HTTPS and gRPC over TLS with a certificate of a private CA


@pytest.fixture(scope="module")
def tls_sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SinkProcess, TlsFiles]]:
    files = make_tls_files(tmp_path_factory.mktemp("tls"))
    with SinkProcess(auth="tenant", tls=(files.server_cert, files.server_key, files.ca_cert)) as process:
        yield process, files


def tls_env(sink: SinkProcess, protocol: str, **extra: str) -> dict[str, str]:
    endpoint = sink.http_url if protocol == "http" else sink.grpc_target
    assert protocol == "grpc" or endpoint.startswith("https://")
    return env_for(sink, protocol, **{"SIGIL_ENDPOINT": endpoint, "SIGIL_INSECURE": "false", **extra})


async def test_hooks_trust_the_endpoints_ca_too(tls_sink: tuple[SinkProcess, TlsFiles]) -> None:
    """SIGIL_TLS_CA_FILE reaches both hook phases: without it, HTTPS to the private CA fails verification and
    the (fail-closed) guard refuses with a 503."""
    sink, files = tls_sink
    settings = load_settings(tls_env(sink, "http", SIGIL_TLS_CA_FILE=str(files.ca_cert), SIGIL_HOOKS_FAIL_OPEN="false"))
    guard = build_guard(settings)
    data = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
    try:
        assert await guard.pre_call(dict(data), "acompletion") is None
        answer = ModelResponse(choices=[{"index": 0, "message": {"role": "assistant", "content": "hi"}}])
        assert await guard.post_call(dict(data), answer) is answer
    finally:
        guard.close()
    phases = [item["request"]["phase"] for item in sink.request("GET", "/api/v1/hook-evaluations")["items"]]
    assert sorted(phases) == ["postflight", "preflight"]


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_tls_with_the_endpoints_ca_delivers(tls_sink: tuple[SinkProcess, TlsFiles], protocol: str) -> None:
    sink, files = tls_sink
    client = build_client(load_settings(tls_env(sink, protocol, SIGIL_TLS_CA_FILE=str(files.ca_cert))))
    try:
        record(client, 3, f"tls-{protocol}")
        assert delivery_of(client).flush(timeout=20)
    finally:
        client.shutdown()
    assert len(sink.generations(conversation_id=f"tls-{protocol}")) == 3


@pytest.mark.parametrize("trust", ["system", "other-ca"])
@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_tls_verification_refuses_an_untrusted_certificate(
    tls_sink: tuple[SinkProcess, TlsFiles],
    protocol: str,
    trust: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Verification is on by default: the system's CAs (or another private CA) do not vouch for the
    sink's certificate, so nothing is sent; the log says why, and what is buffered waits."""
    sink, _ = tls_sink
    extra = {} if trust == "system" else {"SIGIL_TLS_CA_FILE": str(make_tls_files(tmp_path, "another CA").ca_cert)}
    conversation = f"untrusted-{protocol}-{trust}"
    client = build_client(load_settings(tls_env(sink, protocol, **extra)))
    caplog.set_level(logging.INFO)
    try:
        record(client, 2, conversation)
        delivery = delivery_of(client)
        wait_until(lambda: delivery.stats()["retries"] >= 2)
        assert delivery.stats()["delivered"] == 0
        assert delivery.stats()["pending"] == 2
    finally:
        client.shutdown()
    assert sink.generations(conversation_id=conversation) == []
    assert any(
        "TLS verification" in r.getMessage() and "SIGIL_TLS_CA_FILE" in r.getMessage() for r in caplog.records
    ), [r.getMessage() for r in caplog.records]


def test_plaintext_grpc_is_an_explicit_choice(tls_sink: tuple[SinkProcess, TlsFiles]) -> None:
    """A plaintext client (SIGIL_INSECURE=true) cannot talk to the TLS port: nothing is delivered."""
    sink, _ = tls_sink
    client = build_client(load_settings(tls_env(sink, "grpc", SIGIL_INSECURE="true", SIGIL_SHUTDOWN_GRACE="1")))
    try:
        record(client, 1, "plaintext")
        delivery = delivery_of(client)
        wait_until(lambda: delivery.stats()["retries"] >= 1)
        assert delivery.stats()["delivered"] == 0
    finally:
        client.shutdown()
    assert sink.generations(conversation_id="plaintext") == []


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_http_batches_reuse_one_connection(request: pytest.FixtureRequest, scheme: str) -> None:
    """Five batches, one TCP connection (so one TLS handshake): the transport keeps its connection alive.
    A relay in front of the real sink counts the connections; https trusts the sink's CA (SIGIL_TLS_CA_FILE)."""
    if scheme == "https":
        sink, files = request.getfixturevalue("tls_sink")
        extra = {"SIGIL_TLS_CA_FILE": str(files.ca_cert)}
    else:
        sink, extra = request.getfixturevalue("sink"), {}
    before = ingest_requests(sink)
    with CountingRelay("127.0.0.1", sink.http_port) as relay:
        endpoint = f"{scheme}://127.0.0.1:{relay.port}"
        env = env_for(sink, "http", SIGIL_ENDPOINT=endpoint, SIGIL_FLUSH_INTERVAL="60", **extra)
        client = build_client(load_settings(env))
        try:
            for _ in range(5):
                record(client, 3, f"reuse-{scheme}")
                assert delivery_of(client).flush(timeout=20)
        finally:
            client.shutdown()
        connections = relay.connections
    assert len(sink.generations(conversation_id=f"reuse-{scheme}", limit=100)) == 15
    assert ingest_requests(sink) - before == 5
    assert connections == 1
