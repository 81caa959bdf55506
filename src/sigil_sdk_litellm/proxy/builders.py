"""Settings → the proxy's export parts: transports, delivery buffers, Sigil clients, recorders.

Every builder takes validated settings (``Settings``, or the ``RecorderSettings`` a recorder process is
handed) and reads nothing else. The recorder process (``SIGIL_RECORDER=process``) builds its client
here, so this module imports neither LiteLLM nor pydantic; :mod:`sigil_sdk_litellm.proxy.bootstrap`
puts the parts together in a proxy worker.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import TYPE_CHECKING, Any, overload

from sigil_sdk import ApiConfig, AuthConfig, Client, ClientConfig, ContentCaptureMode, GenerationExportConfig
from sigil_sdk.config import resolve_config

from sigil_sdk_litellm.mapping import MappingOptions
from sigil_sdk_litellm.proxy.export.delivery import DeliveryExporter
from sigil_sdk_litellm.proxy.export.direct import DirectWriter
from sigil_sdk_litellm.proxy.export.transport import GrpcTransport, HttpTransport, Transport
from sigil_sdk_litellm.proxy.handoff.recorder_settings import HANDOVER_VARIABLE, read_handover_file
from sigil_sdk_litellm.proxy.log_output import PACKAGE_LOGGERS, ensure_log_output
from sigil_sdk_litellm.proxy.metrics import pipeline_metrics
from sigil_sdk_litellm.proxy.telemetry import otlp
from sigil_sdk_litellm.proxy.tenants.router import TenantRouter, split_bound
from sigil_sdk_litellm.proxy.tenants.tenant_map import TENANT_HEADERS
from sigil_sdk_litellm.recording import DEFAULT_TENANT, SdkRecorder

if TYPE_CHECKING:
    # Imported where the environment is read: a recorder process is handed validated values and
    # never loads pydantic (see proxy.handoff.recorder_settings).
    from sigil_sdk_litellm.proxy.handoff.recorder_settings import RecorderSettings
    from sigil_sdk_litellm.proxy.settings import Settings

    AnySettings = Settings | RecorderSettings


def build_transport(settings: AnySettings, headers: dict[str, str]) -> Transport:
    """The wire transport for ``settings``: HTTP(S) JSON or gRPC, TLS verified unless plaintext was chosen."""
    ca_file = str(settings.tls_ca_file) if settings.tls_ca_file is not None else None
    if settings.protocol == "http":
        return HttpTransport(settings.endpoint, headers, ca_file=ca_file)
    return GrpcTransport(
        settings.endpoint, headers, insecure=settings.insecure, ca_file=ca_file, schema=settings.grpc_schema
    )


def export_auth(settings: AnySettings) -> AuthConfig:
    """The SDK's auth of an export: SIGIL_AUTH_MODE with its tenant id and token."""
    token = settings.auth_token.get_secret_value() if settings.auth_token is not None else ""
    tenant = settings.auth_tenant_id
    return AuthConfig(
        mode=settings.auth_mode,
        tenant_id=tenant,
        # Both token fields, whatever the mode: the SDK fills an empty one from SIGIL_AUTH_TOKEN itself.
        bearer_token=token,
        basic_user=tenant if settings.auth_mode == "basic" else "",
        basic_password=token,
    )


def auth_headers(settings: AnySettings) -> dict[str, str]:
    """Every header an export carries: SIGIL_HEADERS plus the auth mode's (a header named in SIGIL_HEADERS
    is kept as given), resolved by the SDK exactly as for its own exporter; nothing read from the environment."""
    export = GenerationExportConfig(headers=given_headers(settings), auth=export_auth(settings))
    resolved = resolve_config(ClientConfig(generation_export=export), env={})
    return dict(resolved.generation_export.headers or {})


def sigil_auth_headers(settings: AnySettings) -> dict[str, str]:
    """The headers of the auth mode alone (``X-Scope-OrgID``, ``Authorization``), resolved by the SDK as
    for its own exporter: a mapped tenant's OTLP credentials."""
    export = GenerationExportConfig(headers={}, auth=export_auth(settings))
    return dict(resolve_config(ClientConfig(generation_export=export), env={}).generation_export.headers or {})


def given_headers(settings: AnySettings) -> dict[str, str]:
    """SIGIL_HEADERS, revealed."""
    return {name: value.get_secret_value() for name, value in settings.headers.items()}


