"""Per-tenant OTLP (SIGIL_TENANT_MAP with OTEL_*): each mapped tenant's spans and metrics carry its own
Sigil credentials, derived by sigil-sdk exactly as for its generations, to its ``otlp_endpoint`` or the
common one; the default tenant keeps OTEL_EXPORTER_OTLP_HEADERS; every tenant has its own providers
with one resource; nothing is built without OTEL_*; no token shows."""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from sigil_sdk_litellm.proxy.builders import auth_headers, build_recorder, build_tenant_router, tenant_settings
from sigil_sdk_litellm.proxy.handoff.recorder_settings import handover, taken_over
from sigil_sdk_litellm.proxy.settings import Settings
from sigil_sdk_litellm.proxy.telemetry import lifecycle, otlp
from sigil_sdk_litellm.proxy.telemetry.otlp import signal_endpoint

BETA_TOKEN = "beta-" + secrets.token_hex(12)
GAMMA_TOKEN = "gamma-" + secrets.token_hex(12)
DEFAULT_SECRET = "default-" + secrets.token_hex(12)
DELTA_OTLP = "https://otlp.delta.example:4318/otlp"
TENANT_MAP = {
    "team_id:a": {"tenant_id": "alpha"},
    "team_id:b": {"tenant_id": "beta", "token": BETA_TOKEN},
    "team_alias:c": {"tenant_id": "gamma", "auth_mode": "bearer", "token": GAMMA_TOKEN},
    "key_alias:d": {"tenant_id": "delta", "otlp_endpoint": DELTA_OTLP},
}
OTEL = {
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://alloy.example:4318",
    "OTEL_EXPORTER_OTLP_HEADERS": f"authorization=Basic%20{DEFAULT_SECRET},X-Scope-OrgID=platform,X-Env=prod",
}
TENANTS = ("default", "alpha", "beta", "gamma", "delta")


def load(**env: str) -> Settings:
    return Settings.from_env(
        {
            "SIGIL_AUTH_MODE": "tenant",
            "SIGIL_AUTH_TENANT_ID": "platform",
            "SIGIL_TENANT_MAP": json.dumps(TENANT_MAP),
            **env,
        }
    )


def otlp_headers(settings: Any) -> dict[str, str]:
    return {name: value.get_secret_value() for name, value in settings.otel_exporter_otlp_headers.items()}


