"""The image under a real engine: sink, fake upstream and proxy as containers on a network of their own,
driven from the host by the official OpenAI client through ports published on 127.0.0.1.

The proxy runs as the image's non-root user with a read-only root file system (only /tmp writable),
exports over HTTP with basic auth to a sink that enforces it, and runs the same scenarios as the
process-level integration tests (tests/scenarios.py). The base's Python environment is only added to,
and the same Dockerfile built on a base in the older root layout serves a chat into the sink too.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect as pyinspect
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.container.conftest import (
    Engine,
    container_logs,
    distributions,
    dump,
    inspect,
    timed,
    wait_http,
)
from tests.scenarios import SCENARIOS, SinkReader, Target, new_conversation

pytestmark = [pytest.mark.container, pytest.mark.timeout(1500)]

TENANT = "container-tenant"
UID = 65532  # the official image's user, which ours ends as too
TOKEN = "sigil-" + secrets.token_hex(16)
EXPECTED_BAD_ENV_LINE = "sigil: invalid configuration: SIGIL_AUTH_MODE='bearr' — accepted: none, tenant, bearer, basic"


def new_master_key() -> str:
    return "sk-" + secrets.token_hex(32)


def container(image: str, network: Any = None, alias: str = "", **kwargs: Any) -> Any:
    """A container with a read-only root file system and a writable /tmp, as in Kubernetes."""
    from testcontainers.core.container import DockerContainer

    created = DockerContainer(image).with_kwargs(read_only=True, **kwargs).with_tmpfs_mount("/tmp")
    if network is not None:
        created.with_network(network)
        if alias:
            created.with_network_aliases(alias)
    return created


def publish(created: Any, port: int) -> Any:
    """Publish ``port`` on a free port of 127.0.0.1 (never on every interface)."""
    created.ports[f"{port}/tcp"] = ("127.0.0.1",)  # docker-py: host address only, any free port
    return created


def host_port(created: Any, port: int) -> int:
    return int(created.get_exposed_port(port))


def is_running(created: Any) -> bool:
    wrapped = created.get_wrapped_container()
    wrapped.reload()
    return bool(wrapped.status == "running")


def wait_ready(created: Any, url: str, timeout: float) -> None:
    try:
        wait_http(url, timeout, lambda: is_running(created))
    except (TimeoutError, RuntimeError) as error:
        pytest.fail(f"{error}\n{container_logs(created)[-4000:]}")


@dataclass
class Stack:
    network: Any
    sink_url: str
    proxy: Any
    proxy_url: str
    master_key: str

    def target(self) -> Target:
        return Target(self.proxy_url, self.master_key, SinkReader(self.sink_url))


@pytest.fixture(scope="module")
def network(engine: Engine) -> Iterator[Any]:
    from testcontainers.core.network import Network

    with Network() as created:
        yield created


@pytest.fixture(scope="module")
def sink(image: str, network: Any) -> Iterator[str]:
    """The mock sink (basic auth enforced); yields its read-back URL on the host."""
    created = container(image, network, "sigil-sink", entrypoint=["sigil-mock-sink"])
    created.with_command(["--host", "0.0.0.0", "--http-port", "8080", "--grpc-port", "4317", "--auth", "basic"])
    created.with_envs(SINK_BASIC_USER=TENANT, SINK_BASIC_PASSWORD=TOKEN)
    publish(created, 8080)
    with created:
        url = f"http://127.0.0.1:{host_port(created, 8080)}"
        wait_ready(created, f"{url}/readyz", 60)
        yield url
        assert TOKEN not in container_logs(created)


@pytest.fixture(scope="module")
def fake_llm(image: str, network: Any) -> Iterator[str]:
    """The fake OpenAI upstream; yields its URL on the container network."""
    created = container(image, network, "fake-llm", entrypoint=["fake-llm"])
    created.with_command(["--host", "0.0.0.0", "--port", "8090"])
    publish(created, 8090)
    with created:
        wait_ready(created, f"http://127.0.0.1:{host_port(created, 8090)}/health", 60)
        yield "http://fake-llm:8090/v1"


def proxy_env(fake_url: str, master_key: str, **extra: str) -> dict[str, str]:
    return {
        "LITELLM_MASTER_KEY": master_key,
        "OPENAI_API_BASE": fake_url,
        "OPENAI_API_KEY": "fake-key",
        "SIGIL_ENDPOINT": "http://sigil-sink:8080",
        "SIGIL_PROTOCOL": "http",
        "SIGIL_AUTH_MODE": "basic",
        "SIGIL_AUTH_TENANT_ID": TENANT,
        "SIGIL_AUTH_TOKEN": TOKEN,
        "SIGIL_FLUSH_INTERVAL": "0.2",
        **extra,
    }


@contextlib.contextmanager
def running_proxy(image: str, network: Any, env: dict[str, str], *, wait: bool = True) -> Iterator[tuple[Any, str]]:
    """The proxy as the image defines it (user, entrypoint, command), read-only root, /tmp writable."""
    created = container(image, network).with_envs(**env)
    publish(created, 4000)
    with created:
        url = f"http://127.0.0.1:{host_port(created, 4000)}" if wait else ""
        if wait:
            wait_ready(created, f"{url}/health/liveliness", 180)
        yield created, url


@pytest.fixture(scope="module")
def stack(image: str, network: Any, sink: str, fake_llm: str) -> Iterator[Stack]:
    key = new_master_key()
    with running_proxy(image, network, proxy_env(fake_llm, key)) as (proxy, url):
        yield Stack(network, sink, proxy, url, key)


# --- the image's metadata ------------------------------------------------------------------------


def healthcheck(image: str, engine: Engine, docker_client: Any) -> dict[str, Any]:
    """The image's HEALTHCHECK (podman's Docker API leaves it out of the image's Config: ask its CLI)."""
    if engine.name == "podman":
        [attrs] = json.loads(engine.run("image", "inspect", image).stdout)
        return dict(attrs.get("Healthcheck") or attrs["Config"].get("Healthcheck") or {})
    return dict(docker_client.images.get(image).attrs["Config"].get("Healthcheck") or {})


