"""The distribution end to end: ``litellm --config config/config.yaml`` with ``sigil_callback``, the fake
upstream and the mock sink as real processes on loopback, driven by the official OpenAI client.

Every protocol and auth mode combination runs against a sink that enforces that mode; the full scenario set runs
for HTTP and gRPC with tenant auth, a smoke scenario for the other combinations.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fake_llm.testing import FakeLLMProcess
from sigil_devstack.proxy import ProxyProcess
from sigil_mock_sink.testing import SinkProcess

from tests.mcp_client import call_tool
from tests.scenarios import SCENARIOS, SinkReader, Target, new_conversation, scenario_sync_chat

pytestmark = pytest.mark.integration

TENANT = "e2e-tenant"
TOKEN = "sigil-" + secrets.token_hex(16)


@dataclass(frozen=True)
class Combo:
    protocol: str
    auth: str
    recorder: str = "process"

    @property
    def id(self) -> str:
        return f"{self.protocol}-{self.auth}-{self.recorder}"


# the full scenario set once per protocol, and once per recorder placement
FULL = [Combo("http", "tenant"), Combo("grpc", "tenant", "inprocess")]
SMOKE = [Combo(p, a) for p in ("http", "grpc") for a in ("none", "bearer", "basic")]


def sink_args(auth: str) -> dict[str, str]:
    if auth == "bearer":
        return {"auth": "bearer", "bearer_token": TOKEN}
    if auth == "basic":
        return {"auth": "basic", "basic_user": TENANT, "basic_password": TOKEN}
    return {"auth": auth}


def proxy_env(combo: Combo, sink: SinkProcess, fake: FakeLLMProcess, **extra: str) -> dict[str, str]:
    endpoint = sink.http_url if combo.protocol == "http" else sink.grpc_target
    env = {
        "SIGIL_ENDPOINT": endpoint,
        "SIGIL_PROTOCOL": combo.protocol,
        "SIGIL_INSECURE": "true",
        "SIGIL_AUTH_MODE": combo.auth,
        "SIGIL_RECORDER": combo.recorder,
        "SIGIL_FLUSH_INTERVAL": "0.2",
        "OPENAI_API_BASE": fake.base_url,
        "OPENAI_API_KEY": "fake-key",
    }
    if combo.auth in ("tenant", "basic"):
        env["SIGIL_AUTH_TENANT_ID"] = TENANT
    if combo.auth in ("bearer", "basic"):
        env["SIGIL_AUTH_TOKEN"] = TOKEN
    env.update(extra)
    return env


@contextlib.contextmanager
def running_stack(combo: Combo, fake: FakeLLMProcess) -> Iterator[Target]:
    """Sink (enforcing the combo's auth) + proxy; afterwards, no secret may have reached the proxy log."""
    with SinkProcess(**sink_args(combo.auth)) as sink, ProxyProcess(env=proxy_env(combo, sink, fake)) as proxy:
        yield Target(proxy.base_url, proxy.master_key, SinkReader(sink.http_url))
        output = proxy.output()
    assert TOKEN not in output, "the Sigil token appeared in the proxy's output"
    assert proxy.master_key not in output, "the master key appeared in the proxy's output"


@pytest.fixture(scope="module", params=FULL, ids=lambda c: c.id)
def full_stack(request: pytest.FixtureRequest, fake: FakeLLMProcess) -> Iterator[tuple[Combo, Target]]:
    with running_stack(request.param, fake) as target:
        yield request.param, target


# the tests on the shared full stacks run on one worker under `make test` (-n 2 --dist loadgroup)
FULL_STACK_GROUP = pytest.mark.xdist_group("proxy_e2e_full")


@FULL_STACK_GROUP
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(full_stack: tuple[Combo, Target], name: str) -> None:
    _, target = full_stack
    result = SCENARIOS[name](target)
    if inspect.isawaitable(result):
        asyncio.run(result)  # type: ignore[arg-type]


def assert_tenant(combo: Combo, target: Target) -> None:
    conv = new_conversation()
    target.client().chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "tenant?"}],
        extra_body={"metadata": {"conversation_id": conv}},
    )
    target.sink.wait_for(1, conversation_id=conv)
    expected = "fake" if combo.auth in ("none", "bearer") else TENANT
    assert len(target.sink.generations(conversation_id=conv, tenant=expected)) == 1


@FULL_STACK_GROUP
def test_generations_land_in_the_configured_tenant(full_stack: tuple[Combo, Target]) -> None:
    assert_tenant(*full_stack)


@FULL_STACK_GROUP
def test_without_its_mcp_server_the_proxy_still_serves_and_mcp_answers(full_stack: tuple[Combo, Target]) -> None:
    """config.yaml names the MCP server ``devstack`` at ``mcp-tools:8765``, which only compose and the
    Kubernetes component run; here that name resolves to nothing. The proxy started and serves models
    (the scenarios), and a call of the absent server's tool through ``/mcp`` is a tool error (within the
    client's 30 s timeout)."""
    _, target = full_stack
    is_error, text = call_tool(target.proxy_url, target.master_key, "devstack-echo", {"text": "anyone there?"})
    assert is_error and "not found" in text, text
    scenario_sync_chat(target)


@pytest.mark.parametrize("combo", SMOKE, ids=lambda c: c.id)
def test_every_protocol_and_auth_mode(combo: Combo, fake: FakeLLMProcess) -> None:
    """The sink enforces the mode (wrong or missing credentials are rejected), so arrival proves it."""
    with running_stack(combo, fake) as target:
        scenario_sync_chat(target)
        assert_tenant(combo, target)
