"""Where each microsecond of an in-process event goes: the real proxy on one CPU, sampled by py-spy.

``python -m bench.cpu_profile --py-spy /path/to/py-spy [--messages 2 12 42] [--seconds 12]``

What a 1-CPU pod runs: the bench proxy with ``sigil_callback`` and default settings, its process tree
pinned to CPU 0 (``taskset``), so ``SIGIL_RECORDER=auto`` records in process; the mock sink, the load
generator and py-spy on the other CPUs. For each chat size the proxy is saturated (16 connections, closed
loop) while ``py-spy record --nonblocking --gil --format raw`` samples the serving process (the thread
holding the GIL: a thread waiting for the GIL looks busy to py-spy, and its samples would land on
whatever line it waits at — 443 samples on one line of limits.py in a run without ``--gil``). Each
sample goes to the category of the innermost frame that has one (:data:`CATEGORIES`), so LiteLLM's
logging frames only count what they do themselves, not our callback below them. The shares are
turned into CPU µs per event with the serving process's own CPU (``/proc``) over the requests served.
``--configs none null ours`` also profiles the proxy without callback and with a do-nothing one: the
same categories there show what LiteLLM does whether or not a callback is registered.

py-spy is not a project dependency: ``python -m venv /tmp/pyspy && /tmp/pyspy/bin/pip install py-spy``.
Prints a markdown table (docs/cpu-profile.md holds one, with the machine and load it was measured under).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sigil_mock_sink.testing import SinkProcess

from bench.harness import chat_body_file, loadavg, log
from bench.proxies import ROOT, BenchProxy, cpu_seconds, make_proxy

PROXY_CPU = 0
COPY = "(copy.py:"

# (category, markers in a frame); a sample goes to its innermost frame with a category
CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("export: delivery buffer + gRPC send", ("sigil_sdk_litellm/proxy/export/delivery.py", "(grpc/", "(grpc_")),
    (
        "encoding (sigil-sdk proto mapping + protobuf)",
        ("sigil_sdk/proto_mapping.py", "google/protobuf/", "(protobuf/", "sigil_sdk_litellm/proxy/export/transport.py"),
    ),
    (
        "ours: direct writer + cached encoder",
        ("sigil_sdk_litellm/proxy/export/direct.py", "sigil_sdk_litellm/proxy/export/message_cache.py"),
    ),
    ("sigil-sdk: validation", ("sigil_sdk/validation.py",)),
    ("copies (deepcopy, cheap copies) by sigil-sdk or ours", (COPY, "sigil_sdk_litellm/mapping/cheap_copies.py")),
    (
        "sigil-sdk: queue + flush threads (timer, batch hand-off)",
        ("_run_flush_timer", "_trigger_async_flush", "_run_async_flush", "_flush_internal", "_export_with_retry"),
    ),
    ("sigil-sdk: recording (start, end, normalise, span, metrics)", ("(sigil_sdk/", "(opentelemetry/")),
    ("ours: mapping + limits", ("sigil_sdk_litellm/mapping/", "sigil_sdk_litellm/limits.py")),
    ("ours: handler + recorder glue", ("(sigil_sdk_litellm/", "sigil_callback.py")),
    (
        "LiteLLM: logging + callback plumbing",
        ("litellm_logging.py", "logging_worker", "standard_logging", "custom_logger.py", "logging_callback_manager"),
    ),
]
OTHER = "everything else (serving the request)"


def categorize(stack: str) -> str:
    """The category of one collapsed stack (frames root first, ``;``-separated). A deep copy counts as a
    copy only when sigil-sdk or this package made it; LiteLLM's own copies stay LiteLLM's."""
    frames = stack.split(";")
    for depth in range(len(frames) - 1, -1, -1):
        frame = frames[depth]
        for name, markers in CATEGORIES:
            if any(marker in frame for marker in markers):
                if COPY in frame and not any("sigil_sdk" in f for f in frames[:depth]):
                    break  # LiteLLM's deep copy: its caller's category
                return name
    return OTHER


def load(proxy: BenchProxy, body: Path, connections: int, duration: float) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.loadgen", "--port", str(proxy.port), "--body", str(body)]
    cmd += ["--connections", str(connections), "--duration", str(duration)]
    env = dict(os.environ, BENCH_KEY=proxy.master_key)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=ROOT)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def profile(
    py_spy: str, proxy: BenchProxy, body: Path, seconds: float, rate: int, raw: Path
) -> tuple[Counter[str], int, float]:
    """(samples per category, requests answered, serving-process CPU seconds) over one sampled load run."""
    load(proxy, body, 4, 3.0)  # warm-up
    pid = proxy.server_pid()
    spy = subprocess.Popen(
        [
            *(py_spy, "record", "--pid", str(pid), "--duration", str(int(seconds) + 2)),
            *("--rate", str(rate), "--nonblocking", "--gil", "--format", "raw", "--output", str(raw)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # py-spy attached; the proxy is idle meanwhile (idle samples are not recorded)
    cpu0 = cpu_seconds(pid)
    result = load(proxy, body, 16, seconds)
    cpu1 = cpu_seconds(pid)
    spy.wait(timeout=seconds + 60)
    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit():
            counts[categorize(stack)] += int(n)
    if result["ok"] != result["sent"]:
        raise RuntimeError(f"{result['sent'] - result['ok']} non-2xx answers")
    return counts, int(result["ok"]), cpu1 - cpu0


def table(rows: dict[int, dict[str, dict[str, float]]], configs: list[str]) -> str:
    sizes = sorted(rows)
    names = [name for name, _ in CATEGORIES] + [OTHER]
    head = " | ".join(f"{n} msg, {c}" for n in sizes for c in configs)
    out = [f"| CPU µs per event | {head} |", "|---" + "|---:" * (len(sizes) * len(configs)) + "|"]
    for name in [*names, "total (serving process CPU / requests)"]:
        cells = []
        for n in sizes:
            for c in configs:
                value = rows[n][c].get(name, 0.0)
                cells.append(f"{value:,.0f}")
        out.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--py-spy", required=True)
    parser.add_argument("--messages", type=int, nargs="+", default=[2, 12, 42])
    parser.add_argument("--configs", nargs="+", default=["ours"], choices=["none", "null", "ours", "inprocess"])
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--rate", type=int, default=500, help="py-spy samples per second")
    parser.add_argument("--raw-dir", type=Path, help="keep py-spy's raw stacks here (one file per run)")
    args = parser.parse_args()
    every = os.sched_getaffinity(0)
    others = every - {PROXY_CPU} or every
    os.sched_setaffinity(0, others)  # this process, the sink, the load and py-spy: off the proxy's CPU
    rows: dict[int, dict[str, dict[str, float]]] = {n: {} for n in args.messages}
    log(f"load average at the start: {loadavg()}")
    with tempfile.TemporaryDirectory() as tmpdir, SinkProcess(auth="none", max_items=2000) as sink:
        tmp = Path(tmpdir)
        for config in args.configs:
            # cpus=1: taskset to CPU 0, so auto sees one CPU and records in process
            with make_proxy(config, sink.grpc_target, cpus=1) as proxy:
                found = re.search(r"recorder: (\w+)", proxy.output())
                placement = found.group(1) if found else "no callback"
                for n in args.messages:
                    raw = (args.raw_dir or tmp) / f"{config}-{n}.txt"
                    body = chat_body_file(n, tmp / f"chat{n}.json")
                    counts, served, cpu = profile(args.py_spy, proxy, body, args.seconds, args.rate, raw)
                    total = sum(counts.values()) or 1
                    per_event = cpu / served * 1e6
                    row = {name: share / total * per_event for name, share in counts.items()}
                    row["total (serving process CPU / requests)"] = per_event
                    rows[n][config] = row
                    log(
                        f"{config} ({placement}) {n} messages: {served} requests, {per_event:,.0f} µs CPU/request, "
                        f"{total} samples"
                    )
    log(f"load average at the end: {loadavg()}")
    print(table(rows, args.configs))


if __name__ == "__main__":
    main()
