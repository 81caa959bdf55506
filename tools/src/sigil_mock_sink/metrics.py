"""The sink's counters: Prometheus text (``GET /metrics``) and JSON (``GET /api/v1/stats``)."""

from __future__ import annotations

from typing import Any

from .otlp_store import SIGNALS, TelemetryStore
from .store import KINDS, Store


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(name: str, kind: str, help_text: str, samples: list[str]) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *samples]


def render(store: Store, telemetry: TelemetryStore) -> str:
    """Every counter as Prometheus text exposition."""
    s = store.stats
    lines = [
        *_family(
            "sigil_sink_received_total",
            "counter",
            "Items received, by kind.",
            [f'sigil_sink_received_total{{kind="{k}"}} {s.received[k]}' for k in KINDS],
        ),
        *_family(
            "sigil_sink_accepted_total",
            "counter",
            "Items accepted, by kind.",
            [f'sigil_sink_accepted_total{{kind="{k}"}} {s.accepted[k]}' for k in KINDS],
        ),
        *_family(
            "sigil_sink_rejected_total",
            "counter",
            "Items rejected, by kind and reason (the message the item was rejected with).",
            [
                f'sigil_sink_rejected_total{{kind="{k}",reason="{_escape(r)}"}} {v}'
                for (k, r), v in sorted(s.rejected.items())
            ],
        ),
        *_family(
            "sigil_sink_evicted_total",
            "counter",
            "Items dropped from the bounded store (oldest first), by kind.",
            [f'sigil_sink_evicted_total{{kind="{k}"}} {s.evicted[k]}' for k in KINDS],
        ),
        *_family(
            "sigil_sink_requests_total",
            "counter",
            "Ingest requests, by transport and outcome (HTTP status, gRPC code or dropped).",
            [
                f'sigil_sink_requests_total{{transport="{t}",outcome="{o}"}} {v}'
                for (t, o), v in sorted(s.requests.items())
            ],
        ),
        *_family(
            "sigil_sink_stored",
            "gauge",
            "Items currently stored, by kind.",
            [f'sigil_sink_stored{{kind="{k}"}} {store.count(k)}' for k in KINDS],
        ),
        *_family(
            "sigil_sink_otlp_received_total",
            "counter",
            "OTLP spans and metric data points received, by signal.",
            [f'sigil_sink_otlp_received_total{{signal="{g}"}} {telemetry.received[g]}' for g in SIGNALS],
        ),
        *_family(
            "sigil_sink_otlp_evicted_total",
            "counter",
            "OTLP spans and metric data points dropped from the bounded store (oldest first), by signal.",
            [f'sigil_sink_otlp_evicted_total{{signal="{g}"}} {telemetry.evicted[g]}' for g in SIGNALS],
        ),
        *_family(
            "sigil_sink_otlp_stored",
            "gauge",
            "OTLP spans and metric data points currently stored, by signal.",
            [f'sigil_sink_otlp_stored{{signal="{g}"}} {telemetry.count(g)}' for g in SIGNALS],
        ),
    ]
    return "\n".join(lines) + "\n"


def as_json(store: Store, telemetry: TelemetryStore) -> dict[str, Any]:
    """The same counters as one JSON object."""
    s = store.stats
    rejected: dict[str, dict[str, int]] = {k: {} for k in KINDS}
    for (kind, reason), value in sorted(s.rejected.items()):
        rejected[kind][reason] = value
    return {
        "received": {k: s.received[k] for k in KINDS},
        "accepted": {k: s.accepted[k] for k in KINDS},
        "rejected": rejected,
        "evicted": {k: s.evicted[k] for k in KINDS},
        "stored": {k: store.count(k) for k in KINDS},
        "requests": {f"{t} {o}": v for (t, o), v in sorted(s.requests.items())},
        "otlp": {
            g: {"received": telemetry.received[g], "evicted": telemetry.evicted[g], "stored": telemetry.count(g)}
            for g in SIGNALS
        },
    }
