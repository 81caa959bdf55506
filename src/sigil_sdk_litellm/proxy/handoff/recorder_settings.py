"""The settings a recorder process needs, handed over by its proxy worker as validated plain values.

The worker has validated :class:`~sigil_sdk_litellm.proxy.settings.Settings` already; the recorder process
takes the fields it uses (every setting not declared ``worker_only``) from :data:`HANDOVER_VARIABLE`
instead of validating the environment again, so it never imports pydantic or the settings package
(see docs/memory.md). The values travel in an anonymous in-memory file (memfd: never on disk) whose
descriptor the recorder inherits, not in its environment, where ``/proc/<pid>/environ`` would show the
secrets that were read from files.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sigil_sdk_litellm.proxy.secret import Secret
from sigil_sdk_litellm.proxy.tenants.tenant_map import Tenant, TenantMap

if TYPE_CHECKING:
    from sigil_sdk_litellm.proxy.settings import Settings

# No SIGIL_ prefix: not a setting, and never reported as an unknown one. Its value: a descriptor number.
HANDOVER_VARIABLE = "_SIGIL_RECORDER_SETTINGS_FD"


@dataclass(frozen=True)
class RecorderSettings:
    """The worker's validated values of the fields :meth:`Settings.handed_over` names (every setting not
    declared ``worker_only``), read like ``Settings``; frozen. Each field has the type the settings model
    validated it to (a choice among names as ``str``, a secret as :class:`Secret`); a test keeps the fields
    and ``Settings.handed_over()`` the same."""

    endpoint: str
    protocol: str
    grpc_schema: str
    insecure: bool
    tls_ca_file: Path | None
    headers: dict[str, Secret]
    auth_mode: str
    auth_tenant_id: str
    auth_token: Secret | None
    tenant_map: TenantMap | None
    agent_name: str
    agent_name_metadata_keys: tuple[str, ...]
    agent_version: str
    user_id: str
    conversation_id: str
    tags: dict[str, str]
    extra_metadata: dict[str, Any]
    capture_inputs: bool
    capture_outputs: bool
    content_capture_mode: str
    batch_size: int
    flush_interval: float
    queue_size: int
    max_retries: int
    initial_backoff: float
    max_backoff: float
    buffer_max_items: int
    buffer_max_bytes: int
    spool_dir: Path | None
    spool_max_bytes: int
    shutdown_grace: float
    metrics: str
    debug: bool
    otel_exporter_otlp_endpoint: str
    otel_exporter_otlp_traces_endpoint: str
    otel_exporter_otlp_metrics_endpoint: str
    otel_exporter_otlp_protocol: str
    otel_exporter_otlp_traces_protocol: str
    otel_exporter_otlp_metrics_protocol: str
    otel_exporter_otlp_headers: dict[str, Secret]
    otel_exporter_otlp_certificate: Path | None
    otel_service_name: str
    otel_resource_attributes: dict[str, str]
    otel_traces_exporter: str
    otel_metrics_exporter: str
    otel_traces_sampler: str
    otel_traces_sampler_arg: float
    otel_metric_export_interval: int

    if not TYPE_CHECKING:  # at run time, say why a field is missing; mypy knows the fields already

        def __getattr__(self, name: str) -> Any:
            raise AttributeError(f"{name} is not handed over to the recorder process (worker_only)")

    def names(self) -> tuple[str, ...]:
        """The fields handed over."""
        return tuple(f.name for f in dataclasses.fields(self))

    def model_copy(self, *, update: dict[str, Any]) -> RecorderSettings:
        """A copy with ``update`` applied (the call ``Settings`` answers, so both share one code path)."""
        return dataclasses.replace(self, **update)


_PATH_FIELDS = ("tls_ca_file", "spool_dir", "otel_exporter_otlp_certificate")
_HEADER_FIELDS = ("headers", "otel_exporter_otlp_headers")
_TENANT_FIELDS = ("tenant_id", "auth_mode", "endpoint", "otlp_endpoint")


def handover(settings: Settings) -> str:
    """The JSON text of ``settings`` for :data:`HANDOVER_VARIABLE` (secrets revealed: it is no log)."""
    values: dict[str, Any] = {}
    for name in settings.handed_over():
        value = getattr(settings, name)
        if name in _HEADER_FIELDS:
            value = {header: secret.get_secret_value() for header, secret in value.items()}
        elif name == "auth_token":
            value = _reveal(value)
        elif name == "tenant_map":
            value = None if value is None else {sel: _tenant_values(t) for sel, t in value.routes.items()}
        elif name in _PATH_FIELDS:
            value = None if value is None else str(value)
        values[name] = value
    return json.dumps(values)


def taken_over(text: str) -> RecorderSettings:
    """The settings of a :func:`handover` text."""
    values: dict[str, Any] = json.loads(text)
    for field in _HEADER_FIELDS:
        values[field] = {name: Secret(value) for name, value in values[field].items()}
    values["auth_token"] = _hidden(values["auth_token"])
    routes = values["tenant_map"]
    if routes is not None:
        tenants = {
            selector: Tenant(**{name: entry[name] for name in _TENANT_FIELDS}, token=_hidden(entry["token"]))
            for selector, entry in routes.items()
        }
        values["tenant_map"] = TenantMap(tenants)
    for name in _PATH_FIELDS:
        values[name] = None if values[name] is None else Path(values[name])
    values["agent_name_metadata_keys"] = tuple(values["agent_name_metadata_keys"])
    return RecorderSettings(**values)


def _tenant_values(tenant: Tenant) -> dict[str, Any]:
    return {name: getattr(tenant, name) for name in _TENANT_FIELDS} | {"token": _reveal(tenant.token)}


def _reveal(secret: Any) -> str | None:
    return None if secret is None else str(secret.get_secret_value())


def _hidden(value: str | None) -> Secret | None:
    return None if value is None else Secret(value)


def handover_file(settings: Settings) -> int | None:
    """A descriptor of an in-memory file holding :func:`handover` of ``settings``, for ``pass_fds``
    (None where there is no memfd: the recorder then reads the environment itself)."""
    if not hasattr(os, "memfd_create"):
        return None
    fd = os.memfd_create("sigil-recorder-settings", os.MFD_CLOEXEC)
    view = memoryview(handover(settings).encode())
    while view:
        view = view[os.write(fd, view) :]
    return fd


def read_handover_file(fd: int) -> RecorderSettings:
    """The settings in the inherited descriptor ``fd`` (read from offset 0: every restart reads it again)."""
    try:
        data = os.pread(fd, os.fstat(fd).st_size, 0)
    finally:
        os.close(fd)
    return taken_over(data.decode())
