"""The telemetry pipeline's own Prometheus metrics (``sigil_litellm_*``), summed over processes.

LiteLLM 1.108 serves ``/metrics`` from a separate process (``--prometheus_metrics_port``) that reads
``PROMETHEUS_MULTIPROC_DIR``, where each worker writes its samples. With that directory set,
``prometheus_client`` writes ours there too — from the workers and from their recorder processes —
so one scrape shows them summed over a pod. Gauges of live state (buffer fill) use ``livesum``: a
process marked dead (:func:`forget_process`) stops counting; counters of a dead process keep theirs.

Every metric carries a ``tenant`` label (``default`` until per-team tenants exist): the label
values are bound in one place, :meth:`PipelineMetrics.delivery` / :meth:`hooks` / :meth:`handoff`.

With metrics off (``SIGIL_METRICS``, see :func:`metrics_enabled`) nothing here is imported or
called: the instrumented classes hold ``None`` and skip every update.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

from sigil_sdk_litellm.recording import DEFAULT_TENANT

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
logger = logging.getLogger("sigil_sdk_litellm")

# Why a generation left the pipeline undelivered (the `reason` label of the dropped counter).
DROP_REASONS = ("buffer_full", "shutdown_deadline", "encode_error", "handoff_full", "recorder_lost", "spool_full")
EXPORT_OUTCOMES = ("success", "rejected", "transient_failure")
HOOK_PHASES = ("preflight", "postflight")
HOOK_OUTCOMES = ("allow", "deny", "transform", "fail_open", "fail_closed")

# Sigil answers in milliseconds; an outage shows as timeouts of several seconds.
EXPORT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
HOOK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def metrics_enabled(setting: str, env: Mapping[str, str] | None = None) -> bool:
    """``SIGIL_METRICS``: ``true``/``false``, or ``auto`` — on when ``PROMETHEUS_MULTIPROC_DIR`` is set
    (that is when LiteLLM serves a pod-wide ``/metrics``)."""
    if setting == "auto":
        return bool((os.environ if env is None else env).get(MULTIPROC_ENV))
    return setting == "true"


@dataclass(frozen=True)
class DeliveryMetrics:
    """The export buffer's series of one tenant (labels bound)."""

    recorded: Any
    exported: Any
    rejected: Any
    dropped: Mapping[str, Any]
    buffer_items: Any
    buffer_bytes: Any
    attempts: Mapping[str, Any]
    retries: Any
    duration: Any
    last_success: Any


@dataclass(frozen=True)
class HookMetrics:
    """Hook evaluations of one tenant by phase and outcome, and their latency by phase."""

    evaluations: Mapping[tuple[str, str], Any]
    duration: Mapping[str, Any]

    def count(self, phase: str, outcome: str) -> None:
        self.evaluations[(phase, outcome)].inc()


@dataclass(frozen=True)
class HandoffMetrics:
    """Events lost between a proxy worker and its recorder process."""

    full: Any
    lost: Any


@dataclass(frozen=True)
class SpoolMetrics:
    """The disk spool (SIGIL_SPOOL_DIR): frames refused as it was full, and what it holds."""

    full: Any
    items: Any
    bytes: Any


