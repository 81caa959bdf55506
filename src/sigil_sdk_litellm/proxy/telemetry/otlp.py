"""The OpenTelemetry SDK's tracer and meter providers, with its OTLP exporters, from the ``OTEL_*`` settings.

:func:`instruments` gives ``sigil_sdk.ClientConfig`` its ``tracer`` and ``meter``: sigil-sdk then sends a
span per generation, embedding and tool call, and its ``gen_ai.client.*`` histograms, through them.
The providers are this process's own and are never made global: LiteLLM's ``otel`` callback sets the
global tracer provider with its own exporter, and the OpenTelemetry API lets that be set only once,
so each keeps its destination. (A span's parent comes from the context, not from the provider, so
ours still nest under LiteLLM's.) They are built once per process and tenant, the first time its client
is, in whichever process records; unset, nothing of the OpenTelemetry SDK is imported.

Under ``SIGIL_TENANT_MAP`` each tenant's client has providers of its own whose exporters carry that
tenant's credentials (:func:`tenant_fields`), so a team's spans and metrics land in its tenant as its
generations do; the resource is the same for all.

Exports run on the SDK's background threads behind bounded queues (``BatchSpanProcessor``, 2048 spans,
and ``PeriodicExportingMetricReader``): a slow or unreachable receiver costs no request; the SDK drops
spans when the queue is full and logs it. At a stop both are flushed together with the generations,
within one ``SIGIL_SHUTDOWN_GRACE`` (:mod:`.lifecycle`). The exporters get every value we validated
explicitly; what we do not set (``OTEL_EXPORTER_OTLP_TIMEOUT``, ``_COMPRESSION``, ``OTEL_BSP_*``, client
certificates) they read from the environment as usual.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sigil_sdk_litellm.proxy.secret import Secret
from sigil_sdk_litellm.proxy.telemetry import lifecycle
from sigil_sdk_litellm.proxy.tenants.tenant_map import TENANT_HEADERS
from sigil_sdk_litellm.recording import DEFAULT_TENANT

if TYPE_CHECKING:
    from opentelemetry.metrics import Meter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

    from sigil_sdk_litellm.proxy.handoff.recorder_settings import RecorderSettings
    from sigil_sdk_litellm.proxy.settings import Settings

    AnySettings = Settings | RecorderSettings

__all__ = [
    "DEFAULT_SERVICE_NAME",
    "SDK_SCOPE",
    "Providers",
    "active_providers",
    "instruments",
    "signal_endpoint",
    "tenant_fields",
]

logger = logging.getLogger(__name__)

# LiteLLM's otel callback's default service name: both sets of spans under one service
DEFAULT_SERVICE_NAME = "litellm"
_PATHS = {"traces": "/v1/traces", "metrics": "/v1/metrics"}
_SIGNALS = ("traces", "metrics")


def signal_endpoint(settings: AnySettings, signal: str) -> str:
    """Where ``signal`` (``traces`` or ``metrics``) goes, "" when it is off: its own endpoint as given,
    else the common one (with ``/v1/<signal>`` appended over HTTP), if its exporter is not ``none``."""
    exporter = getattr(settings, f"otel_{signal}_exporter")
    own = getattr(settings, f"otel_exporter_otlp_{signal}_endpoint")
    common = settings.otel_exporter_otlp_endpoint
    if exporter == "none" or not (own or common or exporter == "otlp"):
        return ""
    if own:
        return str(own)
    grpc = protocol(settings, signal) == "grpc"
    base = common or ("http://localhost:4317" if grpc else "http://localhost:4318")  # the spec's defaults
    return str(base) if grpc else str(base).rstrip("/") + _PATHS[signal]


def protocol(settings: AnySettings, signal: str) -> str:
    return str(getattr(settings, f"otel_exporter_otlp_{signal}_protocol") or settings.otel_exporter_otlp_protocol)


def _shown(url: str) -> str:
    """An endpoint for the log: scheme, host, port and path (credentials are refused by the settings anyway)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}{parts.path}"


