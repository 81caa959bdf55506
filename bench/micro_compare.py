"""Ours vs the PyPI ``sigil-sdk-litellm`` handler: CPU per LiteLLM event, side by side.

Runs ``bench/micro.py`` alternately in this project's virtualenv and in the peer's virtualenv
(``side_venvs.peer``: PyPI ``sigil-sdk-litellm==PEER_VERSION``, built once per machine),
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

from side_venvs.peer import ensure_peer_venv

ROOT = Path(__file__).resolve().parent.parent
LITELLM_VERSION = "1.108.5"


def run(python: Path, sizes: list[int], events: int, mode: str = "inprocess") -> dict[int, dict[str, float]]:
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [
            str(python),
            str(ROOT / "bench" / "micro.py"),
            "--events",
            str(events),
            "--messages",
            *map(str, sizes),
            "--mode",
            mode,
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=str(ROOT / "bench"),
    )
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    return {row["messages"]: row for row in rows}


def compare(rounds: int = 3, events: int = 300, sizes: list[int] | None = None) -> tuple[list[dict[str, float]], str]:
    """Interleaved rounds (ours in-process, ours offloaded, peer); the medians per chat size and a
    Markdown table of them."""
    sizes = sizes or [2, 12, 42]
    peer = ensure_peer_venv()
    ours = Path(sys.executable)
    samples: dict[str, dict[int, list[dict[str, float]]]] = {"ours": {}, "offload": {}, "peer": {}}
    for _ in range(rounds):
        for name, python, mode in (
            ("ours", ours, "inprocess"),
            ("offload", ours, "offload"),
            ("peer", peer, "inprocess"),
        ):
            for n, row in run(python, sizes, events, mode).items():
                samples[name].setdefault(n, []).append(row)

    def median(name: str, n: int, key: str) -> float:
        return statistics.median(row[key] for row in samples[name][n])

    result = []
    for n in sizes:
        pc, oc, fc = (median(k, n, "callback_us") for k in ("peer", "ours", "offload"))
        pt, ot, ft = (median(k, n, "total_us") for k in ("peer", "ours", "offload"))
        result.append(
            {
                "messages": n,
                "peer_us": pc,
                "ours_us": oc,
                "offload_us": fc,
                "peer_total_us": pt,
                "ours_total_us": ot,
                "offload_total_us": ft,
            }
        )
    return result, micro_table(result)


def micro_table(result: list[dict[str, float]]) -> str:
    """The medians of :func:`compare` as a Markdown table (ratios: peer ÷ ours)."""
    lines = [
        "| messages | peer callback | ours callback | ratio | ours offloaded callback | ratio"
        " | peer +export | ours +export | ratio | ours offloaded +writer | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result:
        pc, oc, fc = row["peer_us"], row["ours_us"], row["offload_us"]
        pt, ot, ft = row["peer_total_us"], row["ours_total_us"], row["offload_total_us"]
        lines.append(
            f"| {row['messages']:.0f} | {pc:.0f} | {oc:.0f} | {pc / oc:.1f}x | {fc:.0f} | {pc / fc:.1f}x "
            f"| {pt:.0f} | {ot:.0f} | {pt / ot:.1f}x | {ft:.0f} | {pt / ft:.1f}x |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--messages", type=int, nargs="+", default=[2, 12, 42])
    args = parser.parse_args()
    result, table = compare(args.rounds, args.events, args.messages)
    print(f"CPU µs per LiteLLM event in the proxy process, median of {args.rounds} interleaved rounds x {args.events}")
    print("callback = on the event loop; +export = adding the export serialisation (in-process) or the")
    print("writer thread (offloaded: mapping, recording and export then run in the recorder process)")
    print()
    print(table)
    print("JSON " + json.dumps(result))


if __name__ == "__main__":
    main()
