"""Ours vs the PyPI ``sigil-sdk-litellm`` handler: CPU per LiteLLM event, side by side.

Runs ``bench/micro.py`` alternately in this project's virtualenv and in the peer's virtualenv
(``bench/.peer-venv``, created on first use with ``pip install sigil-sdk-litellm==PEER_VERSION``),
several rounds (A B A B …) so machine drift hits both, and prints the median µs per event and the
ratio peer ÷ ours for each chat size.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEER_VENV = ROOT / "bench" / ".peer-venv"
PEER_VERSION = os.environ.get("PEER_VERSION", "0.9.3")
LITELLM_VERSION = "1.108.5"


def ensure_peer_venv() -> Path:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                f"sigil-sdk-litellm=={PEER_VERSION}",
                f"litellm[proxy]=={LITELLM_VERSION}",
            ],
            check=True,
        )
    return python


def run(python: Path, sizes: list[int], events: int) -> dict[int, dict[str, float]]:
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [
            str(python),
            str(ROOT / "bench" / "micro.py"),
            "--events",
            str(events),
            "--messages",
            *map(str, sizes),
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=str(ROOT / "bench"),
    )
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    return {row["messages"]: row for row in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--messages", type=int, nargs="+", default=[2, 12, 42])
    args = parser.parse_args()
    peer = ensure_peer_venv()
    ours = Path(sys.executable)
    samples: dict[str, dict[int, list[dict[str, float]]]] = {"ours": {}, "peer": {}}
    for _ in range(args.rounds):
        for name, python in (("ours", ours), ("peer", peer)):
            for n, row in run(python, args.messages, args.events).items():
                samples[name].setdefault(n, []).append(row)

    def median(name: str, n: int, key: str) -> float:
        return statistics.median(row[key] for row in samples[name][n])

    print(f"handler CPU per LiteLLM event, median of {args.rounds} interleaved rounds x {args.events} events")
    print("| messages | ours callback µs | peer callback µs | ratio | ours +export µs | peer +export µs | ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    result = []
    for n in args.messages:
        oc, pc = median("ours", n, "callback_us"), median("peer", n, "callback_us")
        ot, pt = median("ours", n, "total_us"), median("peer", n, "total_us")
        print(f"| {n} | {oc:.0f} | {pc:.0f} | {pc / oc:.1f}x | {ot:.0f} | {pt:.0f} | {pt / ot:.1f}x |")
        result.append({"messages": n, "ours_us": oc, "peer_us": pc, "ours_total_us": ot, "peer_total_us": pt})
    print("JSON " + json.dumps(result))


if __name__ == "__main__":
    main()
