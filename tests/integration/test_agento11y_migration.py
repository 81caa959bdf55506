"""The migration window, for real: exports over ``agento11y.v1`` gRPC reach the mock sink (which records the
schema each generation came by), and a proxy configured by ``AGENTO11Y_*`` names only starts and exports."""

from __future__ import annotations

import uuid
from typing import Any

import openai
import pytest
from fake_llm.testing import FakeLLMProcess
from sigil_devstack.proxy import ProxyProcess
from sigil_mock_sink.testing import SinkProcess
from sigil_sdk import GenerationStart, ModelRef

from sigil_sdk_litellm.proxy.builders import build_client
from sigil_sdk_litellm.proxy.settings.loading import load_settings

pytestmark = pytest.mark.integration

TENANT = "migration"


@pytest.fixture(scope="module")
def sink(tenant_sink: SinkProcess) -> SinkProcess:
    return tenant_sink


def export_one(env: dict[str, str], conversation: str) -> None:
    client = build_client(load_settings(env), drain_timeout=10)
    try:
        with client.start_generation(
            GenerationStart(model=ModelRef(provider="openai", name="m"), conversation_id=conversation)
        ):
            pass
    finally:
        client.shutdown()


@pytest.mark.parametrize(
    ("schema", "protocol", "via"),
    [("agento11y", "grpc", "grpc agento11y.v1"), ("sigil", "grpc", "grpc sigil.v1"), ("agento11y", "http", "http")],
)
def test_each_schema_arrives_and_the_sink_says_which(sink: SinkProcess, schema: str, protocol: str, via: str) -> None:
    conversation = f"schema-{uuid.uuid4().hex[:8]}"
    env = {
        "SIGIL_PROTOCOL": protocol,
        "SIGIL_ENDPOINT": sink.grpc_target if protocol == "grpc" else sink.http_url,
        "SIGIL_INSECURE": "true" if protocol == "grpc" else "false",
        "SIGIL_GRPC_SCHEMA": schema,
        "SIGIL_AUTH_MODE": "tenant",
        "SIGIL_AUTH_TENANT_ID": TENANT,
    }
    export_one(env, conversation)
    [stored] = sink.wait_for_count(1, conversation_id=conversation)
    assert (stored["_via"], stored["_tenant"]) == (via, TENANT)
    assert sink.generation(stored["id"], tenant=TENANT)["_via"] == via
    [summary] = sink.request("GET", f"/api/v1/generations?view=summary&conversation_id={conversation}")["items"]
    assert summary["_via"] == via


def test_a_proxy_configured_by_agento11y_names_only_exports(sink: SinkProcess, fake: FakeLLMProcess) -> None:
    conversation = f"agento11y-{uuid.uuid4().hex[:8]}"
    env = {
        "AGENTO11Y_ENDPOINT": sink.grpc_target,
        "AGENTO11Y_PROTOCOL": "grpc",
        "AGENTO11Y_INSECURE": "true",
        "AGENTO11Y_GRPC_SCHEMA": "agento11y",
        "AGENTO11Y_AUTH_MODE": "tenant",
        "AGENTO11Y_AUTH_TENANT_ID": TENANT,
        "AGENTO11Y_AGENT_NAME": "migrated-gateway",
        "AGENTO11Y_FLUSH_INTERVAL": "0.2",
    }
    with FakeLLMProcess() as fake:
        env.update(OPENAI_API_BASE=fake.base_url, OPENAI_API_KEY="fake-key")
        with ProxyProcess(env=env) as proxy:
            client = openai.OpenAI(base_url=proxy.base_url, api_key=proxy.master_key, max_retries=0, timeout=30)
            response: Any = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "hi"}],
                extra_body={"metadata": {"conversation_id": conversation}},
            )
            assert response.choices[0].message.content == "echo: hi"
            [stored] = sink.wait_for_count(1, conversation_id=conversation)
            output = proxy.output()
    assert (stored["_via"], stored["_tenant"], stored["agent_name"]) == (
        "grpc agento11y.v1",
        TENANT,
        "migrated-gateway",
    )
    assert "sigil: invalid configuration" not in output
    assert "not a setting" not in output
