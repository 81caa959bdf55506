"""Pipeline metrics on vs off: ``python -m bench.metrics_overhead [--rounds N] [--duration S] [--mode M]``.

Two proxies, "ours" (metrics off: no PROMETHEUS_MULTIPROC_DIR) and "metrics" (the same with the
directory, so SIGIL_METRICS=auto records every ``sigil_litellm_*`` metric), saturated with short
chats; prints each round's req/s and the ratio metrics ÷ ours, then the median, geometric mean and range.

``--mode paired`` (default) loads both proxies at the same time, each with its own load generator:
they share the machine's CPUs for the same seconds, so the machine speeding up or slowing down
(on these shared VMs the same proxy varies by ±25 % from one 6 s run to the next) moves both alike and
the ratio shows what one costs more than the other. ``--mode sequential`` runs them one after the other,
alternating who goes first (what ``python -m bench`` does for every configuration).
"""

from __future__ import annotations

import argparse
import math
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sigil_mock_sink.testing import SinkProcess

from bench.__main__ import Bench, loadavg, log, rotated, sink_count, wait_sink
from bench.proxies import make_proxy
from bench.report import median

CONFIGS = ["ours", "metrics"]


def paired_round(bench: Bench, rnd: int, connections: int, duration: float) -> dict[str, float]:
    """Both proxies saturated at once; every 2xx answer of either must reach the sink."""
    start = sink_count(bench.sink)
    with ThreadPoolExecutor(len(CONFIGS)) as pool:
        futures = {
            name: pool.submit(bench.load, name, "short", connections=connections, duration=duration, rate=0, seed=rnd)
            for name in rotated(CONFIGS, rnd)
        }
        results = {name: future.result() for name, future in futures.items()}
    ok = sum(int(r["ok"]) for r in results.values())
    arrived, _ = wait_sink(bench.sink, start, ok, timeout=120)
    for name, r in results.items():
        flag = "" if r["ok"] == r["sent"] else "  <-- NON-2xx ANSWERS"
        rate = f"{r['rps']:7.1f} req/s p99 {r['p99_ms']:6.1f} ms"
        log(f"paired     r{rnd} short   {name:7s} c={connections:<2d} {rate}{flag}")
    if arrived != ok:
        log(f"  <-- COUNT MISMATCH: {ok} answered 2xx, {arrived} in the sink")
    return {name: float(r["rps"]) for name, r in results.items()}


def sequential_round(bench: Bench, rnd: int, connections: int, duration: float) -> dict[str, float]:
    rps = {}
    for name in rotated(CONFIGS, rnd):
        row = bench.run("saturation", rnd, name, "short", connections=connections, duration=duration, rate=0, seed=rnd)
        rps[name] = float(row["rps"])
    return rps


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.metrics_overhead", description=__doc__)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--duration", type=float, default=6.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--mode", choices=["paired", "sequential"], default="paired")
    args = parser.parse_args()
    one_round = paired_round if args.mode == "paired" else sequential_round
    with tempfile.TemporaryDirectory(prefix="sigil-bench-metrics-") as tmpdir, SinkProcess(auth="none") as sink:
        proxies = {name: make_proxy(name, sink.grpc_target, spool=Path(tmpdir) / "spool") for name in CONFIGS}
        try:
            for proxy in proxies.values():
                proxy.start(wait=False)
            for proxy in proxies.values():
                proxy.wait_ready()
            bench = Bench(args, sink, proxies, Path(tmpdir))
            for name in CONFIGS:
                bench.run("warmup", 0, name, "short", connections=4, duration=3.0, rate=0, seed=0)
            ratios = []
            for rnd in range(1, args.rounds + 1):
                rps = one_round(bench, rnd, args.connections, args.duration)
                ratios.append(rps["metrics"] / rps["ours"])
                log(f"round {rnd}: metrics/ours = {ratios[-1]:.3f}")
            scrape = list((Path(tmpdir) / "prometheus-multiproc").glob("*.db"))
            geomean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
            log(
                f"metrics on / off, short chats, saturation, {args.mode}: median {median(ratios):.3f}, "
                f"geometric mean {geomean:.3f} (range {min(ratios):.3f}-{max(ratios):.3f}, {len(ratios)} rounds "
                f"of {args.duration:g} s); load {loadavg()}; "
                f"{len(scrape)} multiprocess files written by the metrics proxy"
            )
        finally:
            for proxy in proxies.values():
                proxy.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
