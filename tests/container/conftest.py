"""The container distribution under a real engine: the image, a stack of containers, the compose file.

Engine, in this order: ``SIGIL_CONTAINER_ENGINE`` (``docker``, ``podman`` or ``none``); Docker when
``docker info`` answers; podman when it is installed. With podman, its Docker-compatible API is started
here (``podman system service``) with the project's ``docker/containers.conf`` (``CONTAINERS_CONF``), and
testcontainers talks to it with Ryuk disabled (its image cannot be pulled). Without an engine every
test that needs one is skipped, with the reason.

The base image (``LITELLM_IMAGE``): the environment's ``LITELLM_IMAGE`` if set; with Docker the official
``ghcr.io/berriai/litellm`` (the Dockerfile's default); with podman (hosts without registry access) the
stand-in that ``docker/standin-base.sh`` builds once per machine, in the official image's current layout.
``SIGIL_CONTAINER_BASE=standin`` or ``official`` forces either. The older root layout
(``docker/prod_entrypoint.sh``): ``LITELLM_LEGACY_IMAGE`` if set, else the stand-in's ``legacy`` variant
where the stand-in is used.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTAINERS_CONF = ROOT / "docker" / "containers.conf"
STANDIN_SCRIPT = ROOT / "docker" / "standin-base.sh"
# the Dockerfile's default base (ARG LITELLM_IMAGE=...)
DEFAULT_BASE = re.search(r"^ARG LITELLM_IMAGE=(\S+)$", (ROOT / "Dockerfile").read_text(), re.M)[1]  # type: ignore[index]
# per session: concurrent sessions on one machine must not retag each other's image under it
IMAGE_TAG = f"localhost/litellm-sigil:test-{os.getpid()}"
# the host's CA bundle inside podman builds (docker/containers.conf mounts it there)
PODMAN_PIP_CERT = "/run/host-ca.crt"
TIMINGS: dict[str, float] = {}


@dataclass
class Engine:
    name: str  # "docker" or "podman"
    cli: str
    env: dict[str, str] = field(default_factory=dict)  # for the CLI (CONTAINERS_CONF)
    base_image: str | None = None  # None: the Dockerfile's default
    pip_cert: str = ""
    standin: bool = False  # the base is docker/standin-base.sh's

    def base(self) -> str:
        return self.base_image or DEFAULT_BASE

    def run(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.cli, *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
            stdin=subprocess.DEVNULL,
        )

    def build_args(self) -> dict[str, str]:
        args = {"PIP_CERT": self.pip_cert}
        if self.base_image:
            args["LITELLM_IMAGE"] = self.base_image
        return args


def _works(command: list[str], env: dict[str, str] | None = None) -> bool:
    try:
        done = subprocess.run(
            command, env={**os.environ, **(env or {})}, capture_output=True, timeout=60, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def detect_engine() -> tuple[Engine | None, str]:
    """The engine to use, or None and why not."""
    wanted = os.environ.get("SIGIL_CONTAINER_ENGINE", "").strip().lower()
    if wanted == "none":
        return None, "SIGIL_CONTAINER_ENGINE=none"
    # the project's podman settings (runc, rlimits, the host CA for builds) unless CONTAINERS_CONF names
    # others; they need runc, so without it podman's own defaults apply
    conf = os.environ.get("CONTAINERS_CONF") or (str(CONTAINERS_CONF) if shutil.which("runc") else "")
    podman_env = {"CONTAINERS_CONF": conf} if conf else {}
    pip_cert = PODMAN_PIP_CERT if conf and PODMAN_PIP_CERT in Path(conf).read_text() else ""
    docker, podman = shutil.which("docker"), shutil.which("podman")
    if wanted in ("", "docker") and docker and _works([docker, "info"]):
        return Engine("docker", docker), "docker"
    if wanted in ("", "podman") and podman and _works([podman, "info"], podman_env):
        return Engine("podman", podman, podman_env, pip_cert=pip_cert), "podman"
    if wanted:
        return None, f"SIGIL_CONTAINER_ENGINE={wanted} but it is not installed or does not answer"
    return None, "no container engine: neither `docker info` nor `podman info` works (apt-get install podman runc)"


_DETECTED: tuple[Engine | None, str] | None = None


def detected() -> tuple[Engine | None, str]:
    global _DETECTED
    if _DETECTED is None:
        _DETECTED = detect_engine()
    return _DETECTED


def pytest_report_header(config: pytest.Config) -> str:
    engine, why = detected()
    if engine is None:
        return f"container tests: SKIPPED ({why})"
    return f"container tests: engine {engine.name} ({engine.cli})"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TIMINGS:
        terminalreporter.write_line(
            "container timings: " + ", ".join(f"{name} {seconds:.0f}s" for name, seconds in TIMINGS.items())
        )


@contextlib.contextmanager
def timed(name: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    TIMINGS[name] = TIMINGS.get(name, 0.0) + time.monotonic() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float, alive: Any = None) -> None:
    """Until ``url`` answers 2xx; ``alive()`` returning False (e.g. the container exited) stops early."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=3):
                return
        except (urllib.error.URLError, OSError) as error:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer in {timeout:.0f}s: {error}") from error
            if alive is not None and not alive():
                raise RuntimeError(f"{url}: the container exited") from error
            time.sleep(0.5)


