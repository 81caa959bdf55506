"""The benchmark harness ``python -m bench`` runs on: workloads, the Bench runner, the sink's count, tables.

Imported by the entry point (``bench/__main__.py``) and by the modules that run parts of it on their own
(``bench.paired``, ``bench.memory_workers``, ``bench.profile_proxy``); the entry point itself is imported by
nothing, so ``python -m bench`` loads this once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from side_venvs.peer import ensure_peer_venv
from sigil_mock_sink.testing import SinkProcess

from bench import report
from bench.conversations import TOOLS, conversation
from bench.proxies import CONFIGS, ROOT, BenchProxy, cpu_seconds, read_tree

WORKLOADS = {"short": "short chat (2 messages)", "agent42": "agent chat (42 messages, tools)"}
WORKLOAD_MESSAGES = {"short": 2, "agent42": 42}
LABELS = {name: desc for name, (_, desc) in CONFIGS.items()}
ORDER = ["none", "null", "ours", "metrics", "spool", "peer"]  # saturation and half saturation
SWEEP_ORDER = ["none", "ours", "peer"]  # the concurrency sweep (the plot)
TARGETED = ["none", "ours", "spool", "peer"]  # the targets are checked for these
# phase 4, both proxies of a pair loaded at once: the spool's and the metrics' throughput targets
PAIRED = [([("none", "spool")], ["short", "agent42"]), ([("ours", "metrics")], ["short"])]


def rotated(items: list[str], rnd: int) -> list[str]:
    """A B C, B C A, C A B, …: interleaved, and no configuration always runs first or last in a round."""
    k = (rnd - 1) % len(items)
    return items[k:] + items[:k]


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def body_file(workload: str, directory: Path) -> Path:
    return chat_body_file(WORKLOAD_MESSAGES[workload], directory / f"{workload}.json")


def chat_body_file(n_messages: int, path: Path) -> Path:
    """The request body of the benchmark's ``n_messages`` chat (with tools from 12 messages), at ``path``."""
    body: dict[str, Any] = {"model": "bench-model", "messages": conversation(n_messages)}
    if n_messages >= 12:
        body["tools"] = TOOLS
    path.write_text(json.dumps(body))
    return path


def sink_count(sink: SinkProcess) -> int:
    return int(sink.stats()["accepted"]["generation"])


