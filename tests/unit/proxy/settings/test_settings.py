"""Settings: every SIGIL_* variable, its default, its parsing, and one-line errors that keep secrets."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError
from sigil_sdk import GenerationExportConfig
from sigil_sdk.config import default_config

from sigil_sdk_litellm.proxy.settings import ConfigError, Settings, environment

TOKEN = "tok-" + secrets.token_hex(12)
HEADER_SECRET = "hdr-" + secrets.token_hex(12)
PREFIX = "sigil: invalid configuration: "


@pytest.fixture(autouse=True)
def _no_default_secrets_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A /run/secrets/sigil on the test machine must not leak into the tests."""
    monkeypatch.setattr(environment, "DEFAULT_SECRETS_DIR", tmp_path / "no-such-default-dir")


def load(env: dict[str, str]) -> Settings:
    return Settings.from_env(env)


def config_error(env: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(env)
    return caught.value


def assert_clean(error: ConfigError, *secret_values: str) -> str:
    """One line, the prefix, no secret anywhere in the error or its chain."""
    message = str(error)
    assert message.startswith(PREFIX)
    assert "\n" not in message and "\r" not in message
    assert error.__cause__ is None and error.__context__ is None
    for value in (TOKEN, HEADER_SECRET, *secret_values):
        for text in (message, repr(error), repr(error.args), repr(error.problems)):
            assert value not in text
    return message


# ---------------------------------------------------------------------------------------------
# Defaults and parsing


def test_defaults_are_the_sdks() -> None:
    settings = load({})
    sdk = default_config()
    export = GenerationExportConfig()
    assert settings.enabled is True
    assert settings.endpoint == sdk.generation_export.endpoint == "localhost:4317"
    assert settings.protocol == sdk.generation_export.protocol == "grpc"
    assert settings.insecure is sdk.generation_export.insecure is False
    assert settings.auth_mode == sdk.generation_export.auth.mode == "none"
    assert settings.headers == {} and settings.tags == {} and settings.extra_metadata == {}
    assert settings.auth_tenant_id == "" and settings.auth_token is None
    assert settings.agent_name == settings.agent_version == settings.user_id == settings.conversation_id == ""
    assert settings.capture_inputs is settings.capture_outputs is True
    assert settings.content_capture_mode == "default"
    assert settings.debug is False
    assert settings.batch_size == export.batch_size
    assert timedelta(seconds=settings.flush_interval) == export.flush_interval
    assert settings.queue_size == export.queue_size
    assert settings.max_retries == export.max_retries
    assert timedelta(seconds=settings.initial_backoff) == export.initial_backoff
    assert timedelta(seconds=settings.max_backoff) == export.max_backoff
    assert settings.secrets_dir == Path("/run/secrets/sigil")


EXAMPLE_CA = Path(__file__).resolve().parents[3] / "data" / "example-ca.pem"

EVERY_VARIABLE = {
    "SIGIL_ENABLED": "true",
    "SIGIL_ENDPOINT": "https://sigil.example.com/api/v1/generations:export",
    "SIGIL_PROTOCOL": "http",
    "SIGIL_GRPC_SCHEMA": " Agento11y ",
    "SIGIL_INSECURE": "yes",
    "SIGIL_TLS_CA_FILE": str(EXAMPLE_CA),
    "SIGIL_HEADERS": f"X-Team=ml, X-Secret={HEADER_SECRET}",
    "SIGIL_AUTH_MODE": "basic",
    "SIGIL_AUTH_TENANT_ID": "123456",
    "SIGIL_AUTH_TOKEN": TOKEN,
    "SIGIL_AGENT_NAME": "gateway",
    "SIGIL_AGENT_NAME_METADATA_KEYS": " agent, agent_id ,agent ",
    "SIGIL_AGENT_VERSION": "1.2.3",
    "SIGIL_USER_ID": "service-user",
    "SIGIL_CONVERSATION_ID": "conv-default",
    "SIGIL_TAGS": "team=ml,env=prod, empty=",
    "SIGIL_EXTRA_METADATA": '{"deployment": "eu-1", "replicas": 3, "nested": {"a": [1, 2]}}',
    "SIGIL_CAPTURE_INPUTS": "false",
    "SIGIL_CAPTURE_OUTPUTS": "0",
    "SIGIL_CONTENT_CAPTURE_MODE": "metadata_only",
    "SIGIL_REDACT_SECRETS": " Lightweight ",
    "SIGIL_BATCH_SIZE": "50",
    "SIGIL_FLUSH_INTERVAL": "0.25",
    "SIGIL_QUEUE_SIZE": "10000",
    "SIGIL_MAX_RETRIES": "0",
    "SIGIL_INITIAL_BACKOFF": "0.5",
    "SIGIL_MAX_BACKOFF": "30",
    "SIGIL_DEBUG": "on",
    "SIGIL_RECORDER": "inprocess",
    "SIGIL_METRICS": "false",
    "SIGIL_BUFFER_MAX_ITEMS": "500",
    "SIGIL_BUFFER_MAX_BYTES": "1048576",
    "SIGIL_SHUTDOWN_GRACE": "12.5",
    # Sigil hooks at the gateway
    "SIGIL_HOOKS_ENABLED": "true",
    "SIGIL_HOOKS_ENDPOINT": "https://sigil-api.example.com:8443",
    "SIGIL_HOOKS_PHASES": " Preflight , POSTFLIGHT",
    "SIGIL_HOOKS_TIMEOUT": "0.75",
    "SIGIL_HOOKS_FAIL_OPEN": "false",
    "SIGIL_HOOKS_MAX_CONCURRENCY": "8",
    "SIGIL_HOOKS_POSTFLIGHT_TIMEOUT": "1.5",
    "SIGIL_HOOKS_POSTFLIGHT_FAIL_OPEN": "true",
    "SIGIL_HOOKS_POSTFLIGHT_MAX_CONCURRENCY": "4",
    "SIGIL_TENANT_MAP": '{"team_alias:search": {"tenant_id": "search"}}',
    # OpenTelemetry (the specification's names)
    "OTEL_EXPORTER_OTLP_ENDPOINT": "https://otlp.example.com/otlp",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://tempo:4318/v1/traces",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://mimir:4317",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "GRPC",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
    "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc",
    "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Basic%20{HEADER_SECRET}",
    "OTEL_EXPORTER_OTLP_CERTIFICATE": str(EXAMPLE_CA),
    "OTEL_SERVICE_NAME": "gateway",
    "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod",
    "OTEL_TRACES_EXPORTER": "otlp",
    "OTEL_METRICS_EXPORTER": "none",
    "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
    "OTEL_TRACES_SAMPLER_ARG": "0.5",
    "OTEL_METRIC_EXPORT_INTERVAL": "15000",
}


def test_every_variable_is_parsed(tmp_path: Path) -> None:
    env = dict(EVERY_VARIABLE, SIGIL_SECRETS_DIR=str(tmp_path), SIGIL_SPOOL_DIR=f" {tmp_path}/spool/new ")
    env["SIGIL_SPOOL_MAX_BYTES"] = "1048576"
    assert set(env) == set(Settings.variables()), "the test sets every variable of Settings"
    settings = load(env)
    assert settings.enabled is True
    assert settings.endpoint == "https://sigil.example.com/api/v1/generations:export"
    assert settings.protocol == "http"
    assert settings.grpc_schema == "agento11y"
    assert settings.insecure is True
    assert settings.tls_ca_file == EXAMPLE_CA
    assert {k: v.get_secret_value() for k, v in settings.headers.items()} == {
        "X-Team": "ml",
        "X-Secret": HEADER_SECRET,
    }
    assert settings.auth_mode == "basic"
    assert settings.auth_tenant_id == "123456"
    assert settings.auth_token is not None and settings.auth_token.get_secret_value() == TOKEN
    assert settings.secrets_dir == tmp_path
    assert (settings.agent_name, settings.agent_version) == ("gateway", "1.2.3")
    assert settings.agent_name_metadata_keys == ("agent", "agent_id")
    assert settings.user_id == "service-user"
    assert settings.conversation_id == "conv-default"
    assert settings.tags == {"team": "ml", "env": "prod", "empty": ""}
    assert settings.extra_metadata == {"deployment": "eu-1", "replicas": 3, "nested": {"a": [1, 2]}}
    assert settings.capture_inputs is False and settings.capture_outputs is False
    assert settings.content_capture_mode == "metadata_only"
    assert settings.redact_secrets == "lightweight"
    assert settings.batch_size == 50
    assert settings.flush_interval == 0.25
    assert settings.queue_size == 10000
    assert settings.max_retries == 0
    assert settings.initial_backoff == 0.5
    assert settings.max_backoff == 30.0
    assert settings.debug is True
    assert settings.recorder == "inprocess"
    assert settings.metrics == "false"
    assert (settings.buffer_max_items, settings.buffer_max_bytes) == (500, 1 << 20)
    assert settings.shutdown_grace == 12.5
    assert settings.spool_dir == tmp_path / "spool" / "new" and settings.spool_dir.is_dir()  # created
    assert settings.spool_max_bytes == 1 << 20
    assert settings.hooks_enabled is True
    assert settings.hooks_endpoint == "https://sigil-api.example.com:8443"
    assert settings.hooks_phases == "preflight,postflight"
    assert (settings.hooks_timeout, settings.hooks_fail_open, settings.hooks_max_concurrency) == (0.75, False, 8)
    assert (
        settings.hooks_postflight_timeout,
        settings.hooks_postflight_fail_open,
        settings.hooks_postflight_max_concurrency,
    ) == (1.5, True, 4)
    assert settings.tenant_map is not None and [t.tenant_id for t in settings.tenant_map.tenants] == ["search"]
    assert settings.otel_exporter_otlp_endpoint == "https://otlp.example.com/otlp"
    assert settings.otel_exporter_otlp_traces_endpoint == "http://tempo:4318/v1/traces"
    assert settings.otel_exporter_otlp_metrics_endpoint == "http://mimir:4317"
    assert settings.otel_exporter_otlp_protocol == "grpc"
    assert settings.otel_exporter_otlp_traces_protocol == "http/protobuf"
    assert settings.otel_exporter_otlp_metrics_protocol == "grpc"
    assert {k: v.get_secret_value() for k, v in settings.otel_exporter_otlp_headers.items()} == {
        "Authorization": f"Basic {HEADER_SECRET}"
    }
    assert settings.otel_exporter_otlp_certificate == EXAMPLE_CA
    assert (settings.otel_service_name, settings.otel_resource_attributes) == (
        "gateway",
        {"deployment.environment": "prod"},
    )
    assert (settings.otel_traces_exporter, settings.otel_metrics_exporter) == ("otlp", "none")
    assert (settings.otel_traces_sampler, settings.otel_traces_sampler_arg) == ("parentbased_traceidratio", 0.5)
    assert settings.otel_metric_export_interval == 15000


def test_values_are_trimmed_case_folded_and_empty_means_unset() -> None:
    settings = load(
        {
            "SIGIL_AUTH_MODE": "  Bearer ",
            "SIGIL_AUTH_TOKEN": f"  {TOKEN}\n",
            "SIGIL_PROTOCOL": "HTTP",
            "SIGIL_CONTENT_CAPTURE_MODE": "Full",
            "SIGIL_ENDPOINT": "   ",
            "SIGIL_BATCH_SIZE": "",
            "SIGIL_TAGS": " , a=1 ,, ",
        }
    )
    assert settings.auth_mode == "bearer"
    assert settings.auth_token == SecretStr(TOKEN)
    assert settings.protocol == "http"
    assert settings.content_capture_mode == "full"
    assert settings.endpoint == "localhost:4317"
    assert settings.batch_size == 100
    assert settings.tags == {"a": "1"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("1", True), ("YES", True), ("on", True), ("false", False), ("0", False), ("No", False)],
)
def test_booleans(raw: str, expected: bool) -> None:
    assert load({"SIGIL_CAPTURE_INPUTS": raw}).capture_inputs is expected


