"""Side virtualenvs: another package set for a test or benchmark, built once per machine and reused.

``ensure_venv("agento11y", ["agento11y==0.21.0"])`` returns the interpreter of a virtualenv holding
those pins. It lives in a per-machine cache (``SIDE_VENVS_CACHE``, default ``/var/tmp/sigil-litellm-venvs``;
not a ``SIGIL_*`` name: the proxy reads those as its settings and tests clear them) as ``<name>-<key>``,
the key a hash of the pins, the options and the Python build, so a clean clone (CI) reuses what an
earlier checkout built and a changed pin builds a new one beside it.

A venv is built in a temporary directory and renamed into place under a file lock: concurrent pytest
sessions or workers build it once, and a build that was killed is never mistaken for a finished one.
Packages are installed by this interpreter's pip (``pip --python``), so a side venv holds no pip of its
own; run its tools as ``python -m ...`` (console scripts name the temporary directory).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

DEFAULT_CACHE = "/var/tmp/sigil-litellm-venvs"
# bump when the layout of a built venv changes (a new option, another launcher format)
_FORMAT = 1
RECIPE = "side-venv.json"  # in each venv: what it was built from (its key hashes this)
UNUSED_DAYS = 14  # a venv unused this long is removed when another venv is built (an old pin's)


def cache_dir() -> Path:
    """The per-machine cache: ``SIDE_VENVS_CACHE`` or ``/var/tmp/sigil-litellm-venvs`` (kept across reboots)."""
    return Path(os.environ.get("SIDE_VENVS_CACHE") or DEFAULT_CACHE)


def _base_python() -> str:
    """The interpreter this one's venv was made from (``/usr/bin/python3.11``), or this one."""
    return os.path.realpath(getattr(sys, "_base_executable", sys.executable))


def recipe(
    pins: Sequence[str],
    *,
    no_deps: bool = False,
    link: Path | None = None,
    launchers: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """What a venv is made of: its pins, options and the Python build that runs it (hashed into its key)."""
    return {
        "format": _FORMAT,
        "pins": list(pins),
        "no_deps": no_deps,
        "link": str(link) if link else None,
        "launchers": dict(sorted((launchers or {}).items())),
        "python": [sys.implementation.name, sys.version, _base_python()],
    }


def venv_dir(name: str, made_of: Mapping[str, object]) -> Path:
    """Where the venv ``name`` of this :func:`recipe` lives: ``<cache>/<name>-<hash of the recipe>``."""
    key = hashlib.sha256(json.dumps(made_of, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir() / f"{name}-{key}"


def ensure_venv(
    name: str,
    pins: Sequence[str],
    *,
    no_deps: bool = False,
    link: Path | None = None,
    launchers: Mapping[str, str] | None = None,
    timeout: float = 1800.0,
) -> Path:
    """The ``python`` of the venv ``name`` holding ``pins`` (pip requirement strings), built on first use.

    ``no_deps`` installs the pins without their dependencies. ``link`` is a site-packages directory
    searched after the venv's own (a ``.pth`` line): the venv then runs on those packages and adds only
    its pins. ``launchers`` maps a script name in ``bin/`` to ``module:function`` (a console script
    that names the venv's final path). Raises ``RuntimeError`` with pip's output when the install fails.
    """
    made_of = recipe(pins, no_deps=no_deps, link=link, launchers=launchers)
    final = venv_dir(name, made_of)
    root = final.parent
    python = final / "bin" / "python"
    if python.exists():
        _touch(final)
        return python
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / f".{final.name}.lock"):
        if python.exists():  # built by whoever held the lock before us
            return python
        for leftover in root.glob(f".{final.name}.build-*"):  # a killed build of this key (we hold its lock)
            shutil.rmtree(leftover, ignore_errors=True)
        building = Path(tempfile.mkdtemp(dir=root, prefix=f".{final.name}.build-"))
        try:
            _build(building, final, pins, no_deps=no_deps, link=link, launchers=launchers or {}, timeout=timeout)
            (building / RECIPE).write_text(json.dumps(made_of, indent=1) + "\n", encoding="utf-8")
            building.rename(final)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    _prune(root)
    return python


def _touch(venv: Path) -> None:
    """Mark ``venv`` used (its recipe's mtime): :func:`_prune` keeps what was used lately."""
    with contextlib.suppress(OSError):  # a read-only cache still serves
        os.utime(venv / RECIPE)


def _prune(root: Path) -> None:
    """Drop the venvs no checkout uses: linked to a site-packages that is gone (a deleted checkout's),
    or unused for ``UNUSED_DAYS`` (an old pin)."""
    for recipe_file in root.glob(f"*/{RECIPE}"):
        link = json.loads(recipe_file.read_text(encoding="utf-8")).get("link")
        idle = time.time() - recipe_file.stat().st_mtime
        if (link and not Path(link).is_dir()) or idle > UNUSED_DAYS * 86400:
            shutil.rmtree(recipe_file.parent, ignore_errors=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build(
    venv: Path,
    final: Path,
    pins: Sequence[str],
    *,
    no_deps: bool,
    link: Path | None,
    launchers: Mapping[str, str],
    timeout: float,
) -> None:
    subprocess.run([_base_python(), "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    if pins:
        cmd = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-input"]
        done = subprocess.run(
            [*cmd, *(["--no-deps"] if no_deps else []), *pins],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"cannot install {' '.join(pins)} into a side venv: {done.stderr[-3000:]}")
    if link is not None:
        site = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        Path(site, "_side_venv_link.pth").write_text(f"{link}\n", encoding="utf-8")
    for script, target in launchers.items():
        module, function = target.split(":")
        launcher = venv / "bin" / script
        # the guard matters: uvicorn's workers import the launcher again
        launcher.write_text(
            f"#!{final / 'bin' / 'python'}\nimport sys\nfrom {module} import {function}\n"
            f"if __name__ == '__main__':\n    sys.exit({function}())\n",
            encoding="utf-8",
        )
        launcher.chmod(0o755)