def test_image_metadata(image: str, engine: Engine, docker_client: Any) -> None:
    config = docker_client.images.get(image).attrs["Config"]
    assert config["User"] == f"{UID}:{UID}", dump(config)
    base = docker_client.images.get(engine.base()).attrs["Config"]
    assert config["Entrypoint"] == base["Entrypoint"], "the base's entrypoint is kept"
    assert config["Cmd"] == ["--config", "/app/config.yaml", "--port", "4000"]
    assert config["WorkingDir"] == "/app"
    assert "4000/tcp" in config["ExposedPorts"]
    health = healthcheck(image, engine, docker_client)
    assert any("/health/liveliness" in part for part in health.get("Test", [])), dump(health)
    labels = config.get("Labels") or {}
    for name in ("title", "description", "version", "revision", "licenses", "base.name"):
        assert labels.get(f"org.opencontainers.image.{name}"), f"label org.opencontainers.image.{name}: {labels}"
    assert "LITELLM_LOCAL_MODEL_COST_MAP=True" in config["Env"]


# --- the running stack ---------------------------------------------------------------------------


# the mount options of the root file system as the process sees it (the last mount on / wins)
ROOT_MOUNT = "print([line.split()[5] for line in open('/proc/self/mountinfo') if line.split()[4] == '/'][-1])"


def process_uid(proxy: Any) -> tuple[int, int]:
    result = proxy.exec(["python", "-c", "import os; print(os.getuid(), os.getgid())"])
    assert result.exit_code == 0, result.output
    uid, gid = (int(value) for value in result.output.decode().split())
    return uid, gid


def test_runs_as_non_root(stack: Stack) -> None:
    assert process_uid(stack.proxy) == (UID, UID)
    # and the root file system is read-only: only /tmp takes writes
    mounted = stack.proxy.exec(["python", "-c", ROOT_MOUNT])
    assert "ro" in mounted.output.decode().strip().split(","), mounted.output
    probe = "import pathlib, sys; pathlib.Path(sys.argv[1]).write_text('x')"
    assert stack.proxy.exec(["python", "-c", probe, "/app/probe"]).exit_code != 0
    assert stack.proxy.exec(["python", "-c", probe, "/tmp/probe"]).exit_code == 0


def test_the_base_environment_is_only_added_to(
    image: str, docker_client: Any, base_distributions: dict[str, str]
) -> None:
    """Every package of the base's Python environment is still there at its version; ours are added."""
    with timed("environment comparison"):
        base, ours = base_distributions, distributions(docker_client, image)
    changed = {name: (version, ours.get(name)) for name, version in base.items() if ours.get(name) != version}
    assert not changed, f"changed from the base (base, image): {changed}"
    assert {"sigil-sdk-litellm", "sigil-sdk", "sigil-litellm-devtools"} <= set(ours) - set(base)