def wait_sink(sink: SinkProcess, start: int, expected: int, timeout: float) -> tuple[int, float]:
    """Wait until the sink holds ``expected`` more generations than ``start`` and stops growing;
    returns (how many arrived, seconds it took after the load ended)."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    count = sink_count(sink) - start
    while count < expected and time.monotonic() < deadline:
        time.sleep(0.1)
        count = sink_count(sink) - start
    reached = time.monotonic() - t0
    # settle: nothing more may arrive (the baseline exports nothing; a duplicate would show here)
    time.sleep(0.6 if expected else 1.5)
    count = sink_count(sink) - start
    return count, reached


class Bench:
    def __init__(self, args: argparse.Namespace, sink: SinkProcess, proxies: dict[str, BenchProxy], tmp: Path):
        self.args = args
        self.sink = sink
        self.proxies = proxies
        self.bodies = {w: body_file(w, tmp) for w in WORKLOADS}
        self.runs: list[dict[str, Any]] = []
        self.served = dict.fromkeys(proxies, 0)

    def load(self, config: str, workload: str, *, connections: int, duration: float, rate: float, seed: int) -> dict:
        proxy = self.proxies[config]
        cmd = [
            sys.executable,
            "-m",
            "bench.loadgen",
            "--port",
            str(proxy.port),
            "--body",
            str(self.bodies[workload]),
            "--connections",
            str(connections),
            "--duration",
            str(duration),
            "--rate",
            str(rate),
            "--seed",
            str(seed),
        ]
        env = dict(os.environ, BENCH_KEY=proxy.master_key)
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=str(ROOT))
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))

    def run(self, phase: str, rnd: int, config: str, workload: str, **load: Any) -> dict[str, Any]:
        before_sink = sink_count(self.sink)
        before = read_tree(self.proxies[config])
        sink_pid = self.sink.process.pid if self.sink.process is not None else 0
        sink_cpu = cpu_seconds(sink_pid)
        result = self.load(config, workload, **load)
        expected = 0 if config in report.NON_EXPORTING else result["ok"]
        arrived, drain = wait_sink(self.sink, before_sink, expected, timeout=120)
        after = read_tree(self.proxies[config])
        sink_cpu = cpu_seconds(sink_pid) - sink_cpu
        self.served[config] += result["sent"]
        n = max(1, result["sent"])
        row = {
            "phase": phase,
            "round": rnd,
            "config": config,
            "workload": workload,
            **result,
            "sink": arrived,
            "drain_s": drain,
            "proxy_cpu_ms": (after.proxy_cpu - before.proxy_cpu) / n * 1e3,
            "tree_cpu_ms": (after.tree_cpu - before.tree_cpu) / n * 1e3,
            "sink_cpu_ms": sink_cpu / n * 1e3,
            "proxy_rss": after.proxy_rss,
            "tree_rss": after.tree_rss,
        }
        self.runs.append(row)
        flag = "" if result["sent"] == result["ok"] and arrived == expected else "  <-- COUNT MISMATCH"
        log(
            f"{phase:10s} r{rnd} {workload:7s} {config:4s} c={result['connections']:<2d} "
            f"{result['rps']:7.1f} req/s p50 {result['p50_ms']:6.1f} ms p99 {result['p99_ms']:6.1f} ms "
            f"2xx {result['ok']}/{result['sent']} sink {arrived} (drain {drain:.1f}s) "
            f"cpu proxy/tree/sink {row['proxy_cpu_ms']:.2f}/{row['tree_cpu_ms']:.2f}/{row['sink_cpu_ms']:.2f} ms/req"
            f" client {result['client_cpu_us']:.0f} us/req{flag}"
        )
        return row

    def interleave(
        self, phase: str, rounds: int, *, connections: int, duration: float, rates: dict[str, float] | None = None
    ) -> None:
        """``rounds`` interleaved rounds of every workload x configuration, rotating who goes first;
        closed loop, or open loop at ``rates[workload]`` (seeded by the round: the same schedule for all)."""
        for rnd in range(1, rounds + 1):
            for workload in WORKLOADS:
                for config in rotated(ORDER, rnd):
                    rate = rates[workload] if rates else 0.0
                    self.run(
                        phase,
                        rnd,
                        config,
                        workload,
                        connections=connections,
                        duration=duration,
                        rate=rate,
                        seed=rnd if rates else 0,
                    )

    def saturation_rate(self, workload: str) -> float:
        rps = [
            r["rps"]
            for r in self.runs
            if r["phase"] == "saturation" and r["config"] == "none" and r["workload"] == workload
        ]
        return report.median(rps)


def machine_info() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass

    def version(python: str, dist: str) -> str:
        code = f"import importlib.metadata as m; print(m.version({dist!r}))"
        try:
            return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "?"

    peer_python = str(ensure_peer_venv())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": str(os.cpu_count()),
        "cpu_model": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "litellm": version(sys.executable, "litellm"),
        "sigil_sdk": version(sys.executable, "sigil-sdk"),
        "ours": version(sys.executable, "sigil-sdk-litellm"),
        "peer": version(peer_python, "sigil-sdk-litellm"),
        "peer_litellm": version(peer_python, "litellm"),
        "peer_sigil_sdk": version(peer_python, "sigil-sdk"),
        "commit": commit.strip(),
        "loadavg": loadavg(),
    }


def run_export_path(sink: SinkProcess, generations: int, rounds: int) -> list[dict[str, Any]]:
    cmd = [
        sys.executable,
        str(ROOT / "bench" / "export_path.py"),
        "--grpc",
        sink.grpc_target,
        "--http",
        sink.http_url,
        "--sink-stats",
        f"{sink.http_url}/api/v1/stats",
        "--generations",
        str(generations),
        "--rounds",
        str(rounds),
    ]
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", PYTHONPATH=str(ROOT))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=str(ROOT))
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def export_table(rows: list[dict[str, Any]]) -> str:
    out = [
        "| chat | protocol | generations/s (median) | client CPU µs/gen | arrived / sent |",
        "|---|---|---:|---:|---:|",
    ]
    keys = list(dict.fromkeys((r["messages"], r["protocol"]) for r in rows))
    for messages, protocol in keys:
        mine = [r for r in rows if r["messages"] == messages and r["protocol"] == protocol]
        out.append(
            f"| {messages} messages | {protocol} | {report.median(r['gens_per_s'] for r in mine):.0f} "
            f"| {report.median(r['client_cpu_us'] for r in mine):.0f} "
            f"| {sum(r['arrived'] for r in mine)} / {sum(r['generations'] for r in mine)} |"
        )
    return "\n".join(out)


def memory_readings(readings: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """The memory figures of a raw reading per configuration (PSS is absent from older raw results)."""
    return {name: {key: float(r.get(key, 0)) for key, _, _ in report.MEMORY} for name, r in readings.items()}


def memory_table(idle: dict[str, dict[str, float]], memory: dict[str, dict[str, float]], served: dict[str, int]) -> str:
    """Memory at idle (after start) and after the load phases, the ratio to no-callback, and the growth
    per 1,000 requests (a fixed cost, such as our recorder process, shows in the ratio, a leak in the growth)."""
    base = memory["none"]
    keys = [(key, f"{whose} {measure}") for key, measure, whose in report.MEMORY if base[key]]
    out = [
        "| configuration | requests served | "
        + " | ".join(f"{label} idle → after | ÷ none | MiB per 1k req." for _, label in keys)
        + " |",
        "|---|---:|" + "---:|---:|---:|" * len(keys),
    ]
    for config in ORDER:
        m, i = memory[config], idle[config]
        per_k = 1000 / max(1, served[config]) / 2**20
        cells = [LABELS[config], str(served[config])]
        for key, _ in keys:
            cells += [
                f"{i[key] / 2**20:.0f} → {m[key] / 2**20:.0f} MiB",
                f"{m[key] / base[key]:.3f}x",
                f"{(m[key] - i[key]) * per_k:+.2f}",
            ]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)
