"""The pipeline metrics (``sigil_litellm_*``) as the delivery buffer, the hand-off and the hook guard
count them, read back from a real ``prometheus_client`` registry.

(The same metrics summed over two proxy workers and their recorders, scraped from LiteLLM's own
``/metrics`` during a sink outage: tests/integration/test_pipeline_metrics_proxy.py.)
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from sigil_sdk.models import ExportGenerationsRequest, Generation

from sigil_sdk_litellm.proxy.export.delivery import DeliveryExporter
from sigil_sdk_litellm.proxy.export.transport import PermanentRejection, SendResult, TransientFailure
from sigil_sdk_litellm.proxy.metrics import DROP_REASONS, PipelineMetrics, metrics_enabled, pipeline_metrics
from sigil_sdk_litellm.proxy.settings import ConfigError, Settings
from sigil_sdk_litellm.proxy.spool.store import SpoolReader


class SwitchableTransport:
    """Encodes a generation as its id; ``send`` fails transiently while ``down`` is set, rejects ids
    starting with ``reject`` for good, else delivers."""

    endpoint = "switchable:0"

    def __init__(self) -> None:
        self.down = threading.Event()
        self.sent: list[bytes] = []

    def encode(self, generation: Generation) -> bytes:
        if generation.id.startswith("bad"):
            raise ValueError("cannot encode this one")
        return generation.id.encode()

    def send(self, pieces: Sequence[bytes]) -> SendResult:
        if self.down.is_set():
            raise TransientFailure("sink down", "connect")
        if pieces[0].startswith(b"reject"):
            raise PermanentRejection("forbidden", "auth", 403)
        self.sent.extend(pieces)
        return SendResult()

    def close(self) -> None:
        pass


def request(*ids: str) -> ExportGenerationsRequest:
    return ExportGenerationsRequest(generations=[Generation(id=i) for i in ids])


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    found = registry.get_sample_value(name, {"tenant": "default", **labels})
    return 0.0 if found is None else found


def dropped(registry: CollectorRegistry) -> float:
    return sum(value(registry, "sigil_litellm_generations_dropped_total", reason=r) for r in DROP_REASONS)


def balance(registry: CollectorRegistry) -> tuple[float, float]:
    """(recorded, exported + rejected + dropped + buffered): equal whenever the buffer is at rest."""
    out = (
        value(registry, "sigil_litellm_generations_exported_total")
        + value(registry, "sigil_litellm_generations_rejected_total")
        + dropped(registry)
        + value(registry, "sigil_litellm_buffer_items")
    )
    return value(registry, "sigil_litellm_generations_recorded_total"), out


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def test_an_outage_and_its_recovery_add_up(registry: CollectorRegistry) -> None:
    transport = SwitchableTransport()
    transport.down.set()
    delivery = DeliveryExporter(
        transport,
        max_items=5,
        max_bytes=1 << 20,
        batch_items=2,
        initial_backoff=0.01,
        max_backoff=0.02,
        metrics=PipelineMetrics(registry).delivery(),
    )
    for index in range(8):
        delivery.export_generations(request(f"g{index}"))
    delivery.export_generations(request("bad-1"))
    # five held (the buffer's bound), three dropped as the buffer is full, one not encodable
    assert value(registry, "sigil_litellm_buffer_items") == 5
    assert value(registry, "sigil_litellm_buffer_bytes") == 10
    assert value(registry, "sigil_litellm_generations_dropped_total", reason="buffer_full") == 3
    assert value(registry, "sigil_litellm_generations_dropped_total", reason="encode_error") == 1
    recorded, out = balance(registry)
    assert recorded == 9 == out
    assert value(registry, "sigil_litellm_last_successful_export_timestamp_seconds") == 0
    # the sender keeps retrying: failed attempts and retries are counted, each attempt timed
    deadline = threading.Event()
    while value(registry, "sigil_litellm_export_retries_total") < 2 and not deadline.wait(0.01):
        pass
    assert value(registry, "sigil_litellm_export_attempts_total", outcome="transient_failure") >= 2

    transport.down.clear()
    assert delivery.flush(timeout=10)
    assert value(registry, "sigil_litellm_generations_exported_total") == 5 == len(transport.sent)
    assert value(registry, "sigil_litellm_buffer_items") == 0 == value(registry, "sigil_litellm_buffer_bytes")
    assert value(registry, "sigil_litellm_export_attempts_total", outcome="success") >= 3  # batches of ≤ 2
    assert value(registry, "sigil_litellm_last_successful_export_timestamp_seconds") > 1e9
    attempts = sum(
        value(registry, "sigil_litellm_export_attempts_total", outcome=o)
        for o in ("success", "rejected", "transient_failure")
    )
    assert value(registry, "sigil_litellm_export_duration_seconds_count") == attempts
    recorded, out = balance(registry)
    assert recorded == 9 == out
    delivery.shutdown()


def test_rejections_and_shutdown_drops_are_counted(registry: CollectorRegistry) -> None:
    transport = SwitchableTransport()
    delivery = DeliveryExporter(
        transport,
        max_items=100,
        max_bytes=1 << 20,
        initial_backoff=0.05,
        drain_timeout=0.2,
        metrics=PipelineMetrics(registry).delivery(),
    )
    delivery.export_generations(request("reject-1", "reject-2"))
    assert delivery.flush(timeout=5)
    assert value(registry, "sigil_litellm_generations_rejected_total") == 2
    assert value(registry, "sigil_litellm_export_attempts_total", outcome="rejected") == 1
    transport.down.set()
    delivery.export_generations(request("a", "b", "c"))
    delivery.shutdown()  # Sigil stays down past the drain deadline: the three are dropped
    assert value(registry, "sigil_litellm_generations_dropped_total", reason="shutdown_deadline") == 3
    assert value(registry, "sigil_litellm_buffer_items") == 0
    recorded, out = balance(registry)
    assert recorded == 5 == out


def test_metrics_setting() -> None:
    assert metrics_enabled("auto", {"PROMETHEUS_MULTIPROC_DIR": "/tmp/x"})
    assert not metrics_enabled("auto", {})
    assert metrics_enabled("true", {}) and not metrics_enabled("false", {"PROMETHEUS_MULTIPROC_DIR": "/x"})
    assert Settings.from_env({"SIGIL_METRICS": "false"}).metrics == "false"
    with pytest.raises(ConfigError, match="SIGIL_METRICS") as error:
        Settings.from_env({"SIGIL_METRICS": "sometimes"})
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("workers", "metrics_port", "callbacks", "preset", "on"),
    [
        (1, 9090, None, False, True),  # --prometheus_metrics_port: LiteLLM creates the directory, one worker too
        (2, 9090, None, False, True),
        (2, None, ["prometheus"], False, True),  # several workers and its prometheus callback: it creates one
        (1, None, ["prometheus"], False, False),  # one process serves /metrics itself: SIGIL_METRICS=true for ours
        (2, None, None, False, False),  # nobody serves a pod-wide /metrics
        (1, None, None, True, True),  # a directory given (a sidecar metrics server reads it): kept
    ],
)
def test_auto_follows_the_directory_litellm_sets_up(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    workers: int,
    metrics_port: int | None,
    callbacks: list[str] | None,
    preset: bool,
    on: bool,
) -> None:
    """SIGIL_METRICS=auto decides in the worker, after LiteLLM's CLI set the environment its workers (and
    their recorder processes) inherit; this is the CLI's own decision, run as ``litellm`` runs it."""
    from litellm.proxy.proxy_cli import ProxyInitializationHelpers

    for name in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"):
        monkeypatch.setenv(name, "")  # so that monkeypatch restores whatever LiteLLM sets
        monkeypatch.delenv(name)
    if preset:
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "given"))
        (tmp_path / "given").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ProxyInitializationHelpers.maybe_setup_prometheus_multiproc_dir(
        num_workers=workers,
        litellm_settings={"callbacks": callbacks} if callbacks else None,
        prometheus_metrics_port=metrics_port,
    )
    assert metrics_enabled("auto") is on


