"""Per-team tenants through the real proxy: LiteLLM's custom auth maps test keys to teams, SIGIL_TENANT_MAP
routes each team's generations to its own tenant (one on a second sink, with basic auth from a token file),
over HTTP and gRPC, in-process and in the recorder process. An outage of that second sink must not delay
the other tenants: their delivery latency is measured with and without it."""

from __future__ import annotations

import json
import secrets
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from fake_llm.testing import FakeLLMProcess
from sigil_devstack.proxy import ProxyProcess
from sigil_mock_sink.testing import SinkProcess

from tests.integration.conftest import ProxyConfig

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BETA_TOKEN = "beta-" + secrets.token_hex(12)
ROUNDS = 6  # alpha requests per phase
CONFIG = """\
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {{model: openai/gpt-4o-mini, api_base: "{api_base}", api_key: x}}
general_settings:
  custom_auth: team_keys_auth.user_api_key_auth
litellm_settings:
  callbacks: sigil_callback.sigil_handler
"""


@pytest.fixture(scope="module")
def main_sink(tenant_sink: SinkProcess) -> SinkProcess:
    return tenant_sink


@pytest.fixture(scope="module")
def beta_sink() -> Iterator[SinkProcess]:
    with SinkProcess(auth="basic", basic_user="beta", basic_password=BETA_TOKEN) as sink:
        yield sink


def endpoint(sink: SinkProcess, protocol: str) -> str:
    return sink.http_url if protocol == "http" else sink.grpc_target


def chat(proxy: ProxyProcess, key: str, **extra: Any) -> str:
    client = openai.OpenAI(base_url=f"{proxy.base_url}/v1", api_key=key, max_retries=0, timeout=60)
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "ping"}], **extra)
    return reply.id


def by_tenant(sink: SinkProcess) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for item in sink.generations():
        out.setdefault(item["_tenant"], set()).add(item.get("response_id", ""))
    return out


def delivery_latencies(sink: SinkProcess, done_at: dict[str, float], timeout: float = 30.0) -> list[float]:
    """Seconds from each reply to its generation's arrival at the sink."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        arrived = {g.get("response_id"): g["_received_at"] for g in sink.generations() if g["_tenant"] == "alpha"}
        if all(ident in arrived for ident in done_at):
            return [arrived[ident] - done for ident, done in done_at.items()]
        time.sleep(0.1)
    raise AssertionError(f"alpha's generations did not all arrive within {timeout}s")


def alpha_round(proxy: ProxyProcess, sink: SinkProcess) -> list[float]:
    done_at: dict[str, float] = {}
    for _ in range(ROUNDS):
        ident = chat(proxy, "sk-team-alpha")
        done_at[ident] = time.time()
        time.sleep(0.05)
    return delivery_latencies(sink, done_at)


@pytest.mark.parametrize(
    ("protocol", "recorder", "spool"),
    [
        ("http", "inprocess", False),
        ("http", "process", False),
        ("grpc", "inprocess", False),
        ("grpc", "process", False),
        ("grpc", "process", True),  # SIGIL_SPOOL_DIR: a spool and recorder process per tenant
    ],
    ids=["http-inprocess", "http-process", "grpc-inprocess", "grpc-process", "grpc-process-spool"],
)
def test_each_team_lands_in_its_tenant_and_an_outage_of_one_does_not_delay_the_others(
    tmp_path: Path,
    proxy_config: ProxyConfig,
    fake: FakeLLMProcess,
    main_sink: SinkProcess,
    beta_sink: SinkProcess,
    protocol: str,
    recorder: str,
    spool: bool,
) -> None:
    main_sink.clear()
    beta_sink.clear()
    beta_sink.clear_faults()
    token_file = tmp_path / "beta-token"
    token_file.write_text(BETA_TOKEN + "\n")
    tenant_map = {
        "team_id:team-alpha": {"tenant_id": "alpha", "auth_mode": "tenant"},
        "team_alias:beta": {
            "tenant_id": "beta",
            "token_file": str(token_file),
            "endpoint": endpoint(beta_sink, protocol),
        },
        "key_alias:gamma-bot": {"tenant_id": "gamma"},
    }
    env = {
        "SIGIL_PROTOCOL": protocol,
        "SIGIL_ENDPOINT": endpoint(main_sink, protocol),
        "SIGIL_INSECURE": "true",
        "SIGIL_AUTH_MODE": "tenant",
        "SIGIL_AUTH_TENANT_ID": "platform",
        "SIGIL_TENANT_MAP": json.dumps(tenant_map),
        "SIGIL_RECORDER": recorder,
        "SIGIL_FLUSH_INTERVAL": "0.2",
        "SIGIL_MAX_BACKOFF": "1",
    }
    if spool:
        (tmp_path / "spool").mkdir()
        env["SIGIL_SPOOL_DIR"] = str(tmp_path / "spool")
    config = proxy_config(tmp_path, fake.base_url, text=CONFIG, helpers=("team_keys_auth.py",))
    with ProxyProcess(config=config, env=env) as proxy:
        beta = [chat(proxy, "sk-team-beta")]
        gamma = chat(proxy, "sk-gamma-bot")
        # a request claiming another team in its own metadata stays with its key's (unmapped) team
        spoofed = chat(
            proxy,
            "sk-nobody",
            extra_body={"metadata": {"user_api_key_team_id": "team-alpha", "team_id": "team-alpha"}},
        )
        healthy = alpha_round(proxy, main_sink)

        beta_sink.set_faults(unavailable=True)
        beta += [chat(proxy, "sk-team-beta") for _ in range(2)]
        outage = alpha_round(proxy, main_sink)
        beta_sink.clear_faults()
        cleared_at = time.time()

        arrived = beta_sink.wait_for_count(len(beta), timeout=30)
        main_sink.wait_for_count(2 * ROUNDS + 2, timeout=30)
        time.sleep(0.5)  # a stray generation would show now
        output = proxy.output()

    main, other = by_tenant(main_sink), by_tenant(beta_sink)
    assert set(main) == {"alpha", "gamma", "platform"}, main
    assert len(main["alpha"]) == 2 * ROUNDS
    assert main["gamma"] == {gamma}
    assert main["platform"] == {spoofed}
    assert other == {"beta": set(beta)}, (other, [g["_tenant"] for g in arrived])
    assert BETA_TOKEN not in output
    # the outage was real while alpha was measured: beta's generations of that time waited for its end
    held = [g["_received_at"] for g in arrived if g.get("response_id") in beta[1:]]
    assert len(held) == 2 and min(held) >= cleared_at - 0.05, (held, cleared_at)

    figures = {
        "healthy_median": statistics.median(healthy),
        "healthy_max": max(healthy),
        "outage_median": statistics.median(outage),
        "outage_max": max(outage),
    }
    shown = json.dumps({name: round(value, 3) for name, value in figures.items()})
    print(f"\ntenant delivery latency, {protocol}/{recorder}{'/spool' if spool else ''} (s): {shown}")
    # a shared sender would hold alpha behind beta's retries (backoff up to SIGIL_MAX_BACKOFF=1 s, forever)
    assert figures["outage_median"] < figures["healthy_median"] + 0.5, figures
    assert figures["outage_max"] < 3.0, figures