def build_delivery(
    settings: AnySettings, *, drain_timeout: float | None = None, tenant: str = DEFAULT_TENANT
) -> DeliveryExporter:
    """The durable export buffer in front of the transport (:mod:`sigil_sdk_litellm.proxy.export.delivery`);
    ``tenant`` names it."""
    return DeliveryExporter(
        build_transport(settings, auth_headers(settings)),
        max_items=settings.buffer_max_items,
        max_bytes=settings.buffer_max_bytes,
        batch_items=settings.batch_size,
        initial_backoff=settings.initial_backoff,
        max_backoff=settings.max_backoff,
        drain_timeout=settings.shutdown_grace if drain_timeout is None else drain_timeout,
        spooled=settings.spool_dir is not None,
        tenant=tenant,
        metrics=metrics.delivery(tenant) if (metrics := pipeline_metrics(settings.metrics)) is not None else None,
    )


def build_client(
    settings: AnySettings,
    *,
    drain_timeout: float | None = None,
    delivery: DeliveryExporter | None = None,
    label: str = DEFAULT_TENANT,
) -> Client:
    """A ``sigil_sdk.Client`` configured by ``settings`` alone, exporting through the delivery buffer.

    Every field the SDK would otherwise fill from ``SIGIL_*`` variables is set explicitly. (One the
    SDK reads regardless: it merges ``os.environ["SIGIL_TAGS"]`` under the configured tags, which adds
    nothing when the settings were read from ``os.environ``, as in the proxy.) With ``SIGIL_DEBUG``
    the loggers ``sigil_sdk`` and ``sigil_sdk_litellm`` are set to DEBUG. ``label`` names the tenant
    its delivery buffer serves (``DeliveryExporter.tenant``).
    """
    if settings.debug:
        for name in PACKAGE_LOGGERS:
            logging.getLogger(name).setLevel(logging.DEBUG)
    export = GenerationExportConfig(
        protocol=settings.protocol,
        endpoint=settings.endpoint,
        headers=given_headers(settings),
        auth=export_auth(settings),
        insecure=settings.insecure,
        batch_size=settings.batch_size,
        flush_interval=timedelta(seconds=settings.flush_interval),
        queue_size=settings.queue_size,
        max_retries=settings.max_retries,
        initial_backoff=timedelta(seconds=settings.initial_backoff),
        max_backoff=timedelta(seconds=settings.max_backoff),
    )
    config = ClientConfig(
        generation_export=export,
        generation_exporter=delivery or build_delivery(settings, drain_timeout=drain_timeout, tenant=label),
        api=ApiConfig(endpoint=settings.endpoint),
        content_capture=ContentCaptureMode(settings.content_capture_mode),
        agent_name=settings.agent_name,
        agent_version=settings.agent_version,
        user_id=settings.user_id,
        tags=dict(settings.tags),
        ingest_actor="",
        debug=settings.debug,
        use_experimental_otel=False,
        logger=logging.getLogger("sigil_sdk"),
        **otlp.instruments(settings, label),  # OTEL_*: this tenant's tracer and meter in this process, or none
    )
    return Client(config)


# The recorder process of one tenant's spool (SIGIL_SPOOL_DIR with SIGIL_TENANT_MAP) builds that
# tenant's client only. Not SIGIL_*: it is no setting (and would be warned about as one).
RECORDER_TENANT_ENV = "_SIGIL_RECORDER_TENANT"


