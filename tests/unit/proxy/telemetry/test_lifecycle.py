"""The generations' flush and OpenTelemetry's share one grace at shutdown, every tenant's providers too."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sigil_sdk_litellm.proxy.telemetry import lifecycle
from sigil_sdk_litellm.proxy.telemetry.otlp import Providers
from tests.support import wait_until


class HangingExporter(SpanExporter):
    """A receiver that never answers (until the test ends)."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.release.wait()
        return SpanExportResult.FAILURE


@pytest.fixture(autouse=True)
def no_providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(lifecycle, "_registered", [])
    yield


def _providers(exporter: SpanExporter, grace: float) -> tuple[Providers, TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=600_000))
    providers = Providers(provider, None, grace=grace)
    lifecycle.register(providers)
    return providers, provider


def test_without_providers_only_the_generations_are_flushed() -> None:
    flushed: list[bool] = []
    lifecycle.shutdown_within(lambda: flushed.append(True))
    assert flushed == [True]


def test_spans_are_exported_while_the_generations_drain() -> None:
    """A Sigil outage may take the whole grace: the spans that ended before the stop go out meanwhile."""
    spans = InMemorySpanExporter()
    _, provider = _providers(spans, grace=5)
    provider.get_tracer("t").start_span("before the stop").end()
    seen: list[bool] = []
    lifecycle.shutdown_within(lambda: seen.append(wait_until(lambda: len(spans.get_finished_spans()) == 1, 3)))
    assert seen == [True]


def test_both_flushes_end_within_one_grace() -> None:
    hanging = HangingExporter()
    _, provider = _providers(hanging, grace=1.0)
    provider.get_tracer("t").start_span("never delivered").end()
    started = time.monotonic()
    try:
        lifecycle.shutdown_within(lambda: time.sleep(0.6))  # the generations take most of the grace
        elapsed = time.monotonic() - started
    finally:
        hanging.release.set()
    assert 0.6 <= elapsed < 1.3, elapsed  # not 0.6 + a grace of its own


def test_a_shorter_grace_of_the_caller_wins() -> None:
    hanging = HangingExporter()
    _, provider = _providers(hanging, grace=30)
    provider.get_tracer("t").start_span("never delivered").end()
    started = time.monotonic()
    try:
        lifecycle.shutdown_within(lambda: None, grace=0.3)
        elapsed = time.monotonic() - started
    finally:
        hanging.release.set()
    assert elapsed < 1.0, elapsed


def test_every_tenants_spans_are_exported_while_the_generations_drain() -> None:
    tenants = [InMemorySpanExporter() for _ in range(3)]
    for n, spans in enumerate(tenants):
        _, provider = _providers(spans, grace=5)
        provider.get_tracer("t").start_span(f"tenant {n}").end()
    seen: list[bool] = []
    lifecycle.shutdown_within(
        lambda: seen.append(wait_until(lambda: all(len(s.get_finished_spans()) == 1 for s in tenants), 3))
    )
    assert seen == [True]


def test_tenants_stop_side_by_side_within_one_grace() -> None:
    """Three tenants whose receivers never answer take one grace together, not three; and a tenant whose
    receiver answers still gets its spans out."""
    hanging = [HangingExporter() for _ in range(3)]
    for exporter in hanging:
        _, provider = _providers(exporter, grace=1.0)
        provider.get_tracer("t").start_span("never delivered").end()
    answering = InMemorySpanExporter()
    _, provider = _providers(answering, grace=1.0)
    provider.get_tracer("t").start_span("delivered").end()
    started = time.monotonic()
    try:
        lifecycle.shutdown_within(lambda: time.sleep(0.3))
        elapsed = time.monotonic() - started
    finally:
        for exporter in hanging:
            exporter.release.set()
    assert 0.3 <= elapsed < 1.5, elapsed  # not 3 graces
    assert [span.name for span in answering.get_finished_spans()] == ["delivered"]
