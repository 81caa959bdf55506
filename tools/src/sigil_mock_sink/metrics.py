"""The sink's counters in the Prometheus text format (``GET /metrics``)."""

from __future__ import annotations

from .store import Store


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(store: Store) -> str:
    stats = store.stats
    lines = [
        "# HELP sigil_sink_received_total Items received, by kind.",
        "# TYPE sigil_sink_received_total counter",
        *(f'sigil_sink_received_total{{kind="{k}"}} {v}' for k, v in sorted(stats.received.items())),
        "# HELP sigil_sink_accepted_total Items accepted, by kind.",
        "# TYPE sigil_sink_accepted_total counter",
        *(f'sigil_sink_accepted_total{{kind="{k}"}} {v}' for k, v in sorted(stats.accepted.items())),
        "# HELP sigil_sink_rejected_total Items rejected, by kind and reason.",
        "# TYPE sigil_sink_rejected_total counter",
        *(
            f'sigil_sink_rejected_total{{kind="{k}",reason="{_escape(r)}"}} {v}'
            for (k, r), v in sorted(stats.rejected.items())
        ),
        "# HELP sigil_sink_evicted_total Items dropped from the bounded store (oldest first), by kind.",
        "# TYPE sigil_sink_evicted_total counter",
        *(f'sigil_sink_evicted_total{{kind="{k}"}} {v}' for k, v in sorted(stats.evicted.items())),
        "# HELP sigil_sink_requests_total Ingest requests, by transport and outcome.",
        "# TYPE sigil_sink_requests_total counter",
        *(
            f'sigil_sink_requests_total{{transport="{t}",status="{s}"}} {v}'
            for (t, s), v in sorted(stats.requests.items())
        ),
        "# HELP sigil_sink_stored Items currently stored, by kind.",
        "# TYPE sigil_sink_stored gauge",
        f'sigil_sink_stored{{kind="generation"}} {store.count("generation")}',
        f'sigil_sink_stored{{kind="workflow_step"}} {store.count("workflow_step")}',
    ]
    return "\n".join(lines) + "\n"