class PipelineMetrics:
    """The metric families; one instance per process (see :func:`pipeline_metrics`)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        from prometheus_client import REGISTRY, Counter, Gauge, Histogram

        reg = REGISTRY if registry is None else registry
        t = ("tenant",)
        self.recorded = Counter(
            "sigil_litellm_generations_recorded",
            "Generations that reached the export buffer (recorded by the SDK client).",
            t,
            registry=reg,
        )
        self.exported = Counter("sigil_litellm_generations_exported", "Generations Sigil accepted.", t, registry=reg)
        self.rejected = Counter(
            "sigil_litellm_generations_rejected",
            "Generations Sigil refused for good (4xx, or rejected items); not retried.",
            t,
            registry=reg,
        )
        self.dropped = Counter(
            "sigil_litellm_generations_dropped",
            "Generations given up before delivery, by reason.",
            (*t, "reason"),
            registry=reg,
        )
        self.buffer_items = Gauge(
            "sigil_litellm_buffer_items",
            "Generations held in the export buffer (incl. the batch being sent).",
            t,
            multiprocess_mode="livesum",
            registry=reg,
        )
        self.buffer_bytes = Gauge(
            "sigil_litellm_buffer_bytes",
            "Encoded bytes held in the export buffer.",
            t,
            multiprocess_mode="livesum",
            registry=reg,
        )
        self.attempts = Counter(
            "sigil_litellm_export_attempts",
            "Export requests to Sigil by outcome.",
            (*t, "outcome"),
            registry=reg,
        )
        self.retries = Counter(
            "sigil_litellm_export_retries", "Export requests retried after a transient failure.", t, registry=reg
        )
        self.duration = Histogram(
            "sigil_litellm_export_duration_seconds",
            "Time of one export request to Sigil, whatever its outcome.",
            t,
            buckets=EXPORT_BUCKETS,
            registry=reg,
        )
        self.last_success = Gauge(
            "sigil_litellm_last_successful_export_timestamp_seconds",
            "Unix time of the last export Sigil accepted (max over processes).",
            t,
            multiprocess_mode="max",
            registry=reg,
        )
        self.spool_items = Gauge(
            "sigil_litellm_spool_items",
            "Events in the disk spools of the live recorders (SIGIL_SPOOL_DIR), not yet delivered.",
            t,
            multiprocess_mode="livesum",
            registry=reg,
        )
        self.spool_bytes = Gauge(
            "sigil_litellm_spool_bytes",
            "Bytes of those events (bounded by SIGIL_SPOOL_MAX_BYTES per worker).",
            t,
            multiprocess_mode="livesum",
            registry=reg,
        )
        self.hook_evaluations = Counter(
            "sigil_litellm_hook_evaluations",
            "Hook evaluations by phase and outcome.",
            (*t, "phase", "outcome"),
            registry=reg,
        )
        self.hook_duration = Histogram(
            "sigil_litellm_hook_evaluation_duration_seconds",
            "Time waiting for Sigil's hook evaluation, by phase.",
            (*t, "phase"),
            buckets=HOOK_BUCKETS,
            registry=reg,
        )

    def delivery(self, tenant: str = DEFAULT_TENANT) -> DeliveryMetrics:
        bound = DeliveryMetrics(
            recorded=self.recorded.labels(tenant),
            exported=self.exported.labels(tenant),
            rejected=self.rejected.labels(tenant),
            dropped={reason: self.dropped.labels(tenant, reason) for reason in DROP_REASONS},
            buffer_items=self.buffer_items.labels(tenant),
            buffer_bytes=self.buffer_bytes.labels(tenant),
            attempts={outcome: self.attempts.labels(tenant, outcome) for outcome in EXPORT_OUTCOMES},
            retries=self.retries.labels(tenant),
            duration=self.duration.labels(tenant),
            last_success=self.last_success.labels(tenant),
        )
        # every series exists from the start (0), so rate() and the dashboard see them before an event
        bound.buffer_items.set(0)
        bound.buffer_bytes.set(0)
        self.spool_items.labels(tenant).set(0)  # a recorder without a spool holds none
        self.spool_bytes.labels(tenant).set(0)
        return bound

    def hooks(self, tenant: str = DEFAULT_TENANT) -> HookMetrics:
        return HookMetrics(
            evaluations={
                (phase, outcome): self.hook_evaluations.labels(tenant, phase, outcome)
                for phase in HOOK_PHASES
                for outcome in HOOK_OUTCOMES
            },
            duration={phase: self.hook_duration.labels(tenant, phase) for phase in HOOK_PHASES},
        )

    def spool(self, tenant: str = DEFAULT_TENANT) -> SpoolMetrics:
        return SpoolMetrics(
            full=self.dropped.labels(tenant, "spool_full"),
            items=self.spool_items.labels(tenant),
            bytes=self.spool_bytes.labels(tenant),
        )

    def handoff(self, tenant: str = DEFAULT_TENANT) -> HandoffMetrics:
        return HandoffMetrics(
            full=self.dropped.labels(tenant, "handoff_full"), lost=self.dropped.labels(tenant, "recorder_lost")
        )


_lock = threading.Lock()
_instance: PipelineMetrics | None = None


def pipeline_metrics(setting: str) -> PipelineMetrics | None:
    """This process's metrics when ``setting`` (``SIGIL_METRICS``) turns them on, else None.

    With ``PROMETHEUS_MULTIPROC_DIR`` the families live in a private registry (the samples go to the
    directory, LiteLLM's metrics process collects them); without it, in the default registry, which
    LiteLLM's single-process ``/metrics`` serves.
    """
    global _instance
    if not metrics_enabled(setting):
        return None
    with _lock:
        if _instance is None:
            registry = None
            if os.environ.get(MULTIPROC_ENV):
                from prometheus_client import CollectorRegistry

                registry = CollectorRegistry()
                if not writes_to_directory():
                    logger.warning(
                        "sigil: %s was set after this process loaded prometheus_client, so its sigil_litellm_* "
                        "metrics stay in memory and never reach LiteLLM's /metrics; set it before the proxy starts",
                        MULTIPROC_ENV,
                    )
            _instance = PipelineMetrics(registry)
        return _instance


def writes_to_directory() -> bool:
    """Whether this process's samples go to ``PROMETHEUS_MULTIPROC_DIR``: prometheus_client picks its
    value store once, when it is first imported (LiteLLM's CLI sets the variable before that)."""
    from prometheus_client import values

    return values.ValueClass is not values.MutexValue


def active_metrics() -> PipelineMetrics | None:
    """This process's metrics if :func:`pipeline_metrics` turned them on (e.g. for the recorder
    process's spool sender, whose delivery buffer created them)."""
    return _instance


def forget_process(pid: int) -> None:
    """Drop the live gauges of an exited process (a recorder) from the pod's sums; counters stay."""
    if not os.environ.get(MULTIPROC_ENV):
        return
    from prometheus_client import multiprocess

    with contextlib.suppress(OSError):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
