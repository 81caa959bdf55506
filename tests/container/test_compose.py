"""docker-compose.yml under a real engine: ``up`` with no keys and no Sigil account, every service healthy,
then the ``test`` profile's runner (the shared OpenAI-SDK scenarios, inside the compose network) passes,
and a tool call through the proxy's ``/mcp`` reaches the ``mcp-tools`` service and the sink as a tool
execution.

With podman the stack runs under podman-compose, which ignores ``condition: service_healthy``: the test
waits for the services itself and runs each health check once (podman schedules none without systemd).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.container.conftest import ROOT, Engine, free_port, timed, wait_http
from tests.mcp_client import call_tool
from tests.scenarios import SCENARIOS

pytestmark = [pytest.mark.container, pytest.mark.timeout(1500)]


@dataclass
class Compose:
    engine: Engine
    command: list[str]
    project: str
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*self.command, "-p", self.project, "-f", str(ROOT / "docker-compose.yml"), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"compose {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        return done

    def containers(self) -> list[str]:
        listed = self.engine.run(
            "ps", "-a", "--filter", f"label=com.docker.compose.project={self.project}", "--format", "{{.Names}}"
        )
        return [name for name in listed.stdout.split() if name]

    def health(self, name: str) -> str:
        if self.engine.name == "podman":
            self.engine.run("healthcheck", "run", name, check=False, timeout=60)
        [attrs] = json.loads(self.engine.run("inspect", name).stdout)
        return str((attrs["State"].get("Health") or attrs["State"].get("Healthcheck") or {}).get("Status", ""))


def compose_command(engine: Engine) -> list[str]:
    if engine.name == "docker":
        return [engine.cli, "compose"]
    found = shutil.which("podman-compose") or str(Path(sys.executable).with_name("podman-compose"))
    if not Path(found).exists():
        pytest.skip("podman-compose is not installed (pip install podman-compose)")
    return [found]


@pytest.fixture(scope="module")
def stack(engine: Engine, image: str) -> Iterator[tuple[Compose, str, str, str]]:
    """``compose up -d`` on free loopback ports; always ``down`` afterwards. (compose, the master key, the
    sink's URL, the proxy's URL)"""
    proxy_port, sink_port = free_port(), free_port()
    key = "sk-" + secrets.token_hex(32)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SIGIL_", "OPENAI_", "LITELLM_"))},
        **engine.env,
        "PROXY_PORT": str(proxy_port),
        "SINK_PORT": str(sink_port),
        "LITELLM_MASTER_KEY": key,
        "PIP_CERT": engine.pip_cert,
        "BUILDAH_FORMAT": "docker",  # podman-compose builds with podman: keep the HEALTHCHECK
    }
    if engine.base_image:
        env["LITELLM_IMAGE"] = engine.base_image
    project = f"sigiltest{uuid.uuid4().hex[:8]}"
    env["IMAGE_TAG"] = project  # the stack's own tag, removed afterwards
    compose = Compose(engine, compose_command(engine), project, env)
    try:
        with timed("compose up"):
            compose.run("up", "-d", timeout=1200)
            wait_http(f"http://127.0.0.1:{proxy_port}/health/liveliness", 180)
            wait_http(f"http://127.0.0.1:{sink_port}/readyz", 60)
        yield compose, key, f"http://127.0.0.1:{sink_port}", f"http://127.0.0.1:{proxy_port}"
    finally:
        with timed("compose down"):
            compose.run("--profile", "test", "down", "-t", "30", timeout=300, check=False)
            engine.run("rmi", f"localhost/litellm-sigil:{project}", check=False)


def test_every_service_becomes_healthy(stack: tuple[Compose, str, str, str]) -> None:
    compose, *_ = stack
    names = compose.containers()
    assert len(names) == 4, names  # proxy, sigil-sink, fake-llm, mcp-tools; the test runner only with --profile test
    deadline = time.monotonic() + 120
    pending = set(names)
    while pending and time.monotonic() < deadline:
        pending = {name for name in pending if compose.health(name) != "healthy"}
        if pending:
            time.sleep(2)
    assert not pending, f"not healthy: {sorted(pending)}"


def test_the_test_profile_passes(stack: tuple[Compose, str, str, str]) -> None:
    compose, key, *_ = stack
    with timed("compose test profile"):
        done = compose.run("--profile", "test", "run", "--rm", "-T", "test-runner", timeout=600, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    count = len(SCENARIOS)
    assert f"{count}/{count} scenarios passed" in output, output[-3000:]
    assert key not in output


def test_no_secret_in_the_proxy_log(stack: tuple[Compose, str, str, str]) -> None:
    compose, key, *_ = stack
    [proxy] = [name for name in compose.containers() if "proxy" in name]
    logs = compose.engine.run("logs", proxy)
    output = logs.stdout + logs.stderr
    assert "sigil: exporting generations to sigil-sink:4317 over grpc" in output, output[-3000:]
    assert key not in output


def test_an_mcp_tool_call_reaches_the_mcp_service_and_the_sink(stack: tuple[Compose, str, str, str]) -> None:
    """config.yaml's ``devstack`` MCP server is the ``mcp-tools`` service: the proxy reaches it over the
    compose network, and the call is an ``execute_tool`` span at the sink's OTLP receiver."""
    _, key, sink, proxy = stack
    conversation, text = f"compose-mcp-{uuid.uuid4().hex[:8]}", f"hello {uuid.uuid4().hex[:8]}"
    with timed("compose MCP tool call"):
        answer = call_tool(proxy, key, "devstack-echo", {"text": text}, {"x-litellm-session-id": conversation})
        assert answer == (False, f"echo: {text}")
        query = urllib.parse.urlencode({"name": "execute_tool echo"})
        deadline, found = time.monotonic() + 30, []
        while not found and time.monotonic() < deadline:
            with urllib.request.urlopen(f"{sink}/api/v1/spans?{query}", timeout=10) as response:
                spans = json.loads(response.read())["items"]
            found = [s for s in spans if s["attributes"].get("gen_ai.conversation.id") == conversation]
            time.sleep(0 if found else 0.5)
    assert len(found) == 1, spans
    attributes = found[0]["attributes"]
    assert attributes["gen_ai.operation.name"] == "execute_tool"
    assert attributes["litellm.mcp.server.name"] == "devstack"
    assert json.loads(attributes["gen_ai.tool.call.arguments"]) == {"text": text}
    assert f"echo: {text}" in attributes["gen_ai.tool.call.result"]