def test_a_directory_set_too_late_is_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """This test process imported prometheus_client without the directory: its samples stay in memory."""
    import sigil_sdk_litellm.proxy.metrics as metrics_module

    monkeypatch.setattr(metrics_module, "_instance", None)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="sigil_sdk_litellm"):
        metrics = pipeline_metrics("auto")
    assert metrics is not None
    metrics.delivery().recorded.inc()
    [line] = [r.getMessage() for r in caplog.records]
    assert "PROMETHEUS_MULTIPROC_DIR was set after" in line and "\n" not in line
    assert list(tmp_path.iterdir()) == [], "what the warning says: nothing reaches the directory"

    from prometheus_client import values

    caplog.clear()
    monkeypatch.setattr(metrics_module, "_instance", None)
    monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue())
    with caplog.at_level(logging.WARNING, logger="sigil_sdk_litellm"):
        metrics = pipeline_metrics("auto")
    assert metrics is not None
    metrics.delivery().recorded.inc()
    assert caplog.records == []
    assert list(tmp_path.glob("counter_*.db")), "the samples went to the directory"


def test_metrics_off_builds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    assert pipeline_metrics("auto") is None
    assert pipeline_metrics("false") is None


def test_the_spool_reports_its_fill_and_what_it_refused(registry: CollectorRegistry, tmp_path: Path) -> None:
    from sigil_sdk_litellm.mapping import MappingOptions
    from sigil_sdk_litellm.proxy.handoff.frames import encode_frame
    from sigil_sdk_litellm.proxy.offload.slim_event import slim_event
    from sigil_sdk_litellm.proxy.spool.sender import SpoolSender
    from sigil_sdk_litellm.proxy.spool.store import SpoolFile, SpoolWriter
    from sigil_sdk_litellm.recording import SdkRecorder
    from tests.support import callback_kwargs, capturing_client, chat_response, standard_logging_object

    def frame(call_id: str) -> bytes:
        slo = standard_logging_object(id=call_id, response={}, litellm_call_id=call_id)
        kwargs = callback_kwargs(slo, litellm_call_id=call_id)
        return encode_frame(False, False, slim_event(kwargs, chat_response(id=call_id), redacted=False))

    metrics = PipelineMetrics(registry).spool()
    own = SpoolFile.create(tmp_path)
    writer = SpoolWriter(own.path, 1 << 20)
    frames = [frame(f"call-{n}") for n in range(3)]
    for body in frames:
        writer.append(body)
    client, exporter = capturing_client()
    sender = SpoolSender(own.path, SdkRecorder(client, MappingOptions()), None, batch_items=2, metrics=metrics)
    reader = SpoolReader(own.path)
    sender._measure(reader)  # what a sender reports before its first round
    assert value(registry, "sigil_litellm_spool_items") == 3
    assert value(registry, "sigil_litellm_spool_bytes") == sum(len(b) for b in frames)
    sender.stop.set()
    sender.run()
    assert len(exporter.generations) == 3
    assert value(registry, "sigil_litellm_spool_items") == 0 == value(registry, "sigil_litellm_spool_bytes")
    reader.close()
