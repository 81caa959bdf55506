"""The OTEL_* variables: the specification's names and defaults, read like every SIGIL_* one (``_FILE``,
``SIGIL_SECRETS_DIR``), one-line errors that never show the headers, and which signals they turn on."""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from sigil_sdk_litellm.proxy.handoff.recorder_settings import handover, taken_over
from sigil_sdk_litellm.proxy.settings import ConfigError, Settings, environment
from sigil_sdk_litellm.proxy.telemetry.otlp import SDK_SCOPE, protocol, signal_endpoint

SECRET = "Basic%20" + secrets.token_hex(12)
PREFIX = "sigil: invalid configuration: "


@pytest.fixture(autouse=True)
def _no_default_secrets_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(environment, "DEFAULT_SECRETS_DIR", tmp_path / "no-such-default-dir")


def error_of(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    message = str(caught.value)
    assert message.startswith(PREFIX) and "\n" not in message
    return message


def test_unset_turns_nothing_on() -> None:
    settings = Settings.from_env({})
    assert signal_endpoint(settings, "traces") == signal_endpoint(settings, "metrics") == ""
    assert settings.otel_exporter_otlp_protocol == "http/protobuf"  # the specification's default
    assert settings.otel_traces_sampler == "parentbased_always_on" and settings.otel_traces_sampler_arg == 1.0
    assert settings.otel_metric_export_interval == 60000


@pytest.mark.parametrize(
    ("env", "traces", "metrics"),
    [
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://alloy:4318/"},
            "http://alloy:4318/v1/traces",
            "http://alloy:4318/v1/metrics",
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "https://otlp.example:443/otlp", "OTEL_METRICS_EXPORTER": "none"},
            "https://otlp.example:443/otlp/v1/traces",
            "",
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://alloy:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "http://alloy:4317",
            "http://alloy:4317",
        ),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://tempo:4318/v1/traces"}, "http://tempo:4318/v1/traces", ""),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, "http://localhost:4318/v1/traces", ""),
        (
            {"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc"},
            "",
            "http://localhost:4317",
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://alloy:4318", "OTEL_TRACES_EXPORTER": "none"},
            "",
            "http://alloy:4318/v1/metrics",
        ),
    ],
)
def test_which_signals_go_where(env: dict[str, str], traces: str, metrics: str) -> None:
    settings = Settings.from_env(env)
    assert (signal_endpoint(settings, "traces"), signal_endpoint(settings, "metrics")) == (traces, metrics)


def test_a_signal_protocol_overrides_the_common_one() -> None:
    settings = Settings.from_env(
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "HTTP/protobuf"}
    )
    assert (protocol(settings, "traces"), protocol(settings, "metrics")) == ("http/protobuf", "grpc")


def test_headers_and_resource_attributes_are_percent_decoded_pairs() -> None:
    settings = Settings.from_env(
        {
            "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization={SECRET}, X-Scope-OrgID=42",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod,team=ml%20ops",
        }
    )
    headers = {k: v.get_secret_value() for k, v in settings.otel_exporter_otlp_headers.items()}
    assert headers == {"Authorization": SECRET.replace("%20", " "), "X-Scope-OrgID": "42"}
    assert SECRET.split("%20")[1] not in repr(settings)
    assert settings.otel_resource_attributes == {"deployment.environment": "prod", "team": "ml ops"}


