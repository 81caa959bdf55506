"""``python -m bench`` (``make bench``): the proxy with no callback vs ours vs the PyPI peer, side by side.

Starts the mock Sigil sink and four real LiteLLM proxies (1 worker each, loopback, ``mock_response``
model; bench/config_{none,null,ours,peer}.yaml differ only in their ``callbacks:`` line: none, a
do-nothing callback, ours, and the PyPI ``sigil-sdk-litellm`` run in ``bench/.peer-venv``); both
handlers export over gRPC to the sink.
Load comes from ``bench.loadgen`` in its own process. Phases, each interleaved A B C per round:

1. saturation: closed loop, 16 connections, short chat and 42-message agent chat with tools;
2. half saturation: open loop (Poisson, same seed for all) at half the no-callback saturation rate;
3. concurrency sweep (closed loop, 1 … 32 connections; none, ours, peer) for the plot;

after every run it waits until the sink's count stops growing and compares it with the 2xx answers.
Then the handler micro-benchmark (µs per event, ours vs peer) and the export path alone (gens/s over
HTTP and gRPC). Writes docs/benchmarks.md, docs/benchmarks.png and bench/results/last-run.json (git-ignored);
prints the ratio table. ``--quick`` is a short smoke run (minutes, numbers indicative only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sigil_mock_sink.testing import SinkProcess

from bench import paired, report
from bench.conversations import TOOLS, conversation
from bench.micro_compare import ensure_peer_venv
from bench.proxies import CONFIGS, ROOT, BenchProxy, cpu_seconds, make_proxy, read_tree

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
    n = WORKLOAD_MESSAGES[workload]
    body: dict[str, Any] = {"model": "bench-model", "messages": conversation(n)}
    if n >= 12:
        body["tools"] = TOOLS
    path = directory / f"{workload}.json"
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

    peer_python = str(ROOT / "bench" / ".peer-venv" / "bin" / "python")
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


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short durations: a smoke run, not a measurement")
    parser.add_argument("--rounds", type=int, help="interleaved rounds per load point (default 4, quick 1)")
    parser.add_argument("--duration", type=float, help="seconds per saturation run, x1.2 at half (default 10, quick 4)")
    parser.add_argument("--sweep", type=int, nargs="*", help="connections of the sweep besides 16 (default 1 4 32)")
    parser.add_argument("--no-micro", action="store_true", help="skip the handler micro-benchmark")
    parser.add_argument("--no-export", action="store_true", help="skip the export-path benchmark")
    parser.add_argument("--workers", type=int, nargs="*", help="tree memory at these worker counts (default 1 2)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--render", metavar="JSON", help="only rewrite the report from a run's raw results")
    args = parser.parse_args()
    if args.render:
        write_report(json.loads(Path(args.render).read_text()), Path(args.out))
        return 0
    # SIGTERM (timeout, CI cancel) unwinds like Ctrl-C, so the proxies and the sink are stopped
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    quick = args.quick
    rounds = args.rounds or (1 if quick else 4)
    duration = args.duration or (4.0 if quick else 10.0)
    half_duration = duration * 1.2
    sweep_duration = 3.0 if quick else 6.0
    sweep = args.sweep if args.sweep is not None else ([1, 4] if quick else [1, 4, 32])
    saturation_conns = 16
    started = time.monotonic()

    log(f"peer virtualenv: {ensure_peer_venv()}")
    info = machine_info()
    log(f"machine: {info['cpus']} CPUs {info['cpu_model']}, Python {info['python']}, LiteLLM {info['litellm']}")

    with tempfile.TemporaryDirectory(prefix="sigil-bench-") as tmpdir, SinkProcess(auth="none", max_items=2000) as sink:
        proxies = {name: make_proxy(name, sink.grpc_target, spool=Path(tmpdir) / "spool") for name in ORDER}
        try:
            for proxy in proxies.values():
                proxy.start(wait=False)
            for name, proxy in proxies.items():
                proxy.wait_ready()
                log(f"proxy {name} ready on {proxy.base_url} (server pid {proxy.server_pid()})")
            bench = Bench(args, sink, proxies, Path(tmpdir))
            idle = {name: read_tree(p) for name, p in proxies.items()}

            log("warm-up")
            for workload in WORKLOADS:
                for config in ORDER:
                    bench.run(
                        "warmup", 0, config, workload, connections=4, duration=3.0 if quick else 6.0, rate=0, seed=0
                    )

            log(f"phase 1: saturation, {saturation_conns} connections, {rounds} rounds x {duration:g}s")
            bench.interleave("saturation", rounds, connections=saturation_conns, duration=duration)

            rates = {w: 0.5 * bench.saturation_rate(w) for w in WORKLOADS}
            log(f"phase 2: half saturation (open loop) {rates}, {rounds} rounds x {half_duration:g}s")
            bench.interleave("half", rounds, connections=saturation_conns, duration=half_duration, rates=rates)
            memory_after_load = {name: read_tree(p) for name, p in proxies.items()}
            served_after_load = dict(bench.served)

            log(f"phase 3: concurrency sweep {sweep} x {sweep_duration:g}s")
            for connections in sweep:
                for workload in WORKLOADS:
                    for config in SWEEP_ORDER:
                        bench.run(
                            "sweep",
                            1,
                            config,
                            workload,
                            connections=connections,
                            duration=sweep_duration,
                            rate=0,
                            seed=0,
                        )
            log(f"phase 4: paired (both loaded at once), {rounds * 2} rounds x {duration * 0.6:g}s")
            paired_rows = [
                r.row()
                for pairs, workloads in PAIRED
                for r in paired.compare(
                    bench, pairs, workloads, rounds=rounds * 2, connections=saturation_conns, duration=duration * 0.6
                )
            ]
            final = {name: read_tree(p) for name, p in proxies.items()}
        finally:
            for proxy in proxies.values():
                proxy.stop()

        log(f"tree memory by workers {args.workers or [1, 2]}")
        from bench.memory_workers import measure

        workers_rows = measure(
            sink.grpc_target, bench.bodies["short"], Path(tmpdir), args.workers or [1, 2], 3.0 if quick else 10.0
        )

        export_rows: list[dict[str, Any]] = []
        if not args.no_export:
            log("export path alone (SDK client -> sink), gRPC and HTTP")
            export_rows = run_export_path(sink, 300 if quick else 1000, 1 if quick else 3)
            for row in export_rows:
                log(
                    f"export {row['protocol']:4s} {row['messages']:2d} msgs: {row['gens_per_s']:.0f} gens/s, "
                    f"arrived {row['arrived']}/{row['generations']}"
                )

    micro_rows: list[dict[str, float]] = []
    if not args.no_micro:
        from bench.micro_compare import compare

        log("handler micro-benchmark (µs per event, ours vs peer)")
        micro_rows, _ = compare(rounds=1 if quick else 3, events=100 if quick else 300)

    info["loadavg_end"] = loadavg()
    raw = {
        "info": info,
        "quick": quick,
        "elapsed_s": time.monotonic() - started,
        "settings": {
            "rounds": rounds,
            "duration": duration,
            "half_duration": half_duration,
            "sweep": sweep,
            "sweep_duration": sweep_duration,
            "rates": rates,
        },
        "runs": bench.runs,
        "idle": {k: vars(v) for k, v in idle.items()},
        "memory_after_load": {k: vars(v) for k, v in memory_after_load.items()},
        "served_after_load": served_after_load,
        "final": {k: vars(v) for k, v in final.items()},
        "served_total": bench.served,
        "micro": micro_rows,
        "export": export_rows,
        "workers_memory": workers_rows,
        "paired": paired_rows,
    }
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "last-run.json").write_text(json.dumps(raw, indent=1))
    write_report(raw, Path(args.out))
    return 0


def derived_settings(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's settings, read back from its runs (for raw results written without them)."""

    def first(phase: str, key: str) -> Any:
        return next((r[key] for r in runs if r["phase"] == phase), 0)

    return {
        "rounds": max((r["round"] for r in runs if r["phase"] == "saturation"), default=0),
        "duration": first("saturation", "duration"),
        "half_duration": first("half", "duration"),
        "sweep": sorted({r["connections"] for r in runs if r["phase"] == "sweep"}),
        "sweep_duration": first("sweep", "duration"),
        "rates": {r["workload"]: r["rate"] for r in runs if r["phase"] == "half"},
    }