@pytest.mark.parametrize(
    ("endpoint", "protocol"),
    [
        ("localhost:4317", "grpc"),
        ("sigil.example.com:443", "grpc"),
        ("10.0.0.7:4317", "grpc"),
        ("[::1]:4317", "grpc"),
        ("http://127.0.0.1:8080", "grpc"),
        ("https://sigil.example.com", "grpc"),
        ("https://sigil.example.com/", "grpc"),
        ("http://127.0.0.1:8080", "http"),
        ("https://sigil.example.com/prefix/api/v1/generations:export", "http"),
        ("sigil_ingest.internal:8080", "http"),
    ],
)
def test_valid_endpoints(endpoint: str, protocol: str) -> None:
    assert load({"SIGIL_ENDPOINT": endpoint, "SIGIL_PROTOCOL": protocol}).endpoint == endpoint


@pytest.mark.parametrize(
    ("mode", "extra"),
    [
        ("none", {}),
        ("tenant", {"SIGIL_AUTH_TENANT_ID": "42"}),
        ("bearer", {"SIGIL_AUTH_TOKEN": TOKEN}),
        ("basic", {"SIGIL_AUTH_TENANT_ID": "42", "SIGIL_AUTH_TOKEN": TOKEN}),
    ],
)
def test_valid_auth_modes(mode: str, extra: dict[str, str]) -> None:
    assert load({"SIGIL_AUTH_MODE": mode, **extra}).auth_mode == mode


