"""Two configurations loaded at the same time: ``python -m bench.paired --pair none spool [--pair ours metrics]``.

Sequential runs of one proxy on these shared 2-core VMs vary by ±25 % from one 6 s run to the next
(measured: 52-96 req/s; whoever ran first in a round was faster), far more than the few per cent the
issues' throughput targets are about. Here both proxies of a pair are saturated in the same seconds,
each by its own load generator: a machine that speeds up or slows down moves both alike, and the
ratio of their req/s shows what one costs more than the other on the CPUs they share. Each round
alternates which load generator starts first; every 2xx answer of either proxy must reach the sink.

Both proxy process trees (workers and their recorder processes) are pinned to one CPU, the sink and
the load generators to the others (``--pin tree``, the default): a saturated proxy worker needs about
one CPU, so on a 2-core machine two of them would otherwise each settle on a core of its own, and an
A/A run (two proxies of one configuration) measured 0.64-0.92 from the cores' different neighbours
alone; pinned, 0.996-1.014 under load 6. On one shared CPU the scheduler splits it evenly, and a proxy
whose requests cost more CPU, its recorder's included, serves fewer: the ratio is what the telemetry
costs in CPU, all of it — conservative for a recorder process, which on a machine with a spare CPU
runs beside the worker instead. ``--pin worker`` pins only the workers (recorders on the other CPUs);
an A/A run of it on a quiet machine ranged 0.17-1.05 (cause not found): no measurement.

Two trees of this package side by side: ``--pair inprocess inprocess#b --tree b=/path/to/other/src``, the
proxy named ``#b`` importing the package from that tree. Run one after the other, two trees measured apart by
more than they differ: whichever ran first did better, in both orders (docs/cpu-profile.md, *Round five*).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.report import NON_EXPORTING, median

PROXY_CPU = 0

if TYPE_CHECKING:
    from bench.harness import Bench


@dataclass(frozen=True)
class PairResult:
    base: str
    other: str
    workload: str
    ratios: list[float]  # other ÷ base req/s, one per round
    p99_ratios: list[float]
    worker_cpu_ratios: list[float]  # other ÷ base CPU per request of the serving (worker) process
    mismatches: int  # rounds where the sink did not hold every 2xx answer

    @property
    def geomean(self) -> float:
        return math.exp(sum(math.log(r) for r in self.ratios) / len(self.ratios))

    def row(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "other": self.other,
            "workload": self.workload,
            "ratios": self.ratios,
            "p99_ratios": self.p99_ratios,
            "worker_cpu_ratios": self.worker_cpu_ratios,
            "mismatches": self.mismatches,
        }


def pin(pids: list[int], cpus: set[int]) -> None:
    """Every thread of ``pids`` onto ``cpus`` (sched_setaffinity sets one thread; processes and threads
    started later inherit it from their parent)."""
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(ProcessLookupError, OSError):
                os.sched_setaffinity(int(task.name), cpus)


@contextlib.contextmanager
def pinned_pair(bench: Bench, pair: tuple[str, str], *, whole_tree: bool = False) -> Iterator[None]:
    """The pair's proxy workers on one CPU; their recorder processes, the sink and the load generators
    (started by this process) on the others; every CPU again afterwards. After the proxies started, so
    SIGIL_RECORDER=auto saw every CPU and placed the recorder as it does on this machine. ``whole_tree``:
    the recorder processes share the workers' CPU (what the telemetry costs in CPU, all of it)."""
    from bench.proxies import descendants, read_tree

    every = os.sched_getaffinity(0)
    if len(every) < 2:
        yield
        return
    rest = every - {PROXY_CPU}
    proxies = [read_tree(bench.proxies[name]).pids for name in pair]
    workers = [bench.proxies[name].server_pid() for name in pair]
    if whole_tree:
        workers = [pid for pids in proxies for pid in pids]
    sink = descendants(bench.sink.process.pid)
    pin(workers, {PROXY_CPU})
    pin([pid for pids in proxies for pid in pids if pid not in workers] + sink, rest)
    os.sched_setaffinity(0, rest)
    try:
        yield
    finally:
        os.sched_setaffinity(0, every)
        for pids in [*proxies, sink]:
            pin(pids + [c for p in pids for c in descendants(p)], every)