def test_headers_come_from_a_file_or_the_secrets_dir(tmp_path: Path) -> None:
    (tmp_path / "h").write_text(f"Authorization={SECRET}\n")
    from_file = Settings.from_env({"OTEL_EXPORTER_OTLP_HEADERS_FILE": str(tmp_path / "h")})
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    (secrets_dir / "OTEL_EXPORTER_OTLP_HEADERS").write_text(f"Authorization={SECRET}")
    from_dir = Settings.from_env({"SIGIL_SECRETS_DIR": str(secrets_dir)})
    for settings in (from_file, from_dir):
        assert settings.otel_exporter_otlp_headers["Authorization"].get_secret_value() == SECRET.replace("%20", " ")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
            "OTEL_EXPORTER_OTLP_PROTOCOL='http/json' — accepted: grpc, http/protobuf",
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "alloy:4318"},
            "OTEL_EXPORTER_OTLP_ENDPOINT='alloy:4318' — accepted: an http://",
        ),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://h:99999"}, "the port is not a number from 1 to 65535"),
        ({"OTEL_TRACES_EXPORTER": "console"}, "OTEL_TRACES_EXPORTER='console' — accepted: otlp, none"),
        ({"OTEL_METRICS_EXPORTER": "prometheus"}, "OTEL_METRICS_EXPORTER='prometheus' — accepted: otlp, none"),
        ({"OTEL_TRACES_SAMPLER": "sometimes"}, "OTEL_TRACES_SAMPLER='sometimes' — accepted: parentbased_always_on"),
        ({"OTEL_TRACES_SAMPLER_ARG": "1.5"}, "OTEL_TRACES_SAMPLER_ARG='1.5' — accepted: a number from 0 to 1"),
        ({"OTEL_METRIC_EXPORT_INTERVAL": "soon"}, "OTEL_METRIC_EXPORT_INTERVAL='soon' — accepted: a whole number"),
        ({"OTEL_RESOURCE_ATTRIBUTES": "just-a-word"}, "OTEL_RESOURCE_ATTRIBUTES='just-a-word' — accepted: key=value"),
        ({"OTEL_EXPORTER_OTLP_CERTIFICATE": "/no/such.pem"}, "OTEL_EXPORTER_OTLP_CERTIFICATE='/no/such.pem'"),
    ],
)
def test_a_wrong_value_is_one_line_naming_the_variable(env: dict[str, str], expected: str) -> None:
    assert expected in error_of(env)


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_EXPORTER_OTLP_HEADERS": f"{SECRET}"},
        {"OTEL_EXPORTER_OTLP_HEADERS": f"Authorization={SECRET},bad header=x"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": f"https://user:{SECRET}@otlp.example"},
    ],
)
def test_a_wrong_header_or_credentials_never_show(env: dict[str, str]) -> None:
    message = error_of(env)
    assert SECRET not in message and SECRET.split("%20")[1] not in message and "(value hidden)" in message


def test_the_recorder_process_is_handed_the_same_otel_settings(tmp_path: Path) -> None:
    (tmp_path / "h").write_text(f"Authorization={SECRET}")
    settings = Settings.from_env(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://alloy:4318",
            "OTEL_EXPORTER_OTLP_HEADERS_FILE": str(tmp_path / "h"),
            "OTEL_SERVICE_NAME": "gw",
            "OTEL_TRACES_SAMPLER": "traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.25",
        }
    )
    handed = taken_over(handover(settings))
    otel = [name for name in Settings.handed_over() if name.startswith("otel_")]
    assert len(otel) == 15
    for name in otel:
        ours, theirs = getattr(handed, name), getattr(settings, name)
        if name == "otel_exporter_otlp_headers":
            assert {k: v.get_secret_value() for k, v in ours.items()} == {
                k: v.get_secret_value() for k, v in theirs.items()
            }
        else:
            assert ours == theirs, name
    assert signal_endpoint(handed, "traces") == "http://alloy:4318/v1/traces"
    assert SECRET.split("%20")[1] not in repr(handed)


def test_the_readme_lists_otel_variables_after_the_sigil_ones() -> None:
    names = list(Settings.variables())
    first_otel = next(i for i, name in enumerate(names) if name.startswith("OTEL_"))
    assert all(name.startswith("SIGIL_") for name in names[:first_otel])
    assert all(name.startswith("OTEL_") for name in names[first_otel:])


def test_unset_imports_no_opentelemetry_sdk() -> None:
    """A client built without OTEL_* loads only the OpenTelemetry API sigil-sdk imports anyway."""
    code = (
        "import sys\n"
        "from sigil_sdk_litellm.proxy.builders import build_client\n"
        "from sigil_sdk_litellm.proxy.settings.loading import load_settings\n"
        "build_client(load_settings({'SIGIL_ENDPOINT': 'localhost:4317'})).shutdown()\n"
        "loaded = [m for m in sys.modules if m.startswith(('opentelemetry.sdk', 'opentelemetry.exporter'))]\n"
        "print(loaded)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert run.stdout.strip() == "[]"


def test_the_scope_is_the_one_sigil_sdk_names_its_tracer_with() -> None:
    """sigil-sdk keeps its instrumentation name private; ours must stay equal to it."""
    import sigil_sdk.client

    assert sigil_sdk.client._instrumentation_name == SDK_SCOPE