def test_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGIL_AUTH_MODE", "tenant")
    monkeypatch.setenv("SIGIL_AUTH_TENANT_ID", "from-environ")
    assert Settings().auth_tenant_id == "from-environ"
    assert Settings.from_env().auth_tenant_id == "from-environ"
    assert Settings.from_env({}).auth_mode == "none", "an explicit mapping replaces os.environ"


def test_keyword_arguments_override_the_environment() -> None:
    settings = Settings(auth_mode="tenant", auth_tenant_id="kw", _environ={"SIGIL_AUTH_TENANT_ID": "env"})
    assert (settings.auth_mode, settings.auth_tenant_id) == ("tenant", "kw")


def test_settings_are_frozen() -> None:
    settings = load({})
    with pytest.raises(ValidationError):
        settings.endpoint = "elsewhere:1"  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# Every invalid value or combination → one ConfigError line naming the variable


INVALID: list[tuple[str, dict[str, str], str, str]] = [
    # (case id, environment, the variable named, a fragment of the message)
    ("auth-mode-typo", {"SIGIL_AUTH_MODE": "bearr"}, "SIGIL_AUTH_MODE", "accepted: none, tenant, bearer, basic"),
    ("tenant-map", {"SIGIL_TENANT_MAP": '{"team_id:a": {}}'}, "SIGIL_TENANT_MAP", "needs a tenant_id"),
    ("protocol-typo", {"SIGIL_PROTOCOL": "grcp"}, "SIGIL_PROTOCOL", "accepted: grpc, http"),
    ("protocol-https", {"SIGIL_PROTOCOL": "https"}, "SIGIL_PROTOCOL", "'https'"),
    (
        "content-capture-typo",
        {"SIGIL_CONTENT_CAPTURE_MODE": "everything"},
        "SIGIL_CONTENT_CAPTURE_MODE",
        "full, no_tool_content, metadata_only, full_with_metadata_spans",
    ),
    (
        "redact-secrets-typo",
        {"SIGIL_REDACT_SECRETS": "yes"},
        "SIGIL_REDACT_SECRETS",
        "accepted: off, lightweight, full",
    ),
    ("bearer-without-token", {"SIGIL_AUTH_MODE": "bearer"}, "SIGIL_AUTH_TOKEN", "is not set"),
    (
        "basic-without-token",
        {"SIGIL_AUTH_MODE": "basic", "SIGIL_AUTH_TENANT_ID": "42"},
        "SIGIL_AUTH_TOKEN",
        "required by SIGIL_AUTH_MODE=basic",
    ),
    (
        "basic-without-tenant",
        {"SIGIL_AUTH_MODE": "basic", "SIGIL_AUTH_TOKEN": TOKEN},
        "SIGIL_AUTH_TENANT_ID",
        "basic-auth user",
    ),
    ("tenant-without-tenant", {"SIGIL_AUTH_MODE": "tenant"}, "SIGIL_AUTH_TENANT_ID", "required by"),
    ("token-without-mode", {"SIGIL_AUTH_TOKEN": TOKEN}, "SIGIL_AUTH_MODE", "accepted: bearer, basic"),
    (
        "tenant-with-mode-none",
        {"SIGIL_AUTH_MODE": "none", "SIGIL_AUTH_TENANT_ID": "42"},
        "SIGIL_AUTH_MODE",
        "SIGIL_AUTH_MODE='none'",
    ),
    (
        "token-with-line-break",
        {"SIGIL_AUTH_MODE": "bearer", "SIGIL_AUTH_TOKEN": TOKEN[:8] + "\n" + TOKEN[8:]},
        "SIGIL_AUTH_TOKEN",
        "value hidden",
    ),
    (
        "tenant-with-control-character",
        {"SIGIL_AUTH_MODE": "tenant", "SIGIL_AUTH_TENANT_ID": "4\x002"},
        "SIGIL_AUTH_TENANT_ID",
        "control character",
    ),
    ("endpoint-scheme", {"SIGIL_ENDPOINT": "ftp://sigil.example.com"}, "SIGIL_ENDPOINT", "http or https"),
    ("endpoint-no-port", {"SIGIL_ENDPOINT": "localhost"}, "SIGIL_ENDPOINT", "port is missing"),
    ("endpoint-port-zero", {"SIGIL_ENDPOINT": "localhost:0"}, "SIGIL_ENDPOINT", "1 to 65535"),
    ("endpoint-port-large", {"SIGIL_ENDPOINT": "localhost:70000"}, "SIGIL_ENDPOINT", "1 to 65535"),
    ("endpoint-port-word", {"SIGIL_ENDPOINT": "localhost:grpc"}, "SIGIL_ENDPOINT", "1 to 65535"),
    ("endpoint-url-no-host", {"SIGIL_ENDPOINT": "https://:443"}, "SIGIL_ENDPOINT", "no host"),
    ("endpoint-url-empty-port", {"SIGIL_ENDPOINT": "http://host:"}, "SIGIL_ENDPOINT", "port"),
    ("endpoint-space", {"SIGIL_ENDPOINT": "sigil example:443"}, "SIGIL_ENDPOINT", "space"),
    ("endpoint-path-only", {"SIGIL_ENDPOINT": "/api/v1"}, "SIGIL_ENDPOINT", "host:port"),
    ("endpoint-bad-host", {"SIGIL_ENDPOINT": "sig!l:443"}, "SIGIL_ENDPOINT", "host name"),
    ("endpoint-query", {"SIGIL_ENDPOINT": "https://h:1?x=1"}, "SIGIL_ENDPOINT", "query"),
    ("endpoint-ipv6-broken", {"SIGIL_ENDPOINT": "[::1:4317"}, "SIGIL_ENDPOINT", "SIGIL_ENDPOINT='[::1:4317'"),
    (
        "endpoint-credentials",
        {"SIGIL_ENDPOINT": f"https://user:{TOKEN}@sigil.example.com"},
        "SIGIL_ENDPOINT",
        "value hidden",
    ),
    (
        "endpoint-path-with-grpc",
        {"SIGIL_ENDPOINT": "https://sigil.example.com/api/v1/generations:export"},
        "SIGIL_ENDPOINT",
        "SIGIL_PROTOCOL=grpc",
    ),
    ("headers-no-equals", {"SIGIL_HEADERS": f"X-A=1,Bearer {HEADER_SECRET}"}, "SIGIL_HEADERS", "item 2 has no '='"),
    ("headers-no-name", {"SIGIL_HEADERS": f"={HEADER_SECRET}"}, "SIGIL_HEADERS", "no name"),
    ("headers-bad-name", {"SIGIL_HEADERS": f"X Secret={HEADER_SECRET}"}, "SIGIL_HEADERS", "not a valid header name"),
    ("headers-repeated", {"SIGIL_HEADERS": f"X-A={HEADER_SECRET},x-a=2"}, "SIGIL_HEADERS", "repeats"),
    ("tags-no-equals", {"SIGIL_TAGS": "team"}, "SIGIL_TAGS", "SIGIL_TAGS='team'"),
    ("tags-no-key", {"SIGIL_TAGS": "=ml"}, "SIGIL_TAGS", "no name"),
    ("tags-repeated", {"SIGIL_TAGS": "a=1,a=2"}, "SIGIL_TAGS", "'a' appears twice"),
    ("metadata-not-json", {"SIGIL_EXTRA_METADATA": "{deployment: eu}"}, "SIGIL_EXTRA_METADATA", "not JSON"),
    ("metadata-array", {"SIGIL_EXTRA_METADATA": "[1, 2]"}, "SIGIL_EXTRA_METADATA", "JSON array, not an object"),
    ("metadata-string", {"SIGIL_EXTRA_METADATA": '"eu-1"'}, "SIGIL_EXTRA_METADATA", "JSON string"),
    ("metadata-nan", {"SIGIL_EXTRA_METADATA": '{"x": NaN}'}, "SIGIL_EXTRA_METADATA", "NaN"),
    ("batch-size-zero", {"SIGIL_BATCH_SIZE": "0"}, "SIGIL_BATCH_SIZE", "a whole number ≥ 1"),
    ("batch-size-word", {"SIGIL_BATCH_SIZE": "ten"}, "SIGIL_BATCH_SIZE", "SIGIL_BATCH_SIZE='ten'"),
    ("batch-size-fraction", {"SIGIL_BATCH_SIZE": "1.5"}, "SIGIL_BATCH_SIZE", "whole number"),
    ("queue-size-negative", {"SIGIL_QUEUE_SIZE": "-5"}, "SIGIL_QUEUE_SIZE", "≥ 1"),
    ("max-retries-negative", {"SIGIL_MAX_RETRIES": "-1"}, "SIGIL_MAX_RETRIES", "≥ 0"),
    ("flush-interval-zero", {"SIGIL_FLUSH_INTERVAL": "0"}, "SIGIL_FLUSH_INTERVAL", "> 0"),
    ("flush-interval-unit", {"SIGIL_FLUSH_INTERVAL": "1s"}, "SIGIL_FLUSH_INTERVAL", "seconds"),
    ("flush-interval-inf", {"SIGIL_FLUSH_INTERVAL": "inf"}, "SIGIL_FLUSH_INTERVAL", "'inf'"),
    ("flush-interval-nan", {"SIGIL_FLUSH_INTERVAL": "nan"}, "SIGIL_FLUSH_INTERVAL", "'nan'"),
    ("initial-backoff-negative", {"SIGIL_INITIAL_BACKOFF": "-0.1"}, "SIGIL_INITIAL_BACKOFF", "> 0"),
    ("max-backoff-word", {"SIGIL_MAX_BACKOFF": "long"}, "SIGIL_MAX_BACKOFF", "seconds"),
    (
        "max-backoff-below-initial",
        {"SIGIL_INITIAL_BACKOFF": "2", "SIGIL_MAX_BACKOFF": "1"},
        "SIGIL_MAX_BACKOFF",
        "≥ SIGIL_INITIAL_BACKOFF (2)",
    ),
    ("enabled-word", {"SIGIL_ENABLED": "maybe"}, "SIGIL_ENABLED", "true or false"),
    ("insecure-number", {"SIGIL_INSECURE": "2"}, "SIGIL_INSECURE", "SIGIL_INSECURE='2'"),
    ("capture-inputs-typo", {"SIGIL_CAPTURE_INPUTS": "ture"}, "SIGIL_CAPTURE_INPUTS", "true or false"),
    ("capture-outputs-typo", {"SIGIL_CAPTURE_OUTPUTS": "nope"}, "SIGIL_CAPTURE_OUTPUTS", "true or false"),
    ("debug-typo", {"SIGIL_DEBUG": "verbose"}, "SIGIL_DEBUG", "true or false"),
    ("hooks-enabled-typo", {"SIGIL_HOOKS_ENABLED": "yess"}, "SIGIL_HOOKS_ENABLED", "true or false"),
    ("hooks-fail-open-typo", {"SIGIL_HOOKS_FAIL_OPEN": "closed"}, "SIGIL_HOOKS_FAIL_OPEN", "true or false"),
    ("hooks-endpoint-scheme", {"SIGIL_HOOKS_ENDPOINT": "grpc://api:443"}, "SIGIL_HOOKS_ENDPOINT", "http or https"),
    ("hooks-endpoint-path", {"SIGIL_HOOKS_ENDPOINT": "https://api/v1"}, "SIGIL_HOOKS_ENDPOINT", "a path is not used"),
    (
        "hooks-endpoint-credentials",
        {"SIGIL_HOOKS_ENDPOINT": f"https://u:{TOKEN}@api:443"},
        "SIGIL_HOOKS_ENDPOINT",
        "value hidden",
    ),
    ("hooks-phases-unknown", {"SIGIL_HOOKS_PHASES": "preflight,afterwards"}, "SIGIL_HOOKS_PHASES", "postflight"),
    ("hooks-phases-typo", {"SIGIL_HOOKS_PHASES": "preflite"}, "SIGIL_HOOKS_PHASES", "accepted: preflight"),
    ("hooks-phases-empty-list", {"SIGIL_HOOKS_PHASES": ",,"}, "SIGIL_HOOKS_PHASES", "accepted: preflight"),
    ("agent-keys-empty", {"SIGIL_AGENT_NAME_METADATA_KEYS": ","}, "SIGIL_AGENT_NAME_METADATA_KEYS", "metadata keys"),
    ("hooks-timeout-zero", {"SIGIL_HOOKS_TIMEOUT": "0"}, "SIGIL_HOOKS_TIMEOUT", "> 0 and ≤ 60"),
    ("hooks-timeout-large", {"SIGIL_HOOKS_TIMEOUT": "120"}, "SIGIL_HOOKS_TIMEOUT", "> 0 and ≤ 60"),
    ("hooks-timeout-unit", {"SIGIL_HOOKS_TIMEOUT": "500ms"}, "SIGIL_HOOKS_TIMEOUT", "SIGIL_HOOKS_TIMEOUT='500ms'"),
    ("hooks-concurrency-zero", {"SIGIL_HOOKS_MAX_CONCURRENCY": "0"}, "SIGIL_HOOKS_MAX_CONCURRENCY", "1 to 1024"),
    ("hooks-concurrency-word", {"SIGIL_HOOKS_MAX_CONCURRENCY": "many"}, "SIGIL_HOOKS_MAX_CONCURRENCY", "1 to 1024"),
    ("recorder-typo", {"SIGIL_RECORDER": "thread"}, "SIGIL_RECORDER", "accepted: auto, process, inprocess"),
    ("metrics-typo", {"SIGIL_METRICS": "sometimes"}, "SIGIL_METRICS", "accepted: auto, true, false"),
    ("buffer-items-zero", {"SIGIL_BUFFER_MAX_ITEMS": "0"}, "SIGIL_BUFFER_MAX_ITEMS", "≥ 1"),
    ("buffer-bytes-tiny", {"SIGIL_BUFFER_MAX_BYTES": "100"}, "SIGIL_BUFFER_MAX_BYTES", "≥ 1024"),
    ("shutdown-grace-zero", {"SIGIL_SHUTDOWN_GRACE": "0"}, "SIGIL_SHUTDOWN_GRACE", "> 0"),
    (
        "token-and-token-file",
        {"SIGIL_AUTH_MODE": "bearer", "SIGIL_AUTH_TOKEN": TOKEN, "SIGIL_AUTH_TOKEN_FILE": "/etc/hostname"},
        "SIGIL_AUTH_TOKEN_FILE",
        "not both",
    ),
    (
        "token-file-missing",
        {"SIGIL_AUTH_MODE": "bearer", "SIGIL_AUTH_TOKEN_FILE": "/nonexistent/sigil-token"},
        "SIGIL_AUTH_TOKEN_FILE",
        "No such file",
    ),
    ("ca-file-missing", {"SIGIL_TLS_CA_FILE": "/nonexistent/ca.pem"}, "SIGIL_TLS_CA_FILE", "cannot read it"),
    ("ca-file-not-pem", {"SIGIL_TLS_CA_FILE": "/etc/hostname"}, "SIGIL_TLS_CA_FILE", "no PEM certificate"),
    ("secrets-dir-missing", {"SIGIL_SECRETS_DIR": "/nonexistent/sigil"}, "SIGIL_SECRETS_DIR", "existing directory"),
    ("secrets-dir-is-a-file", {"SIGIL_SECRETS_DIR": "/etc/hostname"}, "SIGIL_SECRETS_DIR", "existing directory"),
]


