"""Process-tree memory (RSS and PSS) by number of proxy workers: no callback, ours (default settings),
ours with the disk spool, and the PyPI peer — each proxy started with ``--num_workers N``, given a short
load, then read from /proc (every process of its tree: workers, recorders)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.proxies import ROOT, make_proxy, pss_bytes, read_tree

CONFIGS = ["none", "ours", "spool", "inprocess", "peer"]
# "ours" runs the default SIGIL_RECORDER=auto: recorder processes only with a CPU more than the workers
# (the "recorders" column tells); "inprocess" forces what auto picks otherwise
LABELS = {
    "ours": "ours, default (SIGIL_RECORDER=auto)",
    "spool": "ours with the disk spool, SIGIL_RECORDER=auto",
    "inprocess": "ours, SIGIL_RECORDER=inprocess (auto with fewer CPUs than workers + 1)",
}


def _load(port: int, key: str, body: Path, duration: float) -> None:
    cmd = [sys.executable, "-m", "bench.loadgen", "--port", str(port), "--body", str(body)]
    cmd += ["--connections", "4", "--duration", str(duration), "--rate", "0", "--seed", "0"]
    subprocess.run(cmd, check=True, capture_output=True, text=True, env=dict(os.environ, BENCH_KEY=key), cwd=ROOT)


def measure(
    sink_grpc: str, body: Path, tmp: Path, workers: list[int], duration: float, configs: list[str] = CONFIGS
) -> list[dict[str, Any]]:
    """One proxy at a time (several starting at once on a small machine miss uvicorn's worker heartbeat)."""
    rows: list[dict[str, Any]] = []
    for count in workers:
        for name in configs:
            proxy = make_proxy(name, sink_grpc, spool=tmp / f"spool-{name}-{count}", workers=count)
            try:
                proxy.start()
                _load(proxy.port, proxy.master_key, body, duration)
                time.sleep(2.0)
                tree = read_tree(proxy)
                row = {"workers": count, "config": name, "processes": len(tree.pids), "tree_rss": tree.tree_rss}
                rows.append(row | {"tree_pss": tree.tree_pss, "pss_by_role": pss_by_role(tree.pids)})
            except (TimeoutError, RuntimeError, subprocess.CalledProcessError) as exc:
                print(f"{name} with {count} workers did not run: {str(exc).splitlines()[0]}", file=sys.stderr)
            finally:
                proxy.stop()
            if rows and rows[-1]["config"] == name:
                print(json.dumps(rows[-1]), file=sys.stderr)
    return rows


def role_of(pid: int) -> str:
    """What a process of the tree is: a recorder, or a process of LiteLLM (its supervisor or a worker)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return "gone"
    return "recorder" if b"sigil_sdk_litellm.proxy.offload.recorder" in argv else "litellm"


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
        "| PSS of each process (MiB) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for count in sorted({r["workers"] for r in rows}):
        mine = {r["config"]: r for r in rows if r["workers"] == count}
        none, peer = mine.get("none"), mine.get("peer")
        for config, r in mine.items():  # a configuration that did not start is missing
            rss_ratio = f"{r['tree_rss'] / none['tree_rss']:.3f}x" if none else "-"
            pss_ratio = f"{r['tree_pss'] / none['tree_pss']:.3f}x" if none else "-"
            peer_ratio = f"{r['tree_pss'] / peer['tree_pss']:.3f}x" if peer else "-"
            label = LABELS.get(config) or labels.get(config, config)
            roles = r.get("pss_by_role", {})
            each = "; ".join(f"{role} {', '.join(f'{v:.0f}' for v in pss)}" for role, pss in sorted(roles.items()))
            out.append(
                f"| {count} | {label} | {r['processes']} | {len(roles.get('recorder', []))} "
                f"| {r['tree_rss'] / 2**20:.0f} MiB | {rss_ratio} | {r['tree_pss'] / 2**20:.0f} MiB "
                f"| {pss_ratio} | {peer_ratio} | {each} |"
            )
    return "\n".join(out)


if __name__ == "__main__":  # python -m bench.memory_workers: this table alone
    import argparse
    import tempfile

    from sigil_mock_sink.testing import SinkProcess

    from bench.__main__ import LABELS as MAIN_LABELS
    from bench.__main__ import body_file
    from bench.micro_compare import ensure_peer_venv

    parser = argparse.ArgumentParser(prog="python -m bench.memory_workers", description=__doc__)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (default: 1 2)")
    parser.add_argument("--configs", nargs="+", choices=CONFIGS, default=CONFIGS, help="configurations (default: all)")
    args = parser.parse_args()
    if "peer" in args.configs:
        ensure_peer_venv()  # the "peer" configuration runs the PyPI handler from its own virtualenv
    with tempfile.TemporaryDirectory(prefix="sigil-bench-mem-") as directory, SinkProcess(auth="none") as sink:
        rows = measure(
            sink.grpc_target, body_file("short", Path(directory)), Path(directory), args.workers, 10.0, args.configs
        )
    print(table(rows, MAIN_LABELS))
