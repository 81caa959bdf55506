"""Side venvs: built once per recipe in the per-machine cache, reused, never half-built, pruned.

The pins are a wheel made here (pip installs it from the file, offline), so the venvs are real and small.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from side_venvs import RECIPE, UNUSED_DAYS, ensure_venv, recipe, venv_dir


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SIDE_VENVS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def make_wheel(directory: Path, name: str = "sidepkg", version: str = "1.0") -> Path:
    """A pure-Python wheel of one module, ``name``, whose ``VERSION`` is ``version``."""
    files = {
        f"{name}.py": f"VERSION = {version!r}\n",
        f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{name}-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{name}-{version}.dist-info/RECORD,,")
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
        archive.writestr(f"{name}-{version}.dist-info/RECORD", "\n".join(record) + "\n")
    return wheel


def run(python: Path, code: str) -> str:
    return subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True).stdout.strip()


def test_built_in_the_cache_once_and_reused(tmp_path: Path, cache: Path) -> None:
    wheel = make_wheel(tmp_path)
    python = ensure_venv("demo", [str(wheel)], no_deps=True)
    assert python.parent.parent == venv_dir("demo", recipe([str(wheel)], no_deps=True))
    assert python.parent.parent.parent == cache and python.parent.parent.name.startswith("demo-")
    assert run(python, "import sidepkg; print(sidepkg.VERSION)") == "1.0"
    built = json.loads((python.parent.parent / RECIPE).read_text())
    assert built["pins"] == [str(wheel)] and built["no_deps"] is True
    inode = python.parent.parent.stat().st_ino
    assert ensure_venv("demo", [str(wheel)], no_deps=True) == python
    assert python.parent.parent.stat().st_ino == inode  # reused, not rebuilt
    assert sorted(p.name for p in cache.iterdir() if not p.name.endswith(".lock")) == [python.parent.parent.name]


def test_other_pins_get_a_venv_of_their_own(tmp_path: Path) -> None:
    old = make_wheel(tmp_path, version="1.0")
    new = make_wheel(tmp_path, version="2.0")
    first = ensure_venv("demo", [str(old)], no_deps=True)
    second = ensure_venv("demo", [str(new)], no_deps=True)
    assert first != second
    assert run(first, "import sidepkg; print(sidepkg.VERSION)") == "1.0"
    assert run(second, "import sidepkg; print(sidepkg.VERSION)") == "2.0"


def test_concurrent_sessions_build_once(tmp_path: Path, cache: Path) -> None:
    wheel = make_wheel(tmp_path)
    code = f"from side_venvs import ensure_venv; print(ensure_venv('demo', [{str(wheel)!r}], no_deps=True))"
    sessions = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    results = [session.communicate(timeout=300) for session in sessions]
    assert [session.returncode for session in sessions] == [0, 0, 0], [err for _, err in results]
    assert len({out.strip() for out, _ in results}) == 1
    # one venv, no build directory left: a second build would have failed to rename onto the first
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == [Path(results[0][0]).parent.parent.name]


def test_a_killed_build_is_never_used(tmp_path: Path, cache: Path) -> None:
    wheel = make_wheel(tmp_path)
    final = venv_dir("demo", recipe([str(wheel)], no_deps=True))
    leftover = cache / f".{final.name}.build-killed"
    (leftover / "bin").mkdir(parents=True)
    python = ensure_venv("demo", [str(wheel)], no_deps=True)
    assert python == final / "bin" / "python" and not leftover.exists()
    assert run(python, "import sidepkg; print(sidepkg.VERSION)") == "1.0"


def test_a_failed_install_says_why_and_leaves_nothing(tmp_path: Path, cache: Path) -> None:
    missing = tmp_path / "nothing-1.0-py3-none-any.whl"
    with pytest.raises(RuntimeError, match=r"cannot install .*nothing-1\.0"):
        ensure_venv("broken", [str(missing)], no_deps=True)
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == []


def test_link_and_launcher(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "linkedmod.py").write_text("def main():\n    print('linked ran')\n    return 0\n")
    python = ensure_venv("linked", [], link=site, launchers={"hello": "linkedmod:main"})
    assert run(python, "import linkedmod; print(linkedmod.__file__)") == str(site / "linkedmod.py")
    launcher = python.parent / "hello"
    assert launcher.read_text().startswith(f"#!{python}\n")  # the final path, not the build directory's
    assert subprocess.run([str(launcher)], check=True, capture_output=True, text=True).stdout == "linked ran\n"


def test_venvs_nobody_uses_are_pruned_when_another_is_built(tmp_path: Path) -> None:
    site = tmp_path / "checkout-site"
    site.mkdir()
    orphan = ensure_venv("peer", [], link=site).parent.parent
    site.rmdir()  # the checkout whose packages it linked is gone
    (tmp_path / "old").mkdir()
    idle = ensure_venv("demo", [str(make_wheel(tmp_path / "old"))], no_deps=True).parent.parent
    long_ago = time.time() - (UNUSED_DAYS + 1) * 86400
    os.utime(idle / RECIPE, (long_ago, long_ago))
    recent = ensure_venv("recent", []).parent.parent
    assert recent.is_dir() and not orphan.exists() and not idle.exists()
