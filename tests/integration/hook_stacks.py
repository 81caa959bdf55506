"""What the hook test stacks sharing one proxy (guardrail, routes, MCP) read from their sink and metrics
directory, and how they reset between tests."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from sigil_mock_sink.testing import SinkProcess

from tests.support import hook_counts


def summed_hook_metrics(metrics_dir: Path) -> Counter[tuple[str, str]]:
    """The proxy's hook metrics as its metrics process would sum them (all the default tenant's)."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(metrics_dir))
    return hook_counts(registry)


def evaluated_phases(sink: SinkProcess) -> list[str]:
    """The phase of each hook evaluation the sink received, in order."""
    return [item["request"]["phase"] for item in sink.request("GET", "/api/v1/hook-evaluations")["items"]]


def clear_hook_state(sink: SinkProcess) -> None:
    """Between tests on a shared stack: no evaluations kept, no hook faults left on."""
    sink.request("DELETE", "/api/v1/hook-evaluations")
    sink.request("DELETE", "/api/v1/hook-faults")
