"""Process-tree memory (RSS, PSS, anonymous) by number of proxy workers: no callback, ours (default
settings), ours with the disk spool, ours with recorder processes, and the PyPI peer — each proxy started
with ``--num_workers N``, given a short load, then read from /proc (every process of its tree: workers,
recorders). ``--repeat K`` starts each configuration K times, alternating, and reports the median tree."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.proxies import ROOT, make_proxy, pss_bytes, read_tree

CONFIGS = ["none", "ours", "spool", "inprocess", "process", "peer"]
# "ours" runs the default SIGIL_RECORDER=auto: recorder processes only with a CPU more than the workers
# (the "recorders" column tells; --cpus 1 emulates a pod limited to one CPU)
LABELS = {
    "ours": "ours, default (SIGIL_RECORDER=auto)",
    "spool": "ours with the disk spool, SIGIL_RECORDER=auto",
    "inprocess": "ours, SIGIL_RECORDER=inprocess",
    "process": "ours, SIGIL_RECORDER=process",
}


def _load(port: int, key: str, body: Path, duration: float) -> None:
    cmd = [sys.executable, "-m", "bench.loadgen", "--port", str(port), "--body", str(body)]
    cmd += ["--connections", "4", "--duration", str(duration), "--rate", "0", "--seed", "0"]
    subprocess.run(cmd, check=True, capture_output=True, text=True, env=dict(os.environ, BENCH_KEY=key), cwd=ROOT)


def measure(
    sink_grpc: str,
    body: Path,
    tmp: Path,
    workers: list[int],
    duration: float,
    configs: list[str] = CONFIGS,
    repeat: int = 1,
    cpus: int | None = None,
) -> list[dict[str, Any]]:
    """One proxy at a time (several starting at once on a small machine miss uvicorn's worker heartbeat);
    with ``repeat`` > 1 the configurations alternate and each row is the start with the median tree PSS."""
    rows: list[dict[str, Any]] = []
    for count in workers:
        starts: dict[str, list[dict[str, Any]]] = {}
        for round_ in range(repeat):
            for name in configs:
                spool = tmp / f"spool-{name}-{count}-{round_}"
                row = _one_start(name, count, sink_grpc, body, spool, duration, cpus)
                if row is not None:
                    starts.setdefault(name, []).append(row)
                    print(json.dumps(row), file=sys.stderr)
        rows.extend(_median_start(starts[name]) for name in configs if name in starts)
    return rows


def _one_start(
    name: str, count: int, sink_grpc: str, body: Path, spool: Path, duration: float, cpus: int | None
) -> dict[str, Any] | None:
    proxy = make_proxy(name, sink_grpc, spool=spool, workers=count, cpus=cpus)
    try:
        proxy.start()
        _load(proxy.port, proxy.master_key, body, duration)
        time.sleep(2.0)
        tree = read_tree(proxy)
        roles = pss_by_role(tree.pids)  # while the processes live
    except (TimeoutError, RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"{name} with {count} workers did not run: {str(exc).splitlines()[0]}", file=sys.stderr)
        return None
    finally:
        proxy.stop()
    row = {"workers": count, "config": name, "processes": len(tree.pids), "tree_rss": tree.tree_rss}
    return row | {"tree_pss": tree.tree_pss, "tree_anon": tree.tree_anon, "pss_by_role": roles}


def _median_start(starts: list[dict[str, Any]]) -> dict[str, Any]:
    """The start with the median tree PSS, with every start's PSS and the median anonymous memory."""
    ordered = sorted(starts, key=lambda r: r["tree_pss"])
    row = dict(ordered[(len(ordered) - 1) // 2])
    row["tree_anon"] = statistics.median(r["tree_anon"] for r in starts)
    row["starts_pss"] = [r["tree_pss"] for r in starts]
    return row


def role_of(pid: int) -> str:
    """What a process of the tree is: a recorder, or a process of LiteLLM (its supervisor or a worker)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return "gone"
    return "recorder" if b"sigil_sdk_litellm.proxy.offload.recorder_process" in argv else "litellm"


def pss_by_role(pids: list[int]) -> dict[str, list[float]]:
    """Each process's PSS in MiB, by role (the machine is shared: a per-process figure tells the recorder's
    cost apart from what the load did to a worker's heap)."""
    out: dict[str, list[float]] = {}
    for pid in pids:
        out.setdefault(role_of(pid), []).append(round(pss_bytes(pid) / 2**20, 1))
    return out


def table(rows: list[dict[str, Any]], labels: dict[str, str]) -> str:
    out = [
        "| workers | configuration | processes | recorders | tree RSS | ÷ none | tree PSS | ÷ none | PSS ÷ peer "
        "| anonymous ÷ peer | PSS of each process (MiB) | tree PSS of each start (MiB) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for count in sorted({r["workers"] for r in rows}):
        mine = {r["config"]: r for r in rows if r["workers"] == count}
        none, peer = mine.get("none"), mine.get("peer")
        for config, r in mine.items():  # a configuration that did not start is missing
            rss_ratio = f"{r['tree_rss'] / none['tree_rss']:.3f}x" if none else "-"
            pss_ratio = f"{r['tree_pss'] / none['tree_pss']:.3f}x" if none else "-"
            peer_ratio = f"{r['tree_pss'] / peer['tree_pss']:.3f}x" if peer else "-"
            anon_ratio = f"{r['tree_anon'] / peer['tree_anon']:.3f}x" if peer and peer.get("tree_anon") else "-"
            starts = ", ".join(f"{v / 2**20:.0f}" for v in r.get("starts_pss", [r["tree_pss"]]))
            label = LABELS.get(config) or labels.get(config, config)
            roles = r.get("pss_by_role", {})
            each = "; ".join(f"{role} {', '.join(f'{v:.0f}' for v in pss)}" for role, pss in sorted(roles.items()))
            out.append(
                f"| {count} | {label} | {r['processes']} | {len(roles.get('recorder', []))} "
                f"| {r['tree_rss'] / 2**20:.0f} MiB | {rss_ratio} | {r['tree_pss'] / 2**20:.0f} MiB "
                f"| {pss_ratio} | {peer_ratio} | {anon_ratio} | {each} | {starts} |"
            )
    return "\n".join(out)


if __name__ == "__main__":  # python -m bench.memory_workers: this table alone
    import argparse
    import tempfile

    from sigil_mock_sink.testing import SinkProcess

    from bench.harness import LABELS as MAIN_LABELS
    from bench.harness import body_file
    from bench.micro_compare import ensure_peer_venv

    parser = argparse.ArgumentParser(prog="python -m bench.memory_workers", description=__doc__)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (default: 1 2)")
    parser.add_argument("--configs", nargs="+", choices=CONFIGS, default=CONFIGS, help="configurations (default: all)")
    parser.add_argument("--repeat", type=int, default=1, help="starts of each configuration, alternating (default: 1)")
    parser.add_argument("--cpus", type=int, help="run each proxy's tree on the first N CPUs (default: all)")
    args = parser.parse_args()
    if "peer" in args.configs:
        ensure_peer_venv()  # the "peer" configuration runs the PyPI handler from its own virtualenv
    with tempfile.TemporaryDirectory(prefix="sigil-bench-mem-") as directory, SinkProcess(auth="none") as sink:
        rows = measure(
            sink.grpc_target,
            body_file("short", Path(directory)),
            Path(directory),
            args.workers,
            10.0,
            args.configs,
            args.repeat,
            args.cpus,
        )
    print(table(rows, MAIN_LABELS))
