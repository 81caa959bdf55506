"""The delivery buffer with transports that misbehave in ways a real endpoint cannot be made to:
one that raises something unexpected, one that hangs, one that cannot encode a generation.

(The real transports against the real sink, outages included: tests/integration/test_delivery.py.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import pytest
from sigil_sdk.models import ExportGenerationsRequest, Generation

from sigil_sdk_litellm.proxy.export.delivery import DeliveryExporter
from sigil_sdk_litellm.proxy.export.transport import SendResult, TransientFailure
from tests.support import wait_until


class ScriptedTransport:
    """Encodes a generation as its id; ``send`` runs ``behaviour`` (raise, block, …) then records."""

    endpoint = "scripted:0"

    def __init__(self) -> None:
        self.sent: list[list[bytes]] = []
        self.release = threading.Event()
        self.mode = "ok"
        self.failures = 0  # this many sends fail transiently first
        self.closed = False

    def encode(self, generation: Generation) -> bytes:
        if generation.id.startswith("bad"):
            raise ValueError("cannot encode this one")
        return generation.id.encode()

    def send(self, pieces: Sequence[bytes]) -> SendResult:
        if self.failures:
            self.failures -= 1
            raise TransientFailure("Sigil at scripted:0 answered 503", "http-503")
        if self.mode == "raise":
            self.mode = "ok"
            raise KeyError("something nobody expected")
        if self.mode == "hang":
            self.release.wait(30)
        self.sent.append(list(pieces))
        return SendResult()

    def close(self) -> None:
        self.closed = True


def request(*ids: str) -> ExportGenerationsRequest:
    return ExportGenerationsRequest(generations=[Generation(id=i) for i in ids])


def test_an_unexpected_error_is_logged_once_and_the_sender_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    transport = ScriptedTransport()
    transport.mode = "raise"
    delivery = DeliveryExporter(transport, max_items=100, max_bytes=1 << 20)
    caplog.set_level(logging.WARNING)
    delivery.export_generations(request("a", "b"))
    assert delivery.flush(timeout=5)
    delivery.export_generations(request("c"))
    assert delivery.flush(timeout=5)
    assert transport.sent == [[b"c"]]
    assert delivery.stats()["rejected"] == 2 and delivery.stats()["delivered"] == 1
    assert sum("export failed unexpectedly" in r.getMessage() for r in caplog.records) == 1
    delivery.shutdown()
    assert transport.closed


def test_a_hanging_endpoint_never_blocks_the_caller_and_shutdown_is_bounded() -> None:
    transport = ScriptedTransport()
    transport.mode = "hang"
    delivery = DeliveryExporter(transport, max_items=100, max_bytes=1 << 20, drain_timeout=0.5)
    started = time.monotonic()
    for index in range(50):
        delivery.export_generations(request(f"g{index}"))
    assert time.monotonic() - started < 1.0, "export_generations waited for the endpoint"
    assert wait_until(lambda: delivery.stats()["pending"] == 50)
    started = time.monotonic()
    delivery.shutdown()
    assert time.monotonic() - started < 3.0
    assert delivery.stats()["dropped_shutdown"] == 50  # the hung batch included
    transport.release.set()


def test_a_generation_that_cannot_be_encoded_does_not_lose_its_batch(caplog: pytest.LogCaptureFixture) -> None:
    transport = ScriptedTransport()
    delivery = DeliveryExporter(transport, max_items=100, max_bytes=1 << 20)
    caplog.set_level(logging.WARNING)
    response = delivery.export_generations(request("a", "bad-1", "b"))
    assert [r.generation_id for r in response.results] == ["a", "b"]
    assert delivery.flush(timeout=5)
    assert [piece for batch in transport.sent for piece in batch] == [b"a", b"b"]
    assert any("could not encode a generation" in r.getMessage() for r in caplog.records)
    delivery.shutdown()


def test_batches_are_bounded_by_items_and_bytes() -> None:
    transport = ScriptedTransport()
    transport.mode = "hang"  # let the buffer fill first
    delivery = DeliveryExporter(transport, max_items=1000, max_bytes=1 << 20, batch_items=4, batch_bytes=10)
    delivery.export_generations(request("first"))
    assert wait_until(lambda: delivery.stats()["pending"] == 1 and not delivery._buffer)
    delivery.export_generations(request(*[f"id{n:03d}" for n in range(10)]))  # 5 bytes each
    transport.mode = "ok"
    transport.release.set()
    assert delivery.flush(timeout=5)
    sizes = [len(batch) for batch in transport.sent]
    assert sizes == [1, 2, 2, 2, 2, 2]  # 10-byte batches: two 5-byte ids each
    delivery.shutdown()


def test_retries_wait_with_equal_jitter_doubling_up_to_the_max(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff 1, 2, 4, 4, 4 s (max 4): each wait is half of it plus the jitter draw times the other half."""
    transport = ScriptedTransport()
    transport.failures = 5
    draws = iter([0.0, 0.5, 0.999, 0.0, 0.5])
    delivery = DeliveryExporter(
        transport, max_items=10, max_bytes=1 << 20, initial_backoff=1.0, max_backoff=4.0, jitter=lambda: next(draws)
    )
    waits: list[float] = []
    monkeypatch.setattr(delivery, "_wait", lambda seconds: waits.append(seconds) is None)  # no real sleeping
    delivery.export_generations(request("a"))
    assert delivery.flush(timeout=5)
    assert waits == pytest.approx([0.5, 1.5, 3.998, 2.0, 3.0])
    assert transport.sent == [[b"a"]]
    assert delivery.stats()["retries"] == 5 and delivery.stats()["delivered"] == 1
    delivery.shutdown()


def test_single_generations_wait_for_a_batch_until_their_linger_ends() -> None:
    """The in-process direct writer hands generations over one by one: they go out together, after at
    most the linger (the SDK's flush interval), or at once when the batch is full or someone flushes."""
    transport = ScriptedTransport()
    delivery = DeliveryExporter(transport, max_items=100, max_bytes=1 << 20, batch_items=3)
    try:
        for ident in ("a", "b"):
            assert delivery.export_encoded(ident, ident.encode(), linger=30.0)
        time.sleep(0.2)
        assert transport.sent == []  # lingering: the batch is not full
        assert delivery.export_encoded("c", b"c", linger=30.0)
        assert wait_until(lambda: transport.sent == [[b"a", b"b", b"c"]])  # full: sent at once
        assert delivery.export_encoded("d", b"d", linger=30.0)
        started = time.monotonic()
        assert delivery.flush(timeout=5)  # a flush does not wait for the linger
        assert time.monotonic() - started < 5 and transport.sent[-1] == [b"d"]
        assert delivery.export_encoded("e", b"e", linger=0.3)
        assert wait_until(lambda: transport.sent[-1] == [b"e"], timeout=5)  # the linger ended
    finally:
        delivery.shutdown()
