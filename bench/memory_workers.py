"""Process-tree memory (RSS and PSS) by number of proxy workers: no callback, ours (recorder process),
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

from bench.proxies import ROOT, make_proxy, read_tree

CONFIGS = ["none", "ours", "spool", "inprocess", "peer"]
# "inprocess": ours with SIGIL_RECORDER=inprocess, what SIGIL_RECORDER=auto picks below 2 usable CPUs
VARIANTS = {"inprocess": ("ours", {"SIGIL_RECORDER": "inprocess"})}
LABELS = {"inprocess": "ours, SIGIL_RECORDER=inprocess (auto below 2 CPUs)"}


def _load(port: int, key: str, body: Path, duration: float) -> None:
    cmd = [sys.executable, "-m", "bench.loadgen", "--port", str(port), "--body", str(body)]
    cmd += ["--connections", "4", "--duration", str(duration), "--rate", "0", "--seed", "0"]
    subprocess.run(cmd, check=True, capture_output=True, text=True, env=dict(os.environ, BENCH_KEY=key), cwd=ROOT)


def measure(sink_grpc: str, body: Path, tmp: Path, workers: list[int], duration: float) -> list[dict[str, Any]]:
    """One proxy at a time (several starting at once on a small machine miss uvicorn's worker heartbeat)."""
    rows: list[dict[str, Any]] = []
    for count in workers:
        for name in CONFIGS:
            base, env = VARIANTS.get(name, (name, {}))
            proxy = make_proxy(base, sink_grpc, env, spool=tmp / f"spool-{name}-{count}", workers=count)
            try:
                proxy.start()
                _load(proxy.port, proxy.master_key, body, duration)
                time.sleep(2.0)
                tree = read_tree(proxy)
                row = {"workers": count, "config": name, "processes": len(tree.pids), "tree_rss": tree.tree_rss}
                rows.append(row | {"tree_pss": tree.tree_pss})
            except (TimeoutError, RuntimeError, subprocess.CalledProcessError) as exc:
                print(f"{name} with {count} workers did not run: {str(exc).splitlines()[0]}", file=sys.stderr)
            finally:
                proxy.stop()
            if rows and rows[-1]["config"] == name:
                print(json.dumps(rows[-1]), file=sys.stderr)
    return rows


def table(rows: list[dict[str, Any]], labels: dict[str, str]) -> str:
    out = [
        "| workers | configuration | processes | tree RSS | ÷ none | tree PSS | ÷ none | PSS ÷ peer |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for count in sorted({r["workers"] for r in rows}):
        mine = {r["config"]: r for r in rows if r["workers"] == count}
        none, peer = mine.get("none"), mine.get("peer")
        for config, r in mine.items():  # a configuration that did not start is missing
            rss_ratio = r["tree_rss"] / none["tree_rss"] if none else 0.0
            pss_ratio = r["tree_pss"] / none["tree_pss"] if none else 0.0
            peer_ratio = r["tree_pss"] / peer["tree_pss"] if peer else 0.0
            label = labels.get(config) or LABELS.get(config, config)
            out.append(
                f"| {count} | {label} | {r['processes']} | {r['tree_rss'] / 2**20:.0f} MiB "
                f"| {rss_ratio:.3f}x | {r['tree_pss'] / 2**20:.0f} MiB | {pss_ratio:.3f}x | {peer_ratio:.3f}x |"
            )
    return "\n".join(out)


if __name__ == "__main__":  # python -m bench.memory_workers: this table alone
    import tempfile

    from sigil_mock_sink.testing import SinkProcess

    from bench.__main__ import LABELS as MAIN_LABELS
    from bench.__main__ import body_file
    from bench.micro_compare import ensure_peer_venv

    ensure_peer_venv()  # the "peer" configuration runs the PyPI handler from its own virtualenv
    with tempfile.TemporaryDirectory(prefix="sigil-bench-mem-") as directory, SinkProcess(auth="none") as sink:
        rows = measure(sink.grpc_target, body_file("short", Path(directory)), Path(directory), [1, 2], 10.0)
    print(table(rows, MAIN_LABELS))
