"""docker/install-into-litellm-env.sh on bad bases: each stops the build with one line naming the problem.

Run in throw-away containers of the chosen base (as root, as in the Dockerfile's install step, without
network): once with LiteLLM removed from it, once asked to install a wheel that needs a version of a
package the base pins otherwise. pip resolves offline (PIP_NO_INDEX): the base's installed packages
are its only candidates, so the conflict is the one a real build would meet, found without PyPI.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.container.conftest import ROOT, Engine, run_once, timed

pytestmark = [pytest.mark.container, pytest.mark.timeout(600)]

SCRIPT = "/opt/install/install-into-litellm-env.sh"
NAME = "install-into-litellm-env"


def wheel(directory: Path, name: str, version: str, requires: list[str]) -> Path:
    """A minimal pure-Python wheel: metadata only, requiring ``requires``."""
    dist = f"{name.replace('-', '_')}-{version}"
    files = {
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        + "".join(f"Requires-Dist: {requirement}\n" for requirement in requires),
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()},"
        f"{len(text.encode())}"
        for path, text in files.items()
    ]
    path = directory / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name_in_archive, text in files.items():
            archive.writestr(name_in_archive, text)
        archive.writestr(f"{dist}.dist-info/RECORD", "\n".join([*record, f"{dist}.dist-info/RECORD,,"]) + "\n")
    return path


@pytest.fixture(scope="module")
def wheels() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="sigil-wheels-") as directory:
        Path(directory).chmod(0o755)
        yield Path(directory)


def install(docker_client: Any, base: str, command: str, wheels: Path) -> tuple[int, list[str]]:
    """``command`` in a throw-away container of ``base`` with the install script at /opt/install."""
    volumes = {
        str(ROOT / "docker"): {"bind": "/opt/install", "mode": "ro"},
        str(wheels): {"bind": "/opt/wheels", "mode": "ro"},
    }
    with timed("install-script checks"):
        status, output = run_once(
            docker_client,
            base,
            ["sh", "-c", command],
            user="0:0",
            volumes=volumes,
            environment={"PIP_NO_INDEX": "1"},
        )
    return status, [line for line in output.splitlines() if line.strip()]


def test_a_base_without_litellm_stops_with_one_line(engine: Engine, docker_client: Any, wheels: Path) -> None:
    where = "import importlib.util as u; print(u.find_spec('litellm').submodule_search_locations[0])"
    drop_litellm = f'rm -rf "$(python -c "{where}")"'
    status, lines = install(docker_client, engine.base(), f"{drop_litellm} && {SCRIPT} sigil-sdk-litellm", wheels)
    assert status == 1, lines
    assert len(lines) == 1 and lines[0].startswith(f"{NAME}: no Python with litellm in this image"), lines


def test_a_conflicting_pin_stops_with_one_line_naming_both_versions(
    engine: Engine, docker_client: Any, wheels: Path, base_distributions: dict[str, str]
) -> None:
    pinned = base_distributions["grpcio"]
    probe = wheel(wheels, "sigil-conflict-probe", "0.1", [f"grpcio>{pinned}"])
    status, lines = install(docker_client, engine.base(), f"{SCRIPT} /opt/wheels/{probe.name}", wheels)
    assert status == 1, lines
    expected = (
        f"{NAME}: sigil-conflict-probe 0.1 needs grpcio>{pinned}, "
        f"but the base image has grpcio {pinned} (its packages are never changed)"
    )
    # the progress line, then the one line that stops the build
    assert lines[-1] == expected and len(lines) == 2 and lines[0].startswith(f"{NAME}: installing into"), lines
