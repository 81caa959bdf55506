"""The library's tests on the other LiteLLM releases it supports: ``python -m tests.library_versions``.

The main virtualenv holds the LiteLLM the proxy is tested on (pyproject's ``test`` extra). The library
(``pip install sigil-sdk-litellm`` in a user's LiteLLM app, or a user's base image with another LiteLLM)
claims a range: its oldest release and the newest that installs here get their own side venvs (built
once per machine, ``side_venvs``), and the library tier runs in each from this checkout's sources.

The library tier: the mapping, the handler, and the handler registered in real LiteLLM (``completion``,
``acompletion``, streams, ``embedding``, ``responses``, ``anthropic_messages`` through the fake upstream
into a real ``sigil_sdk.Client``). Each venv holds that LiteLLM, the library's dependencies, its light
``[proxy]`` extra (the root conftest imports the proxy settings), ``library-test`` and the tools'
dependencies (the fake upstream) — read from the pyproject files, only LiteLLM's replaced — and what
LiteLLM's SDK needs of its own proxy extra (``MESSAGES_STREAM_NEEDS``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.version import Version
from side_venvs import ensure_venv

ROOT = Path(__file__).resolve().parent.parent
# the oldest release pyproject allows, and the newest that installs here (its [proxy] extra does not);
# the main virtualenv's (pyproject's test extra, 1.108.5) runs the whole suite
VERSIONS = ("1.82.3", "1.110.2")
# LiteLLM's SDK streams Anthropic Messages through its proxy's pass-through logging, which imports these
# packages of its [proxy] extra (1.82.3 needs the first three, 1.110.2 all five): a plain `pip install
# litellm` cannot stream /v1/messages (docs/compatibility.md), so they are installed beside it
MESSAGES_STREAM_NEEDS = ["fastapi", "orjson", "backoff", "soundfile", "redis"]
TIER = [
    "tests/unit/mapping",
    "tests/unit/test_handler.py",
    "tests/unit/test_limits.py",
    "tests/unit/test_property_payloads.py",
    "tests/unit/test_library_without_proxy.py",
    "tests/integration/test_handler_litellm.py",
]


def pins(litellm: str) -> list[str]:
    """The side venv's requirements for ``litellm`` (one exact version the project allows)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    tools = tomllib.loads((ROOT / "tools" / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    out = [f"litellm=={litellm}"]
    needs = [*project["dependencies"], *extras["proxy"], *extras["library-test"], *tools["dependencies"]]
    for line in [*needs, *MESSAGES_STREAM_NEEDS]:
        requirement = Requirement(line)
        if requirement.name == "litellm":
            if Version(litellm) not in requirement.specifier:  # e.g. a compromised release
                raise SystemExit(f"litellm {litellm} is outside the project's range {requirement.specifier}")
            continue
        if line not in out:
            out.append(line)
    return out


def run(litellm: str, pytest_args: list[str]) -> int:
    started = time.monotonic()
    python = ensure_venv(f"litellm-{litellm}", pins(litellm))
    built = time.monotonic() - started
    print(f"== library tier on litellm {litellm} ({python.parent.parent}, ready in {built:.0f} s)", flush=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(ROOT / p) for p in ("src", "tools/src", ".")))
    # LiteLLM's own warnings counted, not listed; -p no:cacheprovider: the main run's .pytest_cache stays its own
    cmd = [str(python), "-m", "pytest", *TIER, "-q", "-ra", "--disable-warnings", "-p", "no:cacheprovider"]
    cmd += pytest_args
    code = subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode
    print(f"== litellm {litellm}: exit {code} in {time.monotonic() - started:.0f} s", flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--litellm", nargs="+", default=list(VERSIONS), help="LiteLLM versions (default: %(default)s)")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    args = parser.parse_args(argv)
    codes = [run(version, args.pytest_args) for version in args.litellm]
    return max(codes, default=0)


if __name__ == "__main__":
    sys.exit(main())
