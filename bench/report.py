"""Pure helpers of the load benchmark: medians, side-by-side ratios, target checks, Markdown tables, plot.

A *run* is one load-generator run against one proxy configuration, a dict with at least ``phase``,
``round``, ``workload``, ``config``, ``connections``, ``rps``, ``p50_ms``, ``p99_ms``, ``sent``,
``ok``, ``sink``. Ratios are computed per round (A B C in the same round, so machine drift hits all
three alike) and the median over rounds is reported.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

BASELINE = "none"
# memory figures of a proxy: (key in a reading, measure, whose); PSS is absent from older raw results
MEMORY = (
    ("proxy_rss", "RSS", "proxy process"),
    ("tree_rss", "RSS", "process tree"),
    ("tree_pss", "PSS", "process tree"),
)
NON_EXPORTING = frozenset({"none", "null", "burn"})  # no callback, one that records nothing: the sink gets nothing

# issue #6: the targets, as (what, bound)
TARGET_RPS = {"short": 0.97, "agent42": 0.95}
TARGET_P99_HALF = 1.05
TARGET_RSS = 1.10


def median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def spread(values: Sequence[float]) -> tuple[float, float]:
    """(min, max) of the per-round ratios; NaNs when there are none."""
    return (min(values), max(values)) if values else (float("nan"), float("nan"))


def per_round_ratios(runs: Sequence[dict[str, Any]], config: str, key: str) -> list[float]:
    """``key`` of ``config`` divided by the baseline's, for each round where both ran (same selection)."""
    base = {r["round"]: r[key] for r in runs if r["config"] == BASELINE}
    out = []
    for r in runs:
        if r["config"] == config and r["round"] in base and base[r["round"]]:
            out.append(r[key] / base[r["round"]])
    return out


@dataclass
class Row:
    phase: str
    workload: str
    connections: int
    rate: float
    config: str
    rps: float
    p50_ms: float
    p99_ms: float
    rps_ratio: float
    p50_ratio: float
    p99_ratio: float
    rps_spread: tuple[float, float]
    p99_spread: tuple[float, float]
    sent: int
    ok: int
    sink: int
    rounds: int
    proxy_cpu_ms: float
    tree_cpu_ms: float
    drain_s: float

    @property
    def count_ok(self) -> bool:
        """Every request answered 2xx and its generation arrived (non-exporting configs: nothing arrived)."""
        expected = 0 if self.config in NON_EXPORTING else self.ok
        return self.sent == self.ok and self.sink == expected


def summarize(runs: Sequence[dict[str, Any]], configs: Sequence[str]) -> list[Row]:
    """One row per (phase, workload, connections, config), in first-seen order of the groups."""
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["phase"], r["workload"], r["connections"]), []).append(r)
    rows = []
    for (phase, workload, connections), group in groups.items():
        for config in configs:
            mine = [r for r in group if r["config"] == config]
            if not mine:
                continue
            rows.append(
                Row(
                    phase=phase,
                    workload=workload,
                    connections=connections,
                    rate=mine[0].get("rate", 0.0),
                    config=config,
                    rps=median(r["rps"] for r in mine),
                    p50_ms=median(r["p50_ms"] for r in mine),
                    p99_ms=median(r["p99_ms"] for r in mine),
                    rps_ratio=median(per_round_ratios(group, config, "rps")),
                    p50_ratio=median(per_round_ratios(group, config, "p50_ms")),
                    p99_ratio=median(per_round_ratios(group, config, "p99_ms")),
                    rps_spread=spread(per_round_ratios(group, config, "rps")),
                    p99_spread=spread(per_round_ratios(group, config, "p99_ms")),
                    sent=sum(r["sent"] for r in mine),
                    ok=sum(r["ok"] for r in mine),
                    sink=sum(r["sink"] for r in mine),
                    rounds=len(mine),
                    proxy_cpu_ms=median(r.get("proxy_cpu_ms", float("nan")) for r in mine),
                    tree_cpu_ms=median(r.get("tree_cpu_ms", float("nan")) for r in mine),
                    drain_s=max(r.get("drain_s", 0.0) for r in mine),
                )
            )
    return rows


@dataclass
class Check:
    target: str
    config: str
    value: float
    bound: float
    passed: bool


def check_targets(rows: Sequence[Row], memory: dict[str, dict[str, float]], configs: Sequence[str]) -> list[Check]:
    """The issue's targets for every non-baseline configuration."""
    checks = []
    for config in configs:
        if config == BASELINE:
            continue
        for row in rows:
            if row.config != config:
                continue
            if row.phase == "saturation" and row.workload in TARGET_RPS:
                bound = TARGET_RPS[row.workload]
                checks.append(
                    Check(
                        f"req/s at saturation, {row.workload} >= {bound}x",
                        config,
                        row.rps_ratio,
                        bound,
                        row.rps_ratio >= bound,
                    )
                )
            if row.phase == "half":
                checks.append(
                    Check(
                        f"p99 at half saturation, {row.workload} <= {TARGET_P99_HALF}x",
                        config,
                        row.p99_ratio,
                        TARGET_P99_HALF,
                        row.p99_ratio <= TARGET_P99_HALF,
                    )
                )
        mine = [r for r in rows if r.config == config]
        counted = all(r.count_ok for r in mine)
        checks.append(
            Check(
                "every request 2xx and its generation at the sink, every run",
                config,
                float(sum(r.sink for r in mine)) / max(1, sum(r.ok for r in mine)),
                1.0,
                counted,
            )
        )
        if config in memory and BASELINE in memory:
            for key, measure, whose in MEMORY:
                if not memory[BASELINE].get(key):
                    continue  # not measured in this run
                ratio = memory[config][key] / memory[BASELINE][key]
                target = f"{measure} ({whose}) <= {TARGET_RSS}x"
                checks.append(Check(target, config, ratio, TARGET_RSS, ratio <= TARGET_RSS))
    return checks


