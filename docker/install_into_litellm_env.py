"""Install packages into the environment that runs litellm, leaving everything the base installed as it is.

Run by install-into-litellm-env.sh with that environment's Python (current official images:
/app/.venv without pip; older ones: a Python with pip). Every distribution already installed is a
constraint at its installed version (the base's own freeze), so pip can add packages but never up- or
downgrade one. When a package needs a version the base pins otherwise, the build stops with one line
naming both. pip comes from the environment itself, from a throw-away venv (ensurepip), or, when the
base has neither, from pip's wheel on PyPI (checked against PyPI's sha256) run in place; nothing of
the installer stays. PIP_CERT (a CA bundle path) is honoured by every path. Runs on Python >= 3.9.

    python install_into_litellm_env.py PACKAGE...
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from importlib.metadata import distributions
from pathlib import Path

NAME = "install-into-litellm-env"
PYPI_PIP = "https://pypi.org/pypi/pip/json"
# pip's ResolutionImpossible report: "    probe 0.1 depends on grpcio>1.84.1" and
# "    The user requested (constraint) grpcio==1.84.1"
DEPENDS = re.compile(r"^\s*(?P<who>\S+) (?P<version>\S+) depends on (?P<requirement>.+?)\s*$")
CONSTRAINT = re.compile(r"^\s*The user requested \(constraint\) (?P<name>[^=<>!~ ]+)==(?P<version>\S+)\s*$")
NAME_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def freeze() -> dict[str, str]:
    """Every distribution this Python imports, by normalized name (the first on sys.path wins)."""
    found: dict[str, str] = {}
    for dist in distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(normalize(name), dist.version)
    return found


def pip_wheel(work: Path) -> Path:
    context = ssl.create_default_context(cafile=os.environ.get("PIP_CERT") or None)
    with urllib.request.urlopen(PYPI_PIP, context=context, timeout=60) as response:
        [wheel] = [f for f in json.load(response)["urls"] if f["filename"].endswith(".whl")]
    with urllib.request.urlopen(urllib.parse.urljoin(PYPI_PIP, wheel["url"]), context=context, timeout=60) as response:
        data = response.read()
    if hashlib.sha256(data).hexdigest() != wheel["digests"]["sha256"]:
        sys.exit(f"{NAME}: pip's wheel does not match PyPI's sha256")
    path = work / "pip.whl"
    path.write_bytes(data)
    return path


def pip_command(work: Path) -> list[str]:
    """pip for this environment: its own, a throw-away venv's (``--python``), or PyPI's wheel run in place."""
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    if subprocess.run([sys.executable, "-m", "pip", "--version"], check=False, **quiet).returncode == 0:
        return [sys.executable, "-m", "pip"]
    installer = work / "installer"
    if subprocess.run([sys.executable, "-m", "venv", str(installer)], check=False, **quiet).returncode == 0:
        return [str(installer / "bin" / "python"), "-m", "pip", "--python", sys.executable]
    return [sys.executable, str(pip_wheel(work) / "pip")]


def conflict(report: str, pinned: dict[str, str]) -> str | None:
    """The one line for a requirement that the base's pins rule out, from pip's resolution report."""
    constrained = {normalize(m["name"]): m["version"] for m in map(CONSTRAINT.match, report.splitlines()) if m}
    for match in map(DEPENDS.match, report.splitlines()):
        if not match:
            continue
        name = NAME_PART.match(match["requirement"])
        if name and normalize(name.group()) in constrained and normalize(name.group()) in pinned:
            key = normalize(name.group())
            return (
                f"{NAME}: {match['who']} {match['version']} needs {match['requirement']}, "
                f"but the base image has {name.group()} {pinned[key]} (its packages are never changed)"
            )
    return None


def main(packages: list[str]) -> int:
    before = freeze()
    print(f"{NAME}: installing into {sys.executable} (litellm {before['litellm']})", file=sys.stderr, flush=True)
    work = Path(tempfile.mkdtemp(prefix="install-into-litellm-env."))
    try:
        constraints = work / "constraints.txt"
        constraints.write_text("".join(f"{name}=={version}\n" for name, version in sorted(before.items())))
        # not --quiet: the resolution report that names a conflict is pip's INFO output
        command = [*pip_command(work), "install", "--constraint", str(constraints), *packages]
        env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_CACHE_DIR": "1"}
        done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if done.returncode != 0:
        line = conflict(done.stdout, before)
        if line is None:
            print(done.stdout[-4000:], file=sys.stderr)
            line = f"{NAME}: pip failed with status {done.returncode} (its output is above)"
        print(line, file=sys.stderr)
        return 1
    print(*[line for line in done.stdout.splitlines() if line.startswith("Successfully")], file=sys.stderr)
    changed = sorted(name for name, version in freeze().items() if name in before and before[name] != version)
    if changed:
        print(f"{NAME}: pip changed the base's {', '.join(changed)} despite the constraints", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