@dataclass
class Providers:
    """One tenant's tracer and meter providers in this process (either may be None: its signal is off)."""

    tracer_provider: TracerProvider | None
    meter_provider: MeterProvider | None
    grace: float

    def __post_init__(self) -> None:
        self._done = threading.Event()
        self._early: threading.Thread | None = None

    def begin_flush(self) -> None:
        """Start exporting what is queued now, on a background thread, while the generations drain: in
        process every span has ended before the stop, so a Sigil outage that takes the whole grace
        costs no span."""
        if self._early is None and not self._done.is_set():
            self._early = threading.Thread(target=self._flush, args=(self.grace,), name="sigil-otel-flush", daemon=True)
            self._early.start()

    def shutdown(self, deadline: float | None = None) -> None:
        """Export what is queued and stop, by ``deadline`` (``time.monotonic()``; default: ``grace`` from
        now), once; later calls return at once.

        Runs on a daemon thread so that an unreachable receiver (whose exporter retries until its own
        timeout) cannot hold the process beyond the deadline."""
        if self._done.is_set():
            return
        self._done.set()
        budget = self.grace if deadline is None else max(0.0, deadline - time.monotonic())

        def stop() -> None:
            self._flush(budget)
            for provider in (self.tracer_provider, self.meter_provider):
                if provider is not None:
                    try:
                        provider.shutdown()
                    except Exception as exc:  # noqa: BLE001 - the process is stopping; say it, do not raise
                        logger.warning("sigil: stopping OpenTelemetry at exit failed: %s", exc)

        thread = threading.Thread(target=stop, name="sigil-otel-shutdown", daemon=True)
        thread.start()
        thread.join(budget)

    def _flush(self, seconds: float) -> None:
        for provider in (self.tracer_provider, self.meter_provider):
            if provider is not None:
                try:
                    provider.force_flush(int(seconds * 1000))
                except Exception as exc:  # noqa: BLE001 - the process is stopping; say it, do not raise
                    logger.warning("sigil: flushing OpenTelemetry at exit failed: %s", exc)


_lock = threading.Lock()
_providers: dict[str, Providers | None] = {}  # tenant → its providers (None: no signal on)


def active_providers() -> dict[str, Providers]:
    """The providers this process built, by tenant."""
    with _lock:
        return {tenant: providers for tenant, providers in _providers.items() if providers is not None}


def instruments(settings: AnySettings, tenant: str = DEFAULT_TENANT) -> dict[str, Any]:
    """``{"tracer": …, "meter": …}`` for ``ClientConfig`` of ``tenant``'s client (only the signals that are
    on; ``{}`` when none is, and then nothing is imported). ``settings`` are that tenant's (with its
    :func:`tenant_fields`); its providers are built on the first call for it in this process."""
    with _lock:
        if tenant not in _providers:
            _providers[tenant] = _build(settings, tenant)
        providers = _providers[tenant]
    found: dict[str, Any] = {}
    if providers is not None and providers.tracer_provider is not None:
        found["tracer"] = _tracer(providers.tracer_provider)
    if providers is not None and providers.meter_provider is not None:
        found["meter"] = _meter(providers.meter_provider)
    return found


def tenant_fields(settings: AnySettings, auth_headers: dict[str, str], otlp_endpoint: str = "") -> dict[str, Any]:
    """The ``OTEL_*`` fields of a mapped tenant's settings (a ``model_copy`` update): the signals that are
    on here, sent with ``auth_headers`` (the tenant's Sigil credentials, as sigil-sdk writes them) in
    place of the ``Authorization`` / ``X-Scope-OrgID`` of ``OTEL_EXPORTER_OTLP_HEADERS`` (the default
    tenant's), to ``otlp_endpoint`` when the tenant names one (a base URL, like
    ``OTEL_EXPORTER_OTLP_ENDPOINT``). Empty when no signal is on: nothing to build."""
    on = [signal for signal in _SIGNALS if signal_endpoint(settings, signal)]
    if not on:
        return {}
    headers: dict[str, Any] = {
        name: value for name, value in settings.otel_exporter_otlp_headers.items() if name.lower() not in TENANT_HEADERS
    }
    headers.update({name: Secret(value) for name, value in auth_headers.items()})
    update: dict[str, Any] = {"otel_exporter_otlp_headers": headers}
    if otlp_endpoint:
        update["otel_exporter_otlp_endpoint"] = otlp_endpoint
        for signal in _SIGNALS:  # the tenant's base URL for the signals on, the others stay off
            update[f"otel_exporter_otlp_{signal}_endpoint"] = ""
            if signal not in on:
                update[f"otel_{signal}_exporter"] = "none"
    return update


