"""Per-tenant OTLP with the real sink's OTLP receivers: SIGIL_TENANT_MAP's tenants get their spans and
``gen_ai`` metrics under their own credentials, over HTTP/protobuf and gRPC, built as the proxy builds
them (``build_recorder``) and fed LiteLLM events. ``alpha`` shares the main stack (``X-Scope-OrgID``);
``beta`` lives on a stack of its own behind basic auth (its ``endpoint`` and ``otlp_endpoint``), the way
a Grafana Cloud stack takes it; everyone else is the default tenant's. (Through the real proxy:
tests/integration/test_mcp_teams_proxy.py.)"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Iterator

import pytest
from sigil_mock_sink.testing import SinkProcess

from sigil_sdk_litellm.proxy.builders import build_recorder
from sigil_sdk_litellm.proxy.settings.loading import load_settings
from sigil_sdk_litellm.proxy.telemetry import lifecycle, otlp
from tests.support import callback_kwargs, chat_response, mcp_tool_call_kwargs, standard_logging_object

pytestmark = pytest.mark.integration

BETA_TOKEN = "beta-" + secrets.token_hex(12)
TEAMS = {"team-alpha": "alpha", "team-beta": "beta", "team-nobody": "platform"}


@pytest.fixture(scope="module")
def sinks() -> Iterator[tuple[SinkProcess, SinkProcess]]:
    with (
        SinkProcess(auth="tenant") as main,
        SinkProcess(auth="basic", basic_user="beta", basic_password=BETA_TOKEN) as beta,
    ):
        yield main, beta


@pytest.fixture(autouse=True)
def fresh_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(otlp, "_providers", {})
    monkeypatch.setattr(lifecycle, "_registered", [])


def otlp_endpoint(sink: SinkProcess, protocol: str) -> str:
    return sink.otlp_grpc_endpoint if protocol == "grpc" else sink.otlp_http_endpoint


def chat_kwargs(team: str) -> dict[str, object]:
    slo = standard_logging_object(
        litellm_call_id=f"call-{team}", metadata={"user_api_key_team_id": team, "requester_metadata": None}
    )
    return callback_kwargs(slo, litellm_call_id=f"call-{team}")


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_each_tenants_spans_and_metrics_land_in_its_own_tenant(
    sinks: tuple[SinkProcess, SinkProcess], protocol: str
) -> None:
    main, beta = sinks
    main.clear()
    beta.clear()
    tenant_map = {
        "team_id:team-alpha": {"tenant_id": "alpha"},
        "team_id:team-beta": {
            "tenant_id": "beta",
            "token": BETA_TOKEN,  # basic: beta / the token, and X-Scope-OrgID beta, as for its generations
            "endpoint": beta.http_url,
            "otlp_endpoint": otlp_endpoint(beta, protocol),
        },
    }
    settings = load_settings(
        {
            "SIGIL_ENDPOINT": main.http_url,
            "SIGIL_PROTOCOL": "http",
            "SIGIL_AUTH_MODE": "tenant",
            "SIGIL_AUTH_TENANT_ID": "platform",
            "SIGIL_TENANT_MAP": json.dumps(tenant_map),
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint(main, protocol),
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "OTEL_EXPORTER_OTLP_HEADERS": "X-Scope-OrgID=platform",
            "OTEL_METRIC_EXPORT_INTERVAL": "600000",  # read at the stop: metrics arrive only by the flush
        }
    )
    recorder = build_recorder(settings, drain_timeout=10)
    for team in TEAMS:
        recorder.record(mcp_tool_call_kwargs(user_api_key_team_id=team), None, failed=False, redacted=False)
        recorder.record(chat_kwargs(team), chat_response(), failed=False, redacted=False)
    lifecycle.shutdown_within(recorder.shutdown, grace=15)

    for team, tenant in TEAMS.items():
        sink, other = (beta, main) if tenant == "beta" else (main, beta)
        spans = sink.spans(tenant=tenant)
        assert sorted(s["name"] for s in spans) == ["execute_tool echo", "generateText gpt-4o-mini"], (tenant, spans)
        [tool] = [s for s in spans if s["name"] == "execute_tool echo"]
        assert tool["attributes"]["litellm.team_id"] == team
        assert other.spans(tenant=tenant) == []
        durations = sink.metric_points(tenant=tenant, name="gen_ai.client.operation.duration")
        assert durations and all(p["_tenant"] == tenant for p in durations)
        [generation] = sink.generations(tenant=tenant)
        assert generation["id"] == f"call-{team}"
    # every OTLP request was accepted: beta's carried its basic credentials, the others their X-Scope-OrgID
    ok = "otlp grpc OK" if protocol == "grpc" else "otlp http 200"
    for sink in (main, beta):
        requests = sink.stats()["requests"]
        refused = {k: v for k, v in requests.items() if k.startswith("otlp") and k.split()[-1] not in ("200", "OK")}
        assert requests.get(ok) and not refused, requests


def test_refused_tenant_credentials_land_nowhere_else_and_never_show(
    sinks: tuple[SinkProcess, SinkProcess], caplog: pytest.LogCaptureFixture
) -> None:
    """A tenant whose token its stack refuses (401) loses its spans there, never to another tenant; the
    exporters' and our logs name no token."""
    main, beta = sinks
    main.clear()
    beta.clear()
    wrong = "wrong-" + secrets.token_hex(12)
    settings = load_settings(
        {
            "SIGIL_ENDPOINT": main.http_url,
            "SIGIL_PROTOCOL": "http",
            "SIGIL_AUTH_MODE": "tenant",
            "SIGIL_AUTH_TENANT_ID": "platform",
            "SIGIL_TENANT_MAP": json.dumps(
                {"team_id:team-beta": {"tenant_id": "beta", "token": wrong, "otlp_endpoint": beta.otlp_http_endpoint}}
            ),
            "OTEL_EXPORTER_OTLP_ENDPOINT": main.otlp_http_endpoint,
            "OTEL_EXPORTER_OTLP_HEADERS": "X-Scope-OrgID=platform",
            "OTEL_METRICS_EXPORTER": "none",
        }
    )
    with caplog.at_level(logging.DEBUG):
        recorder = build_recorder(settings, drain_timeout=5)
        for team in ("team-beta", "team-nobody"):
            recorder.record(mcp_tool_call_kwargs(user_api_key_team_id=team), None, failed=False, redacted=False)
        lifecycle.shutdown_within(recorder.shutdown, grace=10)
    assert beta.stats()["requests"].get("otlp http 401")  # beta's stack refused it
    assert beta.spans() == [] and main.spans(tenant="beta") == []
    [span] = main.spans(tenant="platform")
    assert span["attributes"]["litellm.team_id"] == "team-nobody"
    basic = base64.b64encode(f"beta:{wrong}".encode()).decode()
    assert "401" in caplog.text  # the exporter said so
    assert wrong not in caplog.text and basic not in caplog.text