def paired_round(
    bench: Bench, pair: tuple[str, str], workload: str, rnd: int, connections: int, duration: float
) -> tuple[float, float, float, bool]:
    from bench.harness import log, rotated, sink_count, wait_sink
    from bench.proxies import read_tree

    start = sink_count(bench.sink)
    cpu = {name: read_tree(bench.proxies[name]).proxy_cpu for name in pair}
    with ThreadPoolExecutor(2) as pool:
        futures = {
            name: pool.submit(bench.load, name, workload, connections=connections, duration=duration, rate=0, seed=rnd)
            for name in rotated(list(pair), rnd)
        }
        results = {name: future.result() for name, future in futures.items()}
    cpu = {
        name: (read_tree(bench.proxies[name]).proxy_cpu - cpu[name]) / max(1, results[name]["sent"]) for name in pair
    }
    expected = sum(int(r["ok"]) for name, r in results.items() if name.split("#")[0] not in NON_EXPORTING)
    arrived, _ = wait_sink(bench.sink, start, expected, timeout=120)
    for name in pair:
        r = results[name]
        flag = "" if r["ok"] == r["sent"] else "  <-- NON-2xx ANSWERS"
        rate = f"{r['rps']:7.1f} req/s p99 {r['p99_ms']:6.1f} ms"
        log(f"paired r{rnd} {workload:7s} {name:7s} c={connections:<2d} {rate}{flag}")
    base, other = (results[name] for name in pair)
    ratio, p99_ratio = other["rps"] / base["rps"], other["p99_ms"] / base["p99_ms"]
    cpu_ratio = cpu[pair[1]] / cpu[pair[0]]
    log(
        f"paired r{rnd} {workload:7s} {pair[1]} ÷ {pair[0]}: req/s {ratio:.3f}, p99 {p99_ratio:.3f}, "
        f"worker CPU per request {cpu_ratio:.3f} ({cpu[pair[0]] * 1e3:.2f} / {cpu[pair[1]] * 1e3:.2f} ms)"
    )
    if arrived != expected:
        log(f"  <-- COUNT MISMATCH: {expected} exporting 2xx answers, {arrived} in the sink")
    return ratio, p99_ratio, cpu_ratio, arrived != expected


def compare(
    bench: Bench,
    pairs: list[tuple[str, str]],
    workloads: list[str],
    *,
    rounds: int,
    connections: int,
    duration: float,
    pinned: str = "tree",
) -> list[PairResult]:
    out = []
    for pair in pairs:
        with pinned_pair(bench, pair, whole_tree=pinned == "tree") if pinned != "none" else contextlib.nullcontext():
            rows = [
                (workload, paired_round(bench, pair, workload, rnd, connections, duration))
                for workload in workloads
                for rnd in range(1, rounds + 1)
            ]
        for workload in workloads:
            mine = [r for w, r in rows if w == workload]
            out.append(
                PairResult(
                    pair[0],
                    pair[1],
                    workload,
                    [r[0] for r in mine],
                    [r[1] for r in mine],
                    [r[2] for r in mine],
                    sum(1 for r in mine if r[3]),
                )
            )
    return out


