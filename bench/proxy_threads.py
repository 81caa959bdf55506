"""The whole serving process of the real proxy on one CPU: its CPU per request by thread, and its garbage
collections, with a do-nothing callback and with ours in process.

``python -m bench.proxy_threads [--configs null inprocess] [--messages 2 42] [--seconds 12] [--repeat 2] [--handler]``

What a 1-CPU pod runs (the proxy's tree pinned to CPU 0; the sink and the load on the others), saturated
by 16 closed-loop connections with the benchmark's chats. For each run: the serving process's threads'
CPU (``/proc/<pid>/task/*/stat``, named by py-spy's dump when ``--py-spy`` is given, else by their
kernel name) over the requests answered, and the CPU its garbage collections took per request, by
generation (``bench/gc_probe``, loaded into the proxy through ``PYTHONPATH``). Configurations alternate
``--repeat`` times. Prints one JSON line per run and a markdown table of medians.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from sigil_mock_sink.testing import SinkProcess

from bench.cpu_profile import load
from bench.harness import chat_body_file, loadavg, log
from bench.proxies import ROOT, make_proxy

_TICK = os.sysconf("SC_CLK_TCK")
PROBE = ROOT / "bench" / "gc_probe"


def thread_cpu(pid: int) -> dict[int, tuple[str, float]]:
    """tid → (kernel thread name, user + system CPU seconds) of every thread of ``pid``."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
            name = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        out[int(tid)] = (name, (int(fields[11]) + int(fields[12])) / _TICK)
    return out


def python_names(py_spy: str | None, pid: int) -> dict[int, str]:
    """tid → Python thread name (py-spy's dump), {} without py-spy."""
    if not py_spy:
        return {}
    dump = subprocess.run([py_spy, "dump", "--pid", str(pid), "--nonblocking"], capture_output=True, text=True)
    return {int(m.group(1), 0): m.group(2) for m in re.finditer(r'Thread (\S+) \(\w+\): "(.*)"', dump.stdout)}


def thread_group(name: str) -> str:
    """Threads grouped by job: the event loop, LiteLLM's executor threads, our sender, the rest."""
    if name == "MainThread":
        return "event loop (main thread)"
    if name.startswith(("uvloop_", "ThreadPoolExecutor")):
        return "LiteLLM's executor threads (sync success handlers)"
    if name == "sigil-delivery":
        return "sigil-delivery (gRPC sender)"
    return "other threads"


def gc_snapshot(path: Path, pid: int) -> dict[str, Any]:
    return dict(json.loads(Path(f"{path}.{pid}").read_text()))


def one_run(proxy: Any, body: Path, seconds: float, probe: Path, py_spy: str | None) -> dict[str, Any]:
    pid = proxy.server_pid()
    load(proxy, body, 4, 3.0)  # warm-up
    time.sleep(1.0)
    names = python_names(py_spy, pid)
    before, gc_before = thread_cpu(pid), gc_snapshot(probe, pid)
    result = load(proxy, body, 16, seconds)
    time.sleep(1.0)  # the probe's next snapshot
    after, gc_after = thread_cpu(pid), gc_snapshot(probe, pid)
    served = int(result["ok"])
    if served != result["sent"]:
        raise RuntimeError(f"{result['sent'] - served} non-2xx answers")
    groups: dict[str, float] = defaultdict(float)
    for tid, (kernel_name, cpu) in after.items():
        spent = cpu - before.get(tid, (kernel_name, 0.0))[1]
        groups[thread_group(names.get(tid, kernel_name))] += spent / served * 1e6
    collections = {}
    for generation in ("0", "1", "2"):
        count = gc_after["collections"][generation][0] - gc_before["collections"][generation][0]
        spent = gc_after["collections"][generation][1] - gc_before["collections"][generation][1]
        collections[generation] = {"count": count, "us_per_request": spent / served * 1e6}
    return {
        "requests": served,
        "rps": result["rps"],
        "p99_ms": result["p99_ms"],
        "threads_us_per_request": dict(groups),
        "total_us_per_request": sum(groups.values()),
        "gc": collections,
        "longest_full_collection_s": gc_after["longest_full"],
        "handler_us_per_event": _handler_us(gc_before, gc_after),
    }