@overload
def tenant_settings(settings: Settings, tenant_id: str) -> Settings: ...
@overload
def tenant_settings(settings: RecorderSettings, tenant_id: str) -> RecorderSettings: ...
def tenant_settings(settings: AnySettings, tenant_id: str) -> AnySettings:
    """The settings of one tenant's client (``"default"``: the SIGIL_AUTH_* one) under SIGIL_TENANT_MAP:
    its credentials and endpoint, an equal share of the bounds, its own spool directory, and with
    ``OTEL_*`` its spans' and metrics' credentials and endpoint (:func:`otlp.tenant_fields`)."""
    tenant_map = settings.tenant_map
    if tenant_map is None:
        return settings
    parts = len(tenant_map.tenants) + 1
    update: dict[str, Any] = {
        "buffer_max_items": split_bound(settings.buffer_max_items, parts, 1),
        "buffer_max_bytes": split_bound(settings.buffer_max_bytes, parts, 1024),
        "queue_size": split_bound(settings.queue_size, parts, 1),
        "spool_max_bytes": split_bound(settings.spool_max_bytes, parts, 65536),
    }
    if tenant_id == DEFAULT_TENANT:
        return settings.model_copy(update=update)
    tenant = next(t for t in tenant_map.tenants if t.tenant_id == tenant_id)
    if settings.spool_dir is not None:
        from sigil_sdk_litellm.proxy.spool.store import TENANT_SPOOLS  # sqlite3: only a spool needs it

        update["spool_dir"] = settings.spool_dir / TENANT_SPOOLS / tenant_id
    # an Authorization or X-Scope-OrgID in SIGIL_HEADERS is the default tenant's, never another's
    update["headers"] = {name: value for name, value in settings.headers.items() if name.lower() not in TENANT_HEADERS}
    update.update(
        auth_mode=tenant.auth_mode,
        auth_tenant_id=tenant.tenant_id,
        auth_token=tenant.token,
        endpoint=tenant.endpoint or settings.endpoint,
    )
    own = settings.model_copy(update=update)
    otel = otlp.tenant_fields(own, sigil_auth_headers(own), tenant.otlp_endpoint)
    return own.model_copy(update=otel) if otel else own


def build_tenant_router(settings: AnySettings, *, drain_timeout: float | None = None) -> TenantRouter[Client] | None:
    """With ``SIGIL_TENANT_MAP``: one client per tenant plus the default one, each with an equal share
    of the buffer bounds; None without a map."""
    if settings.tenant_map is None:
        return None
    clients = {
        tenant.tenant_id: build_client(
            tenant_settings(settings, tenant.tenant_id), drain_timeout=drain_timeout, label=tenant.tenant_id
        )
        for tenant in settings.tenant_map.tenants
    }
    default = build_client(tenant_settings(settings, DEFAULT_TENANT), drain_timeout=drain_timeout)
    return TenantRouter(default, clients, settings.tenant_map)


def build_recorder(
    settings: AnySettings, *, drain_timeout: float | None = None, tenant: str | None = None
) -> SdkRecorder:
    """A recorder with the handler's options: one real client exporting through the delivery buffer it
    keeps a handle on (the spool waits on it) — ``tenant``'s alone when given — or, with
    SIGIL_TENANT_MAP and no ``tenant``, one client per tenant; generations go past the client where
    the direct writer can take them (the recorder process, the spool's sender)."""
    options = handler_options(settings)
    router = None if tenant is not None else build_tenant_router(settings, drain_timeout=drain_timeout)
    # generations past the client straight into its delivery buffer where the bytes are the same (export.direct)
    writer = DirectWriter()
    if router is not None:
        return SdkRecorder(router.default, options, router=router, writer=writer)
    label = tenant or DEFAULT_TENANT
    own = tenant_settings(settings, label)
    delivery = build_delivery(own, drain_timeout=drain_timeout, tenant=label)
    client = build_client(own, drain_timeout=drain_timeout, delivery=delivery, label=label)
    return SdkRecorder(client, options, delivery=delivery, writer=writer)


def handler_options(settings: AnySettings) -> MappingOptions:
    """The handler's options from ``settings`` (client-level tags travel with the client, so no extra tags)."""
    return MappingOptions(
        capture_inputs=settings.capture_inputs,
        capture_outputs=settings.capture_outputs,
        agent_name=settings.agent_name,
        agent_version=settings.agent_version,
        conversation_id=settings.conversation_id,
        extra_metadata=dict(settings.extra_metadata),
        agent_name_metadata_keys=settings.agent_name_metadata_keys,
    )


def recorder_from_env() -> SdkRecorder:
    """The recorder process's factory: the same settings, a real client, the handler's options.

    The settings are the worker's, handed over in :data:`HANDOVER_VARIABLE` when it started this
    process; without them (a process started by hand) they are read from the environment.
    """
    ensure_log_output()
    handed = os.environ.pop(HANDOVER_VARIABLE, None)
    if handed is None:
        from sigil_sdk_litellm.proxy.settings.loading import load_settings  # pydantic: only then

        settings: AnySettings = load_settings()
    else:
        settings = read_handover_file(int(handed))
    # finish (and exit) a little before the proxy worker stops waiting for this process
    drain = max(1.0, settings.shutdown_grace - 2.0)
    return build_recorder(settings, drain_timeout=drain, tenant=os.environ.get(RECORDER_TENANT_ENV) or None)