@contextlib.contextmanager
def _podman_service(engine: Engine) -> Iterator[str]:
    """podman's Docker-compatible API on a socket of our own, stopped afterwards."""
    directory = tempfile.mkdtemp(prefix="sigil-podman-")
    sock = Path(directory) / "podman.sock"
    process = subprocess.Popen(
        [engine.cli, "system", "service", "--time=0", f"unix://{sock}"],
        env={**os.environ, **engine.env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not sock.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"podman system service did not start (status {process.poll()})")
            time.sleep(0.1)
        yield f"unix://{sock}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    """The container engine, its API set up for testcontainers, and the base image chosen (see module doc)."""
    found, why = detected()
    if found is None:
        pytest.skip(f"container tests skipped: {why}")
    with pytest.MonkeyPatch.context() as patch, contextlib.ExitStack() as stack:
        if found.name == "podman":
            for name, value in found.env.items():
                patch.setenv(name, value)
            if not os.environ.get("DOCKER_HOST"):
                patch.setenv("DOCKER_HOST", stack.enter_context(_podman_service(found)))
            patch.setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
            patch.setenv("TESTCONTAINERS_CONNECTION_MODE", "docker_host")
            patch.setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
        # testcontainers reads its settings at import; set them on the loaded configuration too
        from testcontainers.core.config import testcontainers_config

        testcontainers_config.ryuk_disabled = os.environ.get("TESTCONTAINERS_RYUK_DISABLED") == "true"
        if os.environ.get("TESTCONTAINERS_HOST_OVERRIDE"):
            testcontainers_config.tc_host_override = os.environ["TESTCONTAINERS_HOST_OVERRIDE"]

        base = os.environ.get("SIGIL_CONTAINER_BASE", "").strip().lower()
        if os.environ.get("LITELLM_IMAGE"):
            found.base_image = os.environ["LITELLM_IMAGE"]
        elif base == "standin" or (found.name == "podman" and base != "official"):
            found.base_image, found.standin = standin_base(found, "current"), True
        yield found


def standin_base(engine: Engine, layout: str) -> str:
    """The stand-in base of that layout (``current`` or ``legacy``), built once per machine."""
    with timed(f"stand-in base {layout} (cached after the first build)"):
        done = subprocess.run(
            [str(STANDIN_SCRIPT), layout],
            env={**os.environ, **engine.env, "CONTAINER_ENGINE": engine.name},
            capture_output=True,
            text=True,
            timeout=1200,
            stdin=subprocess.DEVNULL,
        )
    if done.returncode != 0:
        pytest.fail(f"docker/standin-base.sh {layout} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return done.stdout.strip().splitlines()[-1]


def legacy_base(engine: Engine) -> str | None:
    """A base in the older root layout (docker/prod_entrypoint.sh), or None: see the module doc."""
    if os.environ.get("LITELLM_LEGACY_IMAGE"):
        return os.environ["LITELLM_LEGACY_IMAGE"]
    return standin_base(engine, "legacy") if engine.standin else None


@pytest.fixture(scope="session")
def docker_client(engine: Engine) -> Iterator[Any]:
    from testcontainers.core.docker_client import DockerClient

    client = DockerClient()
    yield client.client
    client.client.close()


def build_image(tag: str, buildargs: dict[str, str]) -> None:
    """The repository's Dockerfile built as ``tag`` (its layers stay as build cache)."""
    from docker.errors import APIError, BuildError
    from testcontainers.core.image import DockerImage

    built = DockerImage(path=ROOT, tag=tag, clean_up=False, buildargs=buildargs)
    try:
        built.build()
    except (BuildError, APIError) as error:  # BuildError carries the log
        log = "".join(
            str(entry.get("stream", entry.get("error", ""))) for entry in getattr(error, "build_log", []) or []
        )
        pytest.fail(f"building the image failed: {error}\n{log[-6000:]}")


LEGACY_TAG = f"{IMAGE_TAG}-legacy"
_LEGACY_BUILD: list[concurrent.futures.Future[str | None]] = []


def _build_legacy(engine: Engine) -> str | None:
    base = legacy_base(engine)
    if base is None:
        return None
    started = time.monotonic()
    build_image(LEGACY_TAG, {**engine.build_args(), "LITELLM_IMAGE": base})
    TIMINGS["legacy-layout image build (in the background)"] = time.monotonic() - started
    return LEGACY_TAG


@pytest.fixture(scope="session")
def image(engine: Engine, docker_client: Any, request: pytest.FixtureRequest) -> Iterator[str]:
    """The distribution's image, built from the repository's Dockerfile on the chosen base; untagged
    afterwards. When a test needs it, the same Dockerfile on the older layout then builds in the
    background while the suite runs on this one (``legacy_image``)."""
    with timed("image build"):
        build_image(IMAGE_TAG, engine.build_args())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        if any("legacy_image" in item.fixturenames for item in request.session.items):
            _LEGACY_BUILD.append(pool.submit(_build_legacy, engine))
        yield IMAGE_TAG
    for tag in (IMAGE_TAG, LEGACY_TAG):
        engine.run("rmi", tag, check=False)


@pytest.fixture(scope="session")
def legacy_image(image: str) -> str:
    """The same Dockerfile, unchanged, built on a base in the older root layout."""
    if not _LEGACY_BUILD:
        pytest.fail("the older-layout build was not started")
    with timed("legacy-layout image build (waiting)"):
        tag = _LEGACY_BUILD[0].result(timeout=1200)
    if tag is None:
        pytest.skip("no base in the older layout: set LITELLM_LEGACY_IMAGE (the stand-in builds one with podman)")
    return tag


# every distribution the image's `python` imports, the first on sys.path winning (as pip freeze)
FREEZE = """import importlib.metadata as m, json, re
found = {}
for d in m.distributions():
    if d.metadata["Name"]:
        found.setdefault(re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower(), d.version)
print(json.dumps(found))"""


def run_once(docker_client: Any, image: str, command: list[str], **kwargs: Any) -> tuple[int, str]:
    """Run ``command`` (as the entrypoint) in a throw-away container without network: status, output."""
    created = docker_client.containers.run(image, entrypoint=command, network_mode="none", detach=True, **kwargs)
    try:
        status = int(created.wait(timeout=300)["StatusCode"])
        return status, created.logs(stdout=True, stderr=True).decode(errors="replace")
    finally:
        created.remove(force=True)


def distributions(docker_client: Any, image: str) -> dict[str, str]:
    """The image's Python environment as ``{normalized name: version}``."""
    status, output = run_once(docker_client, image, ["python", "-c", FREEZE])
    assert status == 0, output[-3000:]
    return dict(json.loads(output.strip().splitlines()[-1]))


@pytest.fixture(scope="session")
def base_distributions(engine: Engine, docker_client: Any) -> dict[str, str]:
    """The base image's Python environment (see ``distributions``)."""
    return distributions(docker_client, engine.base())


def container_logs(container: Any) -> str:
    """stdout + stderr of a testcontainers container (running or exited)."""
    wrapped = container.get_wrapped_container()
    return str(wrapped.logs(stdout=True, stderr=True).decode(errors="replace"))


def inspect(docker_client: Any, container: Any) -> dict[str, Any]:
    return dict(docker_client.api.inspect_container(container.get_wrapped_container().id))


def dump(value: Any) -> str:
    return json.dumps(value, indent=1, default=str)[:3000]
