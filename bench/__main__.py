"""``python -m bench`` (``make bench``): the proxy with no callback vs ours vs the PyPI peer, side by side.

The entry point only: the harness it runs on is :mod:`bench.harness`. Starts the mock Sigil sink and six
real LiteLLM proxies (``harness.ORDER``: 1 worker each, loopback, ``mock_response`` model). Their configs
(``bench.proxies.CONFIGS``) are bench/config_{none,null,ours,peer}.yaml, which differ only in their
``callbacks:`` line: none, a do-nothing callback, ours, and the PyPI ``sigil-sdk-litellm`` run in its
side venv (``side_venvs.peer``); ours also runs with the disk spool and with the pipeline metrics (environment only).
Both handlers export over gRPC to the sink.
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
import json
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sigil_mock_sink.testing import SinkProcess

from bench import paired, report
from bench.harness import (
    LABELS,
    ORDER,
    PAIRED,
    SWEEP_ORDER,
    TARGETED,
    WORKLOADS,
    Bench,
    export_table,
    loadavg,
    log,
    machine_info,
    memory_readings,
    memory_table,
    run_export_path,
)
from bench.micro_compare import ensure_peer_venv
from bench.proxies import ROOT, make_proxy, read_tree


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