@pytest.fixture(autouse=True)
def fresh_providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Providers are built once per process and tenant: each test starts without any, and stops its own."""
    monkeypatch.setattr(otlp, "_providers", {})
    monkeypatch.setattr(lifecycle, "_registered", [])
    yield
    lifecycle.shutdown_within(lambda: None, grace=0.5)


@pytest.mark.parametrize("handed_over", [False, True], ids=["worker", "recorder process"])
def test_each_tenants_otlp_headers_are_its_sigil_credentials(handed_over: bool) -> None:
    settings: Any = load(**OTEL)
    if handed_over:
        settings = taken_over(handover(settings))
    basic = base64.b64encode(f"beta:{BETA_TOKEN}".encode()).decode()
    expected = {
        # OTEL_EXPORTER_OTLP_HEADERS as given: the default tenant's
        "default": {"authorization": f"Basic {DEFAULT_SECRET}", "X-Scope-OrgID": "platform", "X-Env": "prod"},
        # its Authorization / X-Scope-OrgID are nobody else's; the other headers are everyone's
        "alpha": {"X-Env": "prod", "X-Scope-OrgID": "alpha"},
        "beta": {"X-Env": "prod", "Authorization": f"Basic {basic}", "X-Scope-OrgID": "beta"},
        "gamma": {"X-Env": "prod", "Authorization": f"Bearer {GAMMA_TOKEN}"},
        "delta": {"X-Env": "prod", "X-Scope-OrgID": "delta"},
    }
    for tenant in TENANTS:
        own = tenant_settings(settings, tenant)
        assert otlp_headers(own) == expected[tenant], tenant
        if tenant != "default":  # the very headers sigil-sdk sends with the tenant's generations
            sigil = auth_headers(own)
            assert {k: v for k, v in otlp_headers(own).items() if k != "X-Env"} == sigil, tenant


@pytest.mark.parametrize(
    ("env", "default", "delta"),
    [
        (
            OTEL,
            ("http://alloy.example:4318/v1/traces", "http://alloy.example:4318/v1/metrics"),
            (f"{DELTA_OTLP}/v1/traces", f"{DELTA_OTLP}/v1/metrics"),
        ),
        (
            {**OTEL, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            ("http://alloy.example:4318", "http://alloy.example:4318"),
            (DELTA_OTLP, DELTA_OTLP),
        ),
        (
            {**OTEL, "OTEL_METRICS_EXPORTER": "none"},
            ("http://alloy.example:4318/v1/traces", ""),
            (f"{DELTA_OTLP}/v1/traces", ""),
        ),
        (
            {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://tempo.example:4318/v1/traces"},
            ("http://tempo.example:4318/v1/traces", ""),
            (f"{DELTA_OTLP}/v1/traces", ""),
        ),
    ],
    ids=["http", "grpc", "metrics off", "traces alone"],
)
def test_a_tenants_otlp_endpoint_replaces_where_not_whether(
    env: dict[str, str], default: tuple[str, str], delta: tuple[str, str]
) -> None:
    settings = load(**env)
    for tenant, expected in (("default", default), ("alpha", default), ("delta", delta)):
        own = tenant_settings(settings, tenant)
        assert (signal_endpoint(own, "traces"), signal_endpoint(own, "metrics")) == expected, tenant


def test_without_otel_no_tenant_has_providers() -> None:
    settings = load()
    for tenant in TENANTS:
        own = tenant_settings(settings, tenant)
        assert otlp_headers(own) == {} and signal_endpoint(own, "traces") == signal_endpoint(own, "metrics") == ""
    router = build_tenant_router(settings, drain_timeout=0.5)
    assert router is not None
    try:
        assert otlp.active_providers() == {}
        assert lifecycle._registered == []
    finally:
        router.shutdown()


def _otel_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("Otel")]


def test_each_tenant_has_its_own_providers_and_the_same_resource(caplog: pytest.LogCaptureFixture) -> None:
    before = _otel_threads()
    with caplog.at_level(logging.INFO):
        router = build_tenant_router(load(**OTEL, OTEL_SERVICE_NAME="gateway"), drain_timeout=0.5)
    assert router is not None
    try:
        built = otlp.active_providers()
        assert sorted(built) == sorted(TENANTS)
        tracers = {id(p.tracer_provider) for p in built.values()}
        meters = {id(p.meter_provider) for p in built.values()}
        assert len(tracers) == len(meters) == len(TENANTS)
        resources = [p.tracer_provider.resource for p in built.values() if p.tracer_provider is not None]
        assert all(r == resources[0] for r in resources) and resources[0].attributes["service.name"] == "gateway"
        assert len(lifecycle._registered) == len(TENANTS)
        # a span processor's and a metric reader's thread per tenant, nothing else
        assert len(_otel_threads()) - len(before) == 2 * len(TENANTS), _otel_threads()
        # the tenants' clients are handed their own tracers, not the default's
        client_tracers = {id(c._tracer) for c in router.all_clients()}
        assert len(client_tracers) == len(TENANTS)
    finally:
        router.shutdown()
    logged = caplog.text
    assert "OpenTelemetry of tenant 'delta': traces to https://otlp.delta.example:4318/otlp/v1/traces" in logged
    for secret in (BETA_TOKEN, GAMMA_TOKEN, DEFAULT_SECRET, base64.b64encode(f"beta:{BETA_TOKEN}".encode()).decode()):
        assert secret not in logged


def test_one_recorder_per_tenant_in_one_process_keeps_each_tenants_providers() -> None:
    """The disk spool in process: a consumer and a recorder per tenant (``build_recorder(tenant=…)``), all
    in the worker; each recorder's client has its own tenant's tracer, not the first one built."""
    settings = load(**OTEL)
    recorders = [build_recorder(settings, drain_timeout=0.5, tenant=tenant) for tenant in TENANTS]
    try:
        assert sorted(otlp.active_providers()) == sorted(TENANTS)
        assert len({id(r.client._tracer) for r in recorders}) == len(TENANTS)
    finally:
        for recorder in recorders:
            recorder.shutdown()


def test_no_tenant_token_shows_in_the_settings_repr() -> None:
    settings = load(**OTEL)
    shown = " ".join(repr(tenant_settings(settings, tenant)) for tenant in TENANTS)
    shown += " ".join(repr(tenant_settings(taken_over(handover(settings)), tenant)) for tenant in TENANTS)
    for secret in (BETA_TOKEN, GAMMA_TOKEN, DEFAULT_SECRET, base64.b64encode(f"beta:{BETA_TOKEN}".encode()).decode()):
        assert secret not in shown
