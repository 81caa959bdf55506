"""Plot the Grafana dashboard's queries over a real scrape series: docs/pipeline-metrics.png.

``METRICS_SERIES_OUT=/tmp/series.json pytest tests/integration/test_pipeline_metrics_proxy.py`` writes
the scrapes of LiteLLM's ``/metrics`` taken every 0.5 s during that test (two workers, healthy, a
sink outage, recovery); ``python -m bench.pipeline_metrics_plot /tmp/series.json`` evaluates each
panel's query on them — rate() as the increase over a 5 s window, histogram_quantile() by linear
interpolation within the bucket, as Prometheus does — and draws one subplot per panel. Not rendered
by Grafana (none installs here from Debian or PyPI): the same queries, evaluated by this script.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bench.micro_compare import ROOT

WINDOW = 5.0  # seconds, the rate() window

Sample = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Sample:
    out: Sample = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            out[key] = out.get(key, 0.0) + s.value
    return out


def total(sample: Sample, name: str, group: str | None = None) -> dict[str, float]:
    """sum (by group) of ``name``."""
    out: dict[str, float] = {}
    for (n, labels), v in sample.items():
        if n == name:
            key = dict(labels).get(group, "") if group else ""
            out[key] = out.get(key, 0.0) + v
    return out


def window_start(series: list[tuple[float, Sample]], i: int) -> int:
    """The index of the oldest scrape within WINDOW seconds before scrape ``i``."""
    j = i
    while j > 0 and series[i][0] - series[j - 1][0] <= WINDOW:
        j -= 1
    return j


def rates(
    series: list[tuple[float, Sample]], name: str, group: str | None = None
) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {}
    for i, (t, sample) in enumerate(series):
        j = window_start(series, i)
        if j == i:
            continue
        t0, before = series[j]
        now, then = total(sample, name, group), total(before, name, group)
        for key, value in now.items():
            out.setdefault(key, []).append((t, max(0.0, value - then.get(key, 0.0)) / (t - t0)))
    return out


def quantile(series: list[tuple[float, Sample]], name: str, q: float) -> list[tuple[float, float]]:
    out = []
    for i, (t, sample) in enumerate(series):
        j = window_start(series, i)
        if j == i:
            continue
        now, then = total(sample, name, "le"), total(series[j][1], name, "le")
        buckets = sorted(((float(le), now[le] - then.get(le, 0.0)) for le in now), key=lambda b: b[0])
        count = buckets[-1][1] if buckets else 0.0
        if count <= 0:
            continue
        rank, lower, below = q * count, 0.0, 0.0
        for upper, cumulative in buckets:
            if cumulative >= rank:
                if upper == float("inf"):
                    out.append((t, lower))
                else:
                    share = (rank - below) / (cumulative - below) if cumulative > below else 0.0
                    out.append((t, lower + (upper - lower) * share))
                break
            lower, below = upper, cumulative
    return out


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline_metrics_plot", description=__doc__)
    parser.add_argument("series", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "pipeline-metrics.png")
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    raw = json.loads(args.series.read_text())
    start = raw[0][0]
    series = [(t - start, parse(text)) for t, text in raw]

    def gauge(name: str, combine: Callable[[list[float]], float] = sum) -> list[tuple[float, float]]:
        return [(t, combine(list(total(s, name, "tenant").values()) or [0.0])) for t, s in series]

    panels: list[tuple[str, str, dict[str, list[tuple[float, float]]]]] = [
        (
            "Delivery rate vs request rate",
            "per second",
            {
                "requests (LiteLLM)": rates(series, "litellm_proxy_total_requests_metric_total")[""],
                "recorded": rates(series, "sigil_litellm_generations_recorded_total")[""],
                "exported to Sigil": rates(series, "sigil_litellm_generations_exported_total")[""],
            },
        ),
        (
            "Drops and rejections",
            "per second",
            {
                **{
                    f"dropped: {k}": v
                    for k, v in rates(series, "sigil_litellm_generations_dropped_total", "reason").items()
                },
                "rejected": rates(series, "sigil_litellm_generations_rejected_total")[""],
            },
        ),
        ("Buffer fill", "generations", {"buffered": gauge("sigil_litellm_buffer_items")}),
        (
            "Sigil export latency",
            "seconds",
            {
                "p50": quantile(series, "sigil_litellm_export_duration_seconds_bucket", 0.5),
                "p99": quantile(series, "sigil_litellm_export_duration_seconds_bucket", 0.99),
            },
        ),
        ("Export attempts by outcome", "per second", rates(series, "sigil_litellm_export_attempts_total", "outcome")),
        (
            "Time since the last successful export",
            "seconds",
            {
                "seconds": [
                    (t, (start + t) - last)
                    for (t, last) in gauge("sigil_litellm_last_successful_export_timestamp_seconds", max)
                    if last > 0
                ]
            },
        ),
        ("Hook outcomes", "per second", rates(series, "sigil_litellm_hook_evaluations_total", "outcome")),
    ]
    fig, axes = plt.subplots(4, 2, figsize=(13, 12), sharex=True)
    for ax, (title, unit, lines) in zip(axes.flat, panels, strict=False):
        for label, points in sorted(lines.items()):
            if points and any(v for _, v in points):
                ax.plot([p[0] for p in points], [p[1] for p in points], label=label)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(unit, fontsize=8)
        ax.legend(fontsize=7, loc="upper right")
        ax.grid(alpha=0.3)
    axes.flat[-1].axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("seconds since the first scrape")
    fig.suptitle(
        "deploy/grafana/sigil-litellm-pipeline.json queries evaluated over a real scrape series of LiteLLM's /metrics\n"
        "(2 workers + recorders; healthy, mock sink answering 503, recovered): "
        "plotted by bench/pipeline_metrics_plot.py, not rendered by Grafana",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(args.out, dpi=90)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
