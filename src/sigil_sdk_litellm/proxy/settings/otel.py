"""The OpenTelemetry variables (``OTEL_*``) that send sigil-sdk's spans and ``gen_ai`` metrics over OTLP.

Their names, values and defaults are the OpenTelemetry specification's (``OTEL_EXPORTER_OTLP_*``,
``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER``, …), read and validated
like every ``SIGIL_*`` variable (``_FILE``, ``SIGIL_SECRETS_DIR``, one line naming a wrong one) rather
than left to the OpenTelemetry SDK, which warns and falls back. :class:`OtelFields` is a base of
``Settings``; :mod:`sigil_sdk_litellm.proxy.telemetry` builds the providers from it. Nothing is on
unless an endpoint (or an exporter) is named.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from pydantic import BaseModel, BeforeValidator, SecretStr

from sigil_sdk_litellm.proxy.settings import values
from sigil_sdk_litellm.proxy.settings.errors import invalid
from sigil_sdk_litellm.proxy.settings.fields import accepted_one_of, setting

__all__ = ["OtelExporter", "OtelFields", "OtlpProtocol", "Sampler"]

OtlpProtocol = Literal["grpc", "http/protobuf"]
OtelExporter = Literal["otlp", "none"]
Sampler = Literal[
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
    "always_on",
    "always_off",
    "traceidratio",
]

_KEY = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_URL_ACCEPTED = "accepted: an http:// or https:// URL with a host, e.g. http://alloy:4318"


def _pairs(text: str, *, what: str, secret: bool) -> dict[str, str]:
    """``key=value`` pairs separated by commas, values percent-decoded (W3C Baggage, as the spec says)."""
    pairs: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not _KEY.fullmatch(key):
            raise invalid(f"{what} {len(pairs) + 1} is not key=value", hide_value=secret)
        pairs[key] = unquote(raw.strip())
    return pairs


def otlp_headers(value: Any) -> Any:
    if isinstance(value, str):
        return {key: SecretStr(v) for key, v in _pairs(value, what="pair", secret=True).items()}
    return value


def resource_attributes(value: Any) -> Any:
    if isinstance(value, str):
        return _pairs(value, what="attribute", secret=False)
    return value


def _optional_one_of(choices: Any) -> Any:
    parse = values.one_of(choices)
    return lambda value: "" if isinstance(value, str) and not value.strip() else parse(value)


class OtelFields(BaseModel):
    """The ``OTEL_*`` fields of ``Settings`` (a base, so that one model still declares every variable)."""

    otel_exporter_otlp_endpoint: Annotated[str, BeforeValidator(values.otlp_url)] = setting(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "",
        "OTLP endpoint of sigil-sdk's spans (a span per generation, embedding and tool call) and `gen_ai.client.*` "
        "metrics, e.g. Grafana Alloy or Grafana Cloud's OTLP gateway: with `http/protobuf` the base URL "
        "(`/v1/traces`, `/v1/metrics` are appended), with `grpc` the server's URL (`http://` is plaintext). Unset "
        "(and no variant below): no OpenTelemetry is set up and nothing is added to a request.",
        accepted=_URL_ACCEPTED,
    )
    otel_exporter_otlp_traces_endpoint: Annotated[str, BeforeValidator(values.otlp_url)] = setting(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "",
        "OTLP endpoint of the spans alone, used as given (no path appended); turns traces on by itself.",
        accepted=_URL_ACCEPTED,
    )
    otel_exporter_otlp_metrics_endpoint: Annotated[str, BeforeValidator(values.otlp_url)] = setting(
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "",
        "OTLP endpoint of the metrics alone, used as given (no path appended); turns metrics on by itself.",
        accepted=_URL_ACCEPTED,
    )
    otel_exporter_otlp_protocol: Annotated[OtlpProtocol, BeforeValidator(values.one_of(OtlpProtocol))] = setting(
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "http/protobuf",
        "OTLP transport: `http/protobuf` (the specification's default) or `grpc`.",
        accepted=accepted_one_of(OtlpProtocol),
    )
    otel_exporter_otlp_traces_protocol: Annotated[
        OtlpProtocol | Literal[""], BeforeValidator(_optional_one_of(OtlpProtocol))
    ] = setting(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "",
        "OTEL_EXPORTER_OTLP_PROTOCOL for the spans alone.",
        accepted=accepted_one_of(OtlpProtocol),
    )
    otel_exporter_otlp_metrics_protocol: Annotated[
        OtlpProtocol | Literal[""], BeforeValidator(_optional_one_of(OtlpProtocol))
    ] = setting(
        "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
        "",
        "OTEL_EXPORTER_OTLP_PROTOCOL for the metrics alone.",
        accepted=accepted_one_of(OtlpProtocol),
    )
    otel_exporter_otlp_headers: Annotated[dict[str, SecretStr], BeforeValidator(otlp_headers)] = setting(
        "OTEL_EXPORTER_OTLP_HEADERS",
        {},
        "Headers on every OTLP export, `key=value` pairs separated by commas, values percent-encoded (Grafana "
        "Cloud: `Authorization=Basic%20<base64 of instance id:token>`). With `SIGIL_TENANT_MAP` their "
        "`Authorization` and `X-Scope-OrgID` are the default tenant's only. Treated as secrets: never logged or "
        "shown; prefer `OTEL_EXPORTER_OTLP_HEADERS_FILE` or `SIGIL_SECRETS_DIR`.",
        accepted="accepted: key=value pairs separated by commas, e.g. Authorization=Basic%20dXNlcjp0b2tlbg==",
        secret=True,
    )
    otel_exporter_otlp_certificate: Annotated[Path | None, BeforeValidator(values.ca_file)] = setting(
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        None,
        "PEM file of the CA certificates that verify the OTLP endpoint's TLS certificate, instead of the system's.",
        accepted="accepted: a readable PEM file of CA certificates",
    )
    otel_service_name: str = setting(
        "OTEL_SERVICE_NAME",
        "",
        "`service.name` of the spans and metrics; unset: the one in OTEL_RESOURCE_ATTRIBUTES, else `litellm` "
        "(the name LiteLLM's own `otel` callback uses, so both land under one service).",
        accepted="accepted: any text",
    )
    otel_resource_attributes: Annotated[dict[str, str], BeforeValidator(resource_attributes)] = setting(
        "OTEL_RESOURCE_ATTRIBUTES",
        {},
        "Resource attributes of the spans and metrics, `key=value` pairs separated by commas (percent-encoded "
        "values), e.g. `deployment.environment=prod`.",
        accepted="accepted: key=value pairs separated by commas, e.g. deployment.environment=prod,team=ml",
    )
    otel_traces_exporter: Annotated[OtelExporter | Literal[""], BeforeValidator(_optional_one_of(OtelExporter))] = (
        setting(
            "OTEL_TRACES_EXPORTER",
            "",
            "`otlp` or `none`; unset: `otlp` when an endpoint is set. `none` keeps spans in the process (none made).",
            accepted=accepted_one_of(OtelExporter),
        )
    )
    otel_metrics_exporter: Annotated[OtelExporter | Literal[""], BeforeValidator(_optional_one_of(OtelExporter))] = (
        setting(
            "OTEL_METRICS_EXPORTER",
            "",
            "`otlp` or `none`; unset: `otlp` when an endpoint is set.",
            accepted=accepted_one_of(OtelExporter),
        )
    )
    otel_traces_sampler: Annotated[Sampler, BeforeValidator(values.one_of(Sampler))] = setting(
        "OTEL_TRACES_SAMPLER",
        "parentbased_always_on",
        "Which spans are kept: the specification's samplers (`parentbased_*` follow the request's sampling "
        "decision when it has a trace).",
        accepted=accepted_one_of(Sampler),
    )
    otel_traces_sampler_arg: float = setting(
        "OTEL_TRACES_SAMPLER_ARG",
        1.0,
        "The ratio of the `*traceidratio` samplers.",
        accepted="accepted: a number from 0 to 1, e.g. 0.25",
        ge=0,
        le=1,
        allow_inf_nan=False,
    )
    otel_metric_export_interval: int = setting(
        "OTEL_METRIC_EXPORT_INTERVAL",
        60000,
        "Milliseconds between two exports of the metrics.",
        accepted="accepted: a whole number of milliseconds ≥ 1",
        ge=1,
    )