def test_becomes_healthy(stack: Stack, engine: Engine, docker_client: Any) -> None:
    """The image's HEALTHCHECK passes. podman without systemd schedules no health checks: run it once."""
    container_id = stack.proxy.get_wrapped_container().id
    deadline = time.monotonic() + 120
    status = ""
    while time.monotonic() < deadline:
        if engine.name == "podman":
            engine.run("healthcheck", "run", container_id, check=False, timeout=60)
        status = (inspect(docker_client, stack.proxy)["State"].get("Health") or {}).get("Status", "")
        if status == "healthy":
            return
        time.sleep(2)
    raise AssertionError(f"health status {status!r}: {dump(inspect(docker_client, stack.proxy)['State'])}")


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(stack: Stack, name: str) -> None:
    with timed("scenarios"):
        result = SCENARIOS[name](stack.target())
        if pyinspect.isawaitable(result):
            asyncio.run(result)  # type: ignore[arg-type]


def test_generations_land_in_the_tenant(stack: Stack) -> None:
    conv = new_conversation()
    stack.target().client().chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "tenant?"}],
        extra_body={"metadata": {"conversation_id": conv}},
    )
    stack.target().sink.wait_for(1, conversation_id=conv, tenant=TENANT)


def test_no_secret_in_the_logs(stack: Stack) -> None:
    logs = container_logs(stack.proxy)
    assert "sigil: exporting generations to http://sigil-sink:8080" in logs, logs[-3000:]
    assert TOKEN not in logs, "the Sigil token appeared in the proxy's log"
    assert stack.master_key not in logs, "the master key appeared in the proxy's log"


# --- start and stop ------------------------------------------------------------------------------


def test_bad_auth_mode_exits_non_zero_with_the_line(image: str, network: Any, fake_llm: str) -> None:
    env = proxy_env(fake_llm, new_master_key(), SIGIL_AUTH_MODE="bearr")
    with running_proxy(image, network, env, wait=False) as (proxy, _):
        status = proxy.get_wrapped_container().wait(timeout=180)
        logs = container_logs(proxy)
    assert status["StatusCode"] == 3, f"{status}\n{logs[-3000:]}"
    lines = [line for line in logs.splitlines() if line.strip()]
    assert lines[-1] == EXPECTED_BAD_ENV_LINE, logs[-3000:]
    assert logs.count("sigil: invalid configuration") == 1
    assert "Traceback" not in logs
    assert TOKEN not in logs


def test_sigterm_flushes_queued_generations(image: str, network: Any, sink: str, fake_llm: str) -> None:
    """Nothing is exported before the stop (flush interval of an hour); SIGTERM exports it, cleanly."""
    key = new_master_key()
    env = proxy_env(fake_llm, key, SIGIL_FLUSH_INTERVAL="3600")
    reader = SinkReader(sink)
    conv = new_conversation()
    with running_proxy(image, network, env) as (proxy, url):
        reply = (
            Target(url, key, reader)
            .client()
            .chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "flush me"}],
                extra_body={"metadata": {"conversation_id": conv}},
            )
        )
        assert reply.choices[0].message.content
        time.sleep(1)
        assert reader.generations(conversation_id=conv) == [], "exported before the stop"
        wrapped = proxy.get_wrapped_container()
        started = time.monotonic()
        wrapped.stop(timeout=45)  # SIGTERM, SIGKILL after 45 s
        stopped_in = time.monotonic() - started
        wrapped.reload()
        exit_code = wrapped.attrs["State"]["ExitCode"]
        logs = container_logs(proxy)
    [generation] = reader.wait_for(1, conversation_id=conv, timeout=10)
    assert generation["model"]["name"] == "gpt-4o-mini"
    assert exit_code != 137 and stopped_in < 40, f"killed, not stopped ({exit_code}, {stopped_in:.1f}s)\n{logs[-3000:]}"
    assert TOKEN not in logs and key not in logs


# --- the older root layout (docker/prod_entrypoint.sh) ------------------------------------------


def test_the_older_layout_serves_a_chat_into_the_sink(
    legacy_image: str, network: Any, sink: str, fake_llm: str
) -> None:
    key = new_master_key()
    reader = SinkReader(sink)
    conv = new_conversation()
    with timed("legacy-layout chat"), running_proxy(legacy_image, network, proxy_env(fake_llm, key)) as (proxy, url):
        reply = (
            Target(url, key, reader)
            .client()
            .chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "older layout"}],
                extra_body={"metadata": {"conversation_id": conv}},
            )
        )
        assert reply.choices[0].message.content
        [generation] = reader.wait_for(1, conversation_id=conv, tenant=TENANT)
        assert process_uid(proxy) == (UID, UID)
    assert generation["model"]["name"] == "gpt-4o-mini"
