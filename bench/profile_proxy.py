"""Where the proxy's CPU goes under load, per configuration: py-spy samples of the serving process.

``python -m bench.profile_proxy --py-spy /path/to/py-spy [--workload agent42] [--seconds 20]``

py-spy is not a project dependency: install it in a scratch virtualenv (``python -m venv /tmp/pyspy &&
/tmp/pyspy/bin/pip install py-spy``). For each configuration (default none, null, ours, peer) the bench
proxy is started, loaded at saturation (16 connections, closed loop) and sampled with
``py-spy record --nonblocking --format raw`` (all threads, CPU-active samples only). Each sample is put
in the first category whose marker occurs in its stack, and the shares are printed, e.g. how much of
the worker's CPU our callback and its writer thread take, versus LiteLLM's own logging machinery.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from sigil_mock_sink.testing import SinkProcess

from bench.harness import body_file
from bench.proxies import ROOT, make_proxy

# (category, markers in a collapsed stack); first match wins
CATEGORIES = [
    ("ours: writer thread", ("_write_loop",)),
    (
        "ours: callback (slim + pickle + queue)",
        (
            "sigil_sdk_litellm/proxy/offload/callback.py",
            "sigil_sdk_litellm/proxy/offload/pipe.py",
            "sigil_sdk_litellm/proxy/offload/slim_event.py",
            "sigil_sdk_litellm/proxy/handoff/frames.py",
            "sigil_sdk_litellm/mapping/",
        ),
    ),
    ("peer handler + sigil_sdk", ("sigil_sdk_litellm/handler.py", "sigil_sdk/")),
    ("LiteLLM logging machinery", ("litellm_logging.py", "logging_worker", "standard_logging", "custom_logger.py")),
    ("access log / stdout", ("uvicorn/logging.py", "logging/__init__.py")),
]


def categorize(stack: str) -> str:
    for name, markers in CATEGORIES:
        if any(marker in stack for marker in markers):
            return name
    return "everything else (serving the request)"


def profile(py_spy: str, config: str, workload: str, seconds: float, sink: SinkProcess, tmp: Path) -> Counter[str]:
    body = body_file(workload, tmp)
    with make_proxy(config, sink.grpc_target) as proxy:
        env = dict(os.environ, BENCH_KEY=proxy.master_key)
        load = [sys.executable, "-m", "bench.loadgen", "--port", str(proxy.port), "--body", str(body)]
        subprocess.run(
            [*load, "--connections", "4", "--duration", "6"], check=True, env=env, cwd=ROOT, capture_output=True
        )
        runner = subprocess.Popen(
            [*load, "--connections", "16", "--duration", str(seconds + 3)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.5)
        raw = tmp / f"{config}.txt"
        subprocess.run(
            [
                *(py_spy, "record", "--pid", str(proxy.server_pid()), "--duration", str(int(seconds))),
                *("--rate", "250", "--nonblocking", "--format", "raw", "--output", str(raw)),
            ],
            check=True,
            capture_output=True,
        )
        out, _ = runner.communicate()
        result = json.loads(out.strip().splitlines()[-1])
    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit():
            counts[categorize(stack)] += int(n)
    counts["_rps"] = int(result["rps"])
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--py-spy", required=True)
    parser.add_argument("--configs", nargs="+", default=["none", "null", "ours", "peer"])
    parser.add_argument("--workload", default="agent42", choices=["short", "agent42"])
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir, SinkProcess(auth="none", max_items=2000) as sink:
        for config in args.configs:
            counts = profile(args.py_spy, config, args.workload, args.seconds, sink, Path(tmpdir))
            rps = counts.pop("_rps")
            total = sum(counts.values())
            print(f"{config}: {rps} req/s, {total} CPU samples ({total / args.seconds / 250:.0%} of one core)")
            for name, n in counts.most_common():
                print(f"    {n / total:6.1%}  {name}")


if __name__ == "__main__":
    main()
