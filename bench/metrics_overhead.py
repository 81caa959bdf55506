"""Pipeline metrics on vs off: ``python -m bench.metrics_overhead [--rounds N] [--duration S]``.

Two proxies, "ours" (metrics off: no PROMETHEUS_MULTIPROC_DIR) and "metrics" (the same with the
directory, so SIGIL_METRICS=auto records every ``sigil_litellm_*`` metric), saturated with short
chats in interleaved rounds (which goes first alternates); prints each round's req/s and the ratio
metrics ÷ ours, then the median and range. The same load generator and sink as ``python -m bench``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from sigil_mock_sink.testing import SinkProcess

from bench.__main__ import Bench, loadavg, log, rotated
from bench.proxies import make_proxy
from bench.report import median

CONFIGS = ["ours", "metrics"]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.metrics_overhead", description=__doc__)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--duration", type=float, default=6.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
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
                rps = {}
                for name in rotated(CONFIGS, rnd):
                    row = bench.run(
                        "saturation",
                        rnd,
                        name,
                        "short",
                        connections=args.connections,
                        duration=args.duration,
                        rate=0,
                        seed=rnd,
                    )
                    rps[name] = row["rps"]
                ratios.append(rps["metrics"] / rps["ours"])
                log(f"round {rnd}: metrics/ours = {ratios[-1]:.3f}")
            scrape = list((Path(tmpdir) / "prometheus-multiproc").glob("*.db"))
            log(
                f"metrics on / off, short chats, saturation: median {median(ratios):.3f} "
                f"(range {min(ratios):.3f}-{max(ratios):.3f}, {len(ratios)} rounds); load {loadavg()}; "
                f"{len(scrape)} multiprocess files written by the metrics proxy"
            )
        finally:
            for proxy in proxies.values():
                proxy.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