# The scope sigil-sdk names its own tracer and meter with (sigil_sdk.client keeps the name private, so it
# is written here; a unit test keeps the two equal): the spans and metrics are the SDK's, as Sigil expects.
SDK_SCOPE = "github.com/grafana/sigil/sdks/python"


def _tracer(provider: TracerProvider) -> Tracer:
    from sigil_sdk.version import SDK_VERSION

    return provider.get_tracer(SDK_SCOPE, SDK_VERSION)


def _meter(provider: MeterProvider) -> Meter:
    from sigil_sdk.version import SDK_VERSION

    return provider.get_meter(SDK_SCOPE, SDK_VERSION)


def _build(settings: AnySettings, tenant: str) -> Providers | None:
    traces, metrics = signal_endpoint(settings, "traces"), signal_endpoint(settings, "metrics")
    if not (traces or metrics):
        return None
    from opentelemetry.sdk.resources import Resource

    attributes: dict[str, Any] = dict(settings.otel_resource_attributes)
    if settings.otel_service_name:
        attributes["service.name"] = settings.otel_service_name
    attributes.setdefault("service.name", DEFAULT_SERVICE_NAME)
    resource = Resource.create(attributes)
    meter_provider = _meter_provider(settings, metrics, resource) if metrics else None
    providers = Providers(
        _tracer_provider(settings, traces, resource, meter_provider) if traces else None,
        meter_provider,
        grace=settings.shutdown_grace,
    )
    lifecycle.register(providers)  # stopped with the generations (lifecycle.shutdown_within), at exit at the latest
    logger.info(
        "sigil: OpenTelemetry%s: traces %s, metrics %s",
        "" if tenant == DEFAULT_TENANT else f" of tenant {tenant!r}",
        f"to {_shown(traces)} over {protocol(settings, 'traces')}" if traces else "off",
        f"to {_shown(metrics)} over {protocol(settings, 'metrics')}" if metrics else "off",
    )
    return providers


def _exporter_arguments(settings: AnySettings, signal: str, endpoint: str) -> dict[str, Any]:
    headers = {name: value.get_secret_value() for name, value in settings.otel_exporter_otlp_headers.items()}
    certificate = settings.otel_exporter_otlp_certificate
    if protocol(settings, signal) == "grpc":
        import grpc

        arguments: dict[str, Any] = {
            "endpoint": endpoint,
            "insecure": urlsplit(endpoint).scheme.lower() == "http",
            "headers": {name.lower(): value for name, value in headers.items()},  # gRPC metadata keys
        }
        if certificate is not None and not arguments["insecure"]:
            arguments["credentials"] = grpc.ssl_channel_credentials(root_certificates=certificate.read_bytes())
        return arguments
    arguments = {"endpoint": endpoint, "headers": headers}
    if certificate is not None:
        arguments["certificate_file"] = str(certificate)
    return arguments


def _tracer_provider(
    settings: AnySettings, endpoint: str, resource: Any, meter_provider: MeterProvider | None
) -> TracerProvider:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if protocol(settings, "traces") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # type: ignore[assignment]

    provider = TracerProvider(resource=resource, sampler=_sampler(settings))
    # with OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED=true the processor counts the spans its full queue
    # drops (otel.sdk.processor.span.processed, error.type=queue_full) on our meter, so they are exported
    exporter = OTLPSpanExporter(**_exporter_arguments(settings, "traces", endpoint))
    provider.add_span_processor(BatchSpanProcessor(exporter, meter_provider=meter_provider))
    return provider


def _meter_provider(settings: AnySettings, endpoint: str, resource: Any) -> MeterProvider:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    if protocol(settings, "metrics") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # type: ignore[assignment]
            OTLPMetricExporter,
        )

    exporter = OTLPMetricExporter(**_exporter_arguments(settings, "metrics", endpoint))
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=settings.otel_metric_export_interval)
    return MeterProvider(metric_readers=[reader], resource=resource)


def _sampler(settings: AnySettings) -> Any:
    from opentelemetry.sdk.trace import sampling

    name, ratio = settings.otel_traces_sampler, settings.otel_traces_sampler_arg
    root = {
        "always_on": sampling.ALWAYS_ON,
        "always_off": sampling.ALWAYS_OFF,
        "traceidratio": sampling.TraceIdRatioBased(ratio),
    }[name.removeprefix("parentbased_")]
    return sampling.ParentBased(root) if name.startswith("parentbased_") else root