@pytest.mark.parametrize(("env", "variable", "fragment"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_configuration(env: dict[str, str], variable: str, fragment: str) -> None:
    message = assert_clean(config_error(env))
    assert message.startswith(PREFIX + variable), message
    assert fragment in message, message


def test_the_example_message_exactly() -> None:
    error = config_error({"SIGIL_AUTH_MODE": "bearr"})
    assert str(error) == "sigil: invalid configuration: SIGIL_AUTH_MODE='bearr' — accepted: none, tenant, bearer, basic"
    assert [p.variable for p in error.problems] == ["SIGIL_AUTH_MODE"]


def test_several_problems_share_one_line() -> None:
    error = config_error({"SIGIL_PROTOCOL": "udp", "SIGIL_BATCH_SIZE": "x", "SIGIL_HEADERS": f"{HEADER_SECRET}"})
    message = assert_clean(error)
    assert [p.variable for p in error.problems] == ["SIGIL_PROTOCOL", "SIGIL_HEADERS", "SIGIL_BATCH_SIZE"]
    assert message.count("; ") == 2


def test_long_values_are_shortened() -> None:
    message = assert_clean(config_error({"SIGIL_AUTH_MODE": "x" * 5000}))
    assert len(message) < 400


def test_direct_construction_raises_config_error_too() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings(auth_mode="bearer", auth_token=f"{TOKEN}\n", unknown=1, _environ={})
    message = assert_clean(caught.value)
    assert "SIGIL_AUTH_TOKEN (value hidden)" in message
    assert "unknown: not a setting" in message


# ---------------------------------------------------------------------------------------------
# Secrets are never printed


def full_settings() -> Settings:
    return load(dict(EVERY_VARIABLE))


def test_settings_never_show_secrets() -> None:
    settings = full_settings()
    texts = [
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        repr(settings.model_dump()),
        repr(settings.model_dump(mode="json")),
        str(settings.auth_token),
        repr(settings.headers),
        repr(settings.model_json_schema()),
    ]
    for text in texts:
        assert TOKEN not in text and HEADER_SECRET not in text
    assert "**********" in settings.model_dump_json()
    assert "X-Team" in repr(settings), "header names stay visible, only values are masked"


def test_errors_never_show_secrets_even_next_to_other_errors() -> None:
    env = dict(EVERY_VARIABLE, SIGIL_AUTH_TOKEN=TOKEN + "\x07", SIGIL_HEADERS=f"{HEADER_SECRET}", SIGIL_BATCH_SIZE="x")
    error = config_error(env)
    assert_clean(error)
    assert {p.variable for p in error.problems} == {"SIGIL_AUTH_TOKEN", "SIGIL_HEADERS", "SIGIL_BATCH_SIZE"}


# ---------------------------------------------------------------------------------------------
# Introspection and documentation


def test_every_field_is_documented() -> None:
    for name, info in Settings.model_fields.items():
        extra: Any = info.json_schema_extra
        assert extra["env"].startswith(("SIGIL_", "OTEL_")), name
        assert info.description and len(info.description) > 20, name
        assert extra["accepted"].startswith("accepted"), name
    assert next(iter(Settings.variables())) == "SIGIL_ENABLED"
    assert len(set(Settings.variables())) == len(Settings.model_fields)


def test_notices() -> None:
    assert load({}).notices() == []
    bearer = load({"SIGIL_AUTH_MODE": "bearer", "SIGIL_AUTH_TOKEN": TOKEN, "SIGIL_AUTH_TENANT_ID": "42"})
    assert bearer.notices() == [
        "SIGIL_AUTH_TENANT_ID is ignored with SIGIL_AUTH_MODE=bearer "
        "(basic sends tenant and token; or add X-Scope-OrgID to SIGIL_HEADERS)"
    ]
    tenant = load({"SIGIL_AUTH_MODE": "tenant", "SIGIL_AUTH_TOKEN": TOKEN, "SIGIL_AUTH_TENANT_ID": "42"})
    assert ["SIGIL_AUTH_TOKEN is ignored" in n for n in tenant.notices()] == [True]
    assert load({"SIGIL_PROTOCOL": "http", "SIGIL_INSECURE": "true"}).notices() == [
        "SIGIL_INSECURE applies to grpc only: with http the endpoint's scheme decides"
    ]


# ---------------------------------------------------------------------------------------------
# The gRPC schema and the spool directory


def test_grpc_schema() -> None:
    assert load({}).grpc_schema == "sigil"
    assert load({"SIGIL_GRPC_SCHEMA": "AGENTO11Y"}).grpc_schema == "agento11y"
    message = assert_clean(config_error({"SIGIL_GRPC_SCHEMA": "agento11y.v1"}))
    assert message == PREFIX + "SIGIL_GRPC_SCHEMA='agento11y.v1' — accepted: sigil, agento11y"
    assert load({"SIGIL_PROTOCOL": "http", "SIGIL_GRPC_SCHEMA": "agento11y"}).notices() == [
        "SIGIL_GRPC_SCHEMA applies to grpc only: the HTTP export path is the same for both schemas"
    ]


def test_a_spool_directory_that_cannot_be_made_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError) as error:
        load({"SIGIL_SPOOL_DIR": str(blocker / "spool")})
    message = str(error.value)
    assert "SIGIL_SPOOL_DIR" in message and "cannot create it" in message and "\n" not in message
    assert load({"SIGIL_SPOOL_DIR": "  "}).spool_dir is None