def write_report(raw: dict[str, Any], out: Path) -> None:
    """docs/benchmarks.md and .png from the raw results of a run (``--render`` redoes this from the JSON)."""
    from bench.document import render
    from bench.micro_compare import micro_table

    info = raw["info"]
    runs = [r for r in raw["runs"] if r["phase"] != "warmup"]
    settings = raw.get("settings") or derived_settings(runs)
    rows = report.summarize(runs, ORDER)
    memory = memory_readings(raw["memory_after_load"])
    checks = report.check_targets([r for r in rows if r.phase in ("saturation", "half")], memory, TARGETED)
    load_md = report.load_table(rows, LABELS, WORKLOADS)
    cpu_md = report.cpu_table(rows, LABELS, WORKLOADS)
    checks_md = report.checks_table(checks, LABELS)
    idle = memory_readings(raw["idle"])
    memory_md = memory_table(idle, memory, raw["served_after_load"])
    micro_md = micro_table(raw["micro"]) if raw["micro"] else ""
    export_md = export_table(raw["export"]) if raw["export"] else ""
    from bench.memory_workers import table as workers_table

    workers_md = workers_table(raw["workers_memory"], LABELS) if raw.get("workers_memory") else ""
    paired_md = paired.pairs_table(raw["paired"], LABELS) if raw.get("paired") else "(not in this run)"
    for table in (load_md, cpu_md, memory_md, workers_md, checks_md, paired_md, micro_md, export_md):
        if table:
            print()
            print(table)

    png = out.with_suffix(".png")
    title = (
        f"LiteLLM {info['litellm']} proxy, 1 worker, mock_response model; "
        f"{info['cpus']} CPUs {info['cpu_model']}; {info['date']}"
    )
    report.plot(rows, LABELS, WORKLOADS, str(png), title)
    out.write_text(
        render(
            info=info,
            quick=raw["quick"],
            rounds=settings["rounds"],
            duration=settings["duration"],
            half_duration=settings["half_duration"],
            sweep=settings["sweep"],
            sweep_duration=settings["sweep_duration"],
            rates=settings["rates"],
            load_md=load_md,
            cpu_md=cpu_md,
            memory_md=memory_md
            + ("\n\nBy number of workers (`--num_workers`):\n\n" + workers_md if workers_md else ""),
            checks_md=checks_md,
            paired_md=paired_md,
            export_md=export_md or "(skipped)",
            micro_md=micro_md or "(skipped)",
            png=png.name,
            elapsed=raw["elapsed_s"],
            loadgen_cpu_us=report.median(r["client_cpu_us"] for r in runs),
        )
    )
    log(f"wrote {out} and {png} (run took {raw['elapsed_s'] / 60:.1f} min)")


if __name__ == "__main__":
    sys.exit(main())
