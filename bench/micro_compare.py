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
import shutil
import statistics
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEER_VENV = ROOT / "bench" / ".peer-venv"
PEER_VERSION = os.environ.get("PEER_VERSION", "0.9.3")
LITELLM_VERSION = "1.108.5"


def ensure_peer_venv() -> Path:
    """The peer's virtualenv (created once, reused while its marker names the same versions): PyPI
    ``sigil-sdk-litellm==PEER_VERSION`` installed there by pip, on top of this project's LiteLLM and
    sigil-sdk.

    Those dependencies are linked, not installed again: a ``.pth`` file appends this interpreter's
    site-packages after the peer's own, so the peer's ``sigil_sdk_litellm`` is found first and ours
    (an editable install, whose ``.pth`` is not processed from a linked directory) not at all. Both
    handlers then run on the same LiteLLM and SDK builds (a fair comparison), and the venv costs
    seconds instead of minutes of pip install (measured: ``litellm[proxy]`` ≈ 8 min, plain
    ``litellm`` ≈ 4.5 min on the loaded CI machine). ``bin/litellm`` starts the proxy for the load
    benchmark.
    """
    python = PEER_VENV / "bin" / "python"
    marker = PEER_VENV / ".linked"
    want = f"sigil-sdk-litellm=={PEER_VERSION} on {sys.prefix}, launcher 2\n"
    if python.exists() and marker.exists() and marker.read_text(encoding="utf-8") == want:
        return python
    shutil.rmtree(PEER_VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(PEER_VENV)], check=True)
    peer_site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (peer_site / "_project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(peer_site),
            f"sigil-sdk-litellm=={PEER_VERSION}",
        ],
        check=True,
    )
    launcher = PEER_VENV / "bin" / "litellm"
    launcher.write_text(
        # the guard matters: with --num_workers uvicorn spawns workers that import this file again
        f"#!{python}\nimport sys\nfrom litellm.proxy.proxy_cli import run_server\n"
        "if __name__ == '__main__':\n    sys.exit(run_server())\n",
        encoding="utf-8",
    )
    launcher.chmod(0o755)
    marker.write_text(want, encoding="utf-8")
    return python


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