# -- rendering -------------------------------------------------------------------------------------


def fmt_ratio(value: float) -> str:
    return "-" if value != value else f"{value:.3f}x"  # NaN check


def fmt_spread(value: float, bounds: tuple[float, float]) -> str:
    """``0.981x (0.77-1.03)``: the median ratio and the range over rounds (one round: the ratio alone)."""
    if value != value:
        return "-"
    lo, hi = bounds
    return fmt_ratio(value) if lo == hi else f"{fmt_ratio(value)} ({lo:.2f}-{hi:.2f})"


def load_table(rows: Sequence[Row], labels: dict[str, str], workloads: dict[str, str]) -> str:
    out = [
        "| workload | load | configuration | req/s | ÷ none (range) | p50 ms | ÷ none | p99 ms | ÷ none (range) "
        "| proxy CPU ms/req | tree CPU ms/req | 2xx / sent | sink gens | equal |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:-:|",
    ]
    for r in rows:
        if r.phase == "saturation":
            load = f"saturation ({r.connections} conn.)"
        elif r.phase == "half":
            load = f"half saturation ({r.rate:.0f} req/s offered)"
        else:
            load = f"{r.connections} conn."
        base = r.config == BASELINE
        out.append(
            f"| {workloads.get(r.workload, r.workload)} | {load} | {labels.get(r.config, r.config)} "
            f"| {r.rps:.1f} | {'' if base else fmt_spread(r.rps_ratio, r.rps_spread)} "
            f"| {r.p50_ms:.1f} | {'' if base else fmt_ratio(r.p50_ratio)} "
            f"| {r.p99_ms:.1f} | {'' if base else fmt_spread(r.p99_ratio, r.p99_spread)} "
            f"| {r.proxy_cpu_ms:.2f} | {r.tree_cpu_ms:.2f} "
            f"| {r.ok} / {r.sent} | {r.sink} | {'✅' if r.count_ok else '❌'} |"
        )
    return "\n".join(out)


def cpu_table(rows: Sequence[Row], labels: dict[str, str], workloads: dict[str, str]) -> str:
    """Added CPU per request over the no-callback proxy (medians, saturation runs): in the serving process,
    and in the whole process tree (recorder included)."""
    out = [
        "| workload | configuration | proxy process CPU ms/req | + over none | process tree CPU ms/req | + over none |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r.phase != "saturation":
            continue
        base = next((b for b in rows if b.phase == r.phase and b.workload == r.workload and b.config == BASELINE), None)
        if base is None:
            continue
        extra_proxy = "" if r.config == BASELINE else f"{r.proxy_cpu_ms - base.proxy_cpu_ms:+.2f}"
        extra_tree = "" if r.config == BASELINE else f"{r.tree_cpu_ms - base.tree_cpu_ms:+.2f}"
        out.append(
            f"| {workloads.get(r.workload, r.workload)} | {labels.get(r.config, r.config)} "
            f"| {r.proxy_cpu_ms:.2f} | {extra_proxy} | {r.tree_cpu_ms:.2f} | {extra_tree} |"
        )
    return "\n".join(out)


def checks_table(checks: Sequence[Check], labels: dict[str, str]) -> str:
    out = ["| target | configuration | measured | met |", "|---|---|---:|:-:|"]
    for c in checks:
        met = "✅" if c.passed else "❌"
        out.append(f"| {c.target} | {labels.get(c.config, c.config)} | {fmt_ratio(c.value)} | {met} |")
    return "\n".join(out)


def plot(rows: Sequence[Row], labels: dict[str, str], workloads: dict[str, str], path: str, title: str) -> None:
    """Throughput and p99 versus concurrency (closed loop), one column per workload."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    swept = {r.config for r in rows if r.phase == "sweep"} or {r.config for r in rows}
    sweep = [r for r in rows if r.phase in ("sweep", "saturation") and r.config in swept]
    names = list(dict.fromkeys(r.workload for r in sweep))
    fig, axes = plt.subplots(2, len(names), figsize=(5.5 * len(names), 7), squeeze=False)
    for col, workload in enumerate(names):
        for config in dict.fromkeys(r.config for r in sweep):
            mine = [r for r in sweep if r.workload == workload and r.config == config]
            points = sorted((r.connections, r.rps, r.p99_ms) for r in mine)
            xs = [p[0] for p in points]
            axes[0][col].plot(xs, [p[1] for p in points], marker="o", label=labels.get(config, config))
            axes[1][col].plot(xs, [p[2] for p in points], marker="o", label=labels.get(config, config))
        axes[0][col].set_title(workloads.get(workload, workload))
        axes[0][col].set_ylabel("throughput (req/s)")
        axes[1][col].set_ylabel("p99 latency (ms)")
        for ax in (axes[0][col], axes[1][col]):
            ax.set_xscale("log", base=2)
            ax.set_xlabel("concurrent connections (closed loop)")
            ax.grid(True, alpha=0.3)
            ax.set_ylim(bottom=0)
        axes[0][col].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