def pairs_table(rows: list[dict[str, Any]], labels: dict[str, str]) -> str:
    out = [
        "| configuration ÷ baseline, both loaded at once | workload | rounds | req/s ratio, median | geometric mean "
        "| range | p99 ratio, median | worker CPU/req ratio, median | sink = 2xx |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        r = row["ratios"]
        geomean = math.exp(sum(math.log(x) for x in r) / len(r))
        ok = "yes" if not row["mismatches"] else f"no ({row['mismatches']} rounds)"
        cpu = f"{median(row['worker_cpu_ratios']):.3f}" if row.get("worker_cpu_ratios") else "-"
        out.append(
            f"| {labels.get(row['other'], row['other'])} ÷ {labels.get(row['base'], row['base'])} | {row['workload']} "
            f"| {len(r)} | {median(r):.3f} | {geomean:.3f} | {min(r):.3f}-{max(r):.3f} "
            f"| {median(row['p99_ratios']):.3f} | {cpu} | {ok} |"
        )
    return "\n".join(out)


def tree_option(text: str) -> tuple[str, str]:
    """``--tree SUFFIX=DIR`` → (suffix, dir); anything else is argparse's usage error."""
    suffix, sep, path = text.partition("=")
    if not sep or not suffix or not path:
        raise argparse.ArgumentTypeError(f"{text!r}: expected SUFFIX=DIR, e.g. b=/path/to/other/src")
    return suffix, path


def tree_env(name: str, trees: dict[str, str]) -> dict[str, str]:
    """The environment that makes proxy ``name`` ("inprocess#b") import this package from its tree
    (``--tree b=/path/to/src``), ahead of the installed one."""
    _, _, suffix = name.partition("#")
    if suffix not in trees:
        return {}
    inherited = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": trees[suffix] + (os.pathsep + inherited if inherited else "")}


def main(default_pairs: list[list[str]] | None = None, argv: list[str] | None = None) -> int:
    from sigil_mock_sink.testing import SinkProcess

    from bench.harness import LABELS, WORKLOADS, Bench, loadavg, log
    from bench.proxies import make_proxy

    parser = argparse.ArgumentParser(prog="python -m bench.paired", description=__doc__)
    parser.add_argument("--pair", nargs=2, action="append", metavar=("BASE", "OTHER"), help="configurations (repeat)")
    parser.add_argument("--workload", action="append", choices=list(WORKLOADS), help="default: short")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--duration", type=float, default=6.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--pin",
        choices=["worker", "tree", "none"],
        default="tree",
        help="one CPU for both proxies' whole trees, recorders included (default), or their workers only; none",
    )
    parser.add_argument(
        "--tree",
        action="append",
        default=[],
        type=tree_option,
        metavar="SUFFIX=DIR",
        help="proxies named NAME#SUFFIX import this package from DIR (PYTHONPATH): two trees side by side",
    )
    args = parser.parse_args(argv)
    trees = dict(args.tree)
    # SIGTERM (timeout, kill) unwinds like Ctrl-C, so the proxies and the sink are stopped
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    pairs = [(p[0], p[1]) for p in (args.pair or default_pairs or [["ours", "metrics"]])]
    names = list(dict.fromkeys(name for pair in pairs for name in pair))
    with tempfile.TemporaryDirectory(prefix="sigil-bench-paired-") as tmpdir, SinkProcess(auth="none") as sink:
        # "ours#2": a second proxy of the same configuration, for an A/A run (the method's own noise)
        for name in names:
            (Path(tmpdir) / name).mkdir()
        proxies = {
            name: make_proxy(
                name.split("#")[0],
                sink.grpc_target,
                tree_env(name, trees),
                spool=Path(tmpdir) / name / "spool",
                otlp=sink.otlp_http_endpoint,
            )
            for name in names
        }
        try:
            for proxy in proxies.values():
                proxy.start(wait=False)
            for proxy in proxies.values():
                proxy.wait_ready()
            bench = Bench(args, sink, proxies, Path(tmpdir))
            workloads = args.workload or ["short"]
            for name in names:
                for workload in workloads:
                    bench.run("warmup", 0, name, workload, connections=4, duration=3.0, rate=0, seed=0)
            results = compare(
                bench,
                pairs,
                workloads,
                rounds=args.rounds,
                connections=args.connections,
                duration=args.duration,
                pinned=args.pin,
            )
        finally:
            for proxy in proxies.values():
                proxy.stop()
    log(f"load average at the end: {loadavg()}")
    print(pairs_table([r.row() for r in results], LABELS))
    return 1 if any(r.mismatches for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