def _handler_us(before: dict[str, Any], after: dict[str, Any]) -> float | None:
    """CPU µs per event inside our in-process handler (``--handler``), collections left out."""
    if "handler" not in after or after["handler"][0] == before["handler"][0]:
        return None
    events = after["handler"][0] - before["handler"][0]
    return round(float(after["handler"][1] - before["handler"][1]) / events * 1e6, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--configs", nargs="+", default=["null", "inprocess"])
    parser.add_argument("--messages", type=int, nargs="+", default=[2, 42])
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--py-spy", help="py-spy, to name the threads as Python does")
    parser.add_argument("--handler", action="store_true", help="also time our in-process handler in the proxy")
    args = parser.parse_args()
    every = os.sched_getaffinity(0)
    os.sched_setaffinity(0, every - {0} or every)  # this process, the sink and the load: off the proxy's CPU
    log(f"load average at the start: {loadavg()}")
    runs: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmpdir, SinkProcess(auth="none", max_items=2000) as sink:
        tmp = Path(tmpdir)
        probe = tmp / "gc"
        env = {"PYTHONPATH": str(PROBE), "BENCH_GC_PROBE": str(probe)}
        if args.handler:
            env["BENCH_HANDLER_PROBE"] = "1"
        for _ in range(args.repeat):
            for config in args.configs:
                with make_proxy(config, sink.grpc_target, env, cpus=1) as proxy:
                    for n in args.messages:
                        run = one_run(proxy, chat_body_file(n, tmp / f"chat{n}.json"), args.seconds, probe, args.py_spy)
                        runs[(config, n)].append(run)
                        print(json.dumps({"config": config, "messages": n, **run}), flush=True)
    log(f"load average at the end: {loadavg()}")
    print(table(runs, args.configs, args.messages))


def table(runs: dict[tuple[str, int], list[dict[str, Any]]], configs: list[str], sizes: list[int]) -> str:
    columns = [(c, n) for n in sizes for c in configs]
    groups = sorted({g for rows in runs.values() for row in rows for g in row["threads_us_per_request"]})
    head = " | ".join(f"{n} msg, {c}" for c, n in columns)
    out = [f"| µs per request (median of runs) | {head} |", "|---" + "|---:" * len(columns) + "|"]

    def median(column: tuple[str, int], value: Any) -> str:
        return f"{statistics.median(value(row) for row in runs[column]):,.0f}"

    for group in groups:
        cells = [median(col, lambda r, g=group: r["threads_us_per_request"].get(g, 0.0)) for col in columns]
        out.append(f"| {group} | {' | '.join(cells)} |")
    totals = [median(c, lambda r: r["total_us_per_request"]) for c in columns]
    out.append(f"| **serving process, all threads** | {' | '.join(totals)} |")
    for generation, label in (("0", "young"), ("1", "middle"), ("2", "full")):
        cells = [median(c, lambda r, g=generation: r["gc"][g]["us_per_request"]) for c in columns]
        out.append(f"| of which garbage collection, {label} generation | {' | '.join(cells)} |")
    counts = []
    for column in columns:
        longest = max(r["longest_full_collection_s"] for r in runs[column])
        counts.append("/".join(str(r["gc"]["2"]["count"]) for r in runs[column]) + f" ({longest:.2f} s)")
    out.append(f"| full collections per run (longest) | {' | '.join(counts)} |")
    out.append(f"| req/s | {' | '.join(median(c, lambda r: r['rps']) for c in columns)} |")
    if any(row.get("handler_us_per_event") for rows in runs.values() for row in rows):
        handler = [median(c, lambda r: r.get("handler_us_per_event") or 0.0) for c in columns]
        out.append(f"| our handler, µs per event (collections left out) | {' | '.join(handler)} |")
    return "\n".join(out)


if __name__ == "__main__":
    main()
