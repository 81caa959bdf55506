"""Per-team tenants: LiteLLM's trusted key identity → a Sigil tenant and its credentials.

``SIGIL_TENANT_MAP`` maps a selector to a tenant::

    {"team_id:7f3c…":    {"tenant_id": "ml", "token_file": "/run/secrets/sigil/ml"},
     "team_alias:search": {"tenant_id": "search", "auth_mode": "tenant"},
     "key_alias:batch":   {"tenant_id": "batch", "token": "…", "endpoint": "https://other:443",
                           "otlp_endpoint": "https://otlp.other:443/otlp"}}

The identity is read from the fields the proxy itself writes after authenticating the key
(``user_api_key_team_id``, ``user_api_key_team_alias``, ``user_api_key_alias`` in the standard
logging payload's metadata; LiteLLM strips those names from a request's own metadata), never from
what a request says about itself. An event matches by team id, then team alias, then key alias;
anything else goes to the default tenant (the ``SIGIL_AUTH_*`` settings). Tenants are fixed at
start: an unknown team never creates a client.

The same credentials carry the tenant's spans and metrics over OTLP (``OTEL_*`` set), to
``otlp_endpoint`` or else the common OTLP endpoint (:func:`sigil_sdk_litellm.proxy.telemetry.otlp.tenant_fields`).

This module parses the map (plain data); :mod:`.router` routes an event by it, and the clients are built by
:mod:`sigil_sdk_litellm.proxy.builders`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sigil_sdk_litellm.proxy.secret import Secret
from sigil_sdk_litellm.recording import DEFAULT_TENANT

# Each tenant is one SDK client with its own delivery buffer and sender thread (and, with OTEL_*, its own
# span and metric export threads: docs/memory.md).
MAX_TENANTS = 32
SELECTORS = ("team_id", "team_alias", "key_alias")
# selector → the trusted field of the logging payload's metadata that holds it
IDENTITY_FIELDS = {
    "team_id": "user_api_key_team_id",
    "team_alias": "user_api_key_team_alias",
    "key_alias": "user_api_key_alias",
}
ENTRY_KEYS = ("tenant_id", "auth_mode", "token", "token_file", "endpoint", "otlp_endpoint")
TENANT_AUTH_MODES = ("tenant", "bearer", "basic")
# The headers that say whose telemetry it is (lower case): in SIGIL_HEADERS and OTEL_EXPORTER_OTLP_HEADERS
# they are the default tenant's only; a mapped tenant's come from its own auth.
TENANT_HEADERS = ("authorization", "x-scope-orgid")
_MAX_MAP_BYTES = 1 << 20
_TENANT_ID = re.compile(r"[A-Za-z0-9!\-_.*'()]{1,150}")
_MAX_TOKEN_BYTES = 64 * 1024

ACCEPTED = (
    "accepted: a JSON object (or the path of a JSON or YAML file holding one) mapping "
    '"team_id:<id>", "team_alias:<alias>" or "key_alias:<alias>" to {"tenant_id", and "token" or '
    f'"token_file", optional "auth_mode" ({", ".join(TENANT_AUTH_MODES)}), "endpoint" and "otlp_endpoint"}}; '
    f"at most {MAX_TENANTS} tenants"
)


class TenantMapError(ValueError):
    """What is wrong with the map, in words that never quote a token."""


@dataclass(frozen=True)
class Tenant:
    """One Sigil tenant: where and how its generations are exported. The token never shows in a repr."""

    tenant_id: str
    auth_mode: str
    token: Secret | None = field(default=None, repr=False)
    endpoint: str = ""  # "" = SIGIL_ENDPOINT
    otlp_endpoint: str = ""  # "" = OTEL_EXPORTER_OTLP_ENDPOINT (and its per-signal variants)


@dataclass(frozen=True)
class TenantMap:
    """Selector (``team_id:…`` / ``team_alias:…`` / ``key_alias:…``) → tenant."""

    routes: Mapping[str, Tenant]

    @property
    def tenants(self) -> tuple[Tenant, ...]:
        """The distinct tenants (several selectors may name the same one)."""
        return tuple(dict.fromkeys(self.routes.values()))

    def __repr__(self) -> str:
        return f"TenantMap({len(self.routes)} selectors, tenants={[t.tenant_id for t in self.tenants]!r})"


def parse_tenant_map(
    raw: str, check_endpoint: Callable[[str], str] = str, check_otlp_endpoint: Callable[[str], str] = str
) -> TenantMap:
    """``SIGIL_TENANT_MAP``'s value: inline JSON, YAML text (from ``SIGIL_TENANT_MAP_FILE``) or a file path.

    ``check_endpoint`` / ``check_otlp_endpoint`` normalise an entry's endpoint / OTLP endpoint (the
    settings' rules for ``SIGIL_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_ENDPOINT``) or raise ``ValueError``.
    """
    text = raw.strip()
    base = Path.cwd()
    if text.startswith("{"):
        data = _load_json(text)
    elif "\n" in text:
        data = _load_yaml(text)
    else:
        path = Path(text)
        base = path.parent
        content = _read(path, _MAX_MAP_BYTES, f"the map file {text!r}")
        if path.suffix.lower() in (".yaml", ".yml"):
            data = _load_yaml(content)
        elif content.lstrip().startswith("{"):
            data = _load_json(content)
        else:
            data = _load_yaml(content)
    return build_tenant_map(data, base=base, check_endpoint=check_endpoint, check_otlp_endpoint=check_otlp_endpoint)


def build_tenant_map(
    data: Any,
    *,
    base: Path,
    check_endpoint: Callable[[str], str] = str,
    check_otlp_endpoint: Callable[[str], str] = str,
) -> TenantMap:
    """The map from parsed data (token files relative to ``base``); raises :class:`TenantMapError`."""
    if not isinstance(data, dict) or not data:
        raise TenantMapError("not a non-empty object")
    routes: dict[str, Tenant] = {}
    by_id: dict[str, Tenant] = {}
    for selector, entry in data.items():
        kind, _, value = str(selector).partition(":")
        if kind not in SELECTORS or not value.strip():
            raise TenantMapError(f"key {_short(selector)} is not team_id:<id>, team_alias:<alias> or key_alias:<alias>")
        tenant = _tenant(f"{kind}:{value.strip()}", entry, base, check_endpoint, check_otlp_endpoint)
        known = by_id.setdefault(tenant.tenant_id, tenant)
        if known != tenant:
            raise TenantMapError(f"tenant {tenant.tenant_id!r} appears with different credentials or endpoints")
        if tenant.tenant_id == DEFAULT_TENANT:
            raise TenantMapError(f"tenant id {DEFAULT_TENANT!r} is reserved for the default tenant")
        routes[f"{kind}:{value.strip()}"] = tenant
    if len(by_id) > MAX_TENANTS:
        raise TenantMapError(f"{len(by_id)} tenants, more than {MAX_TENANTS}")
    return TenantMap(routes)


def _tenant(
    selector: str,
    entry: Any,
    base: Path,
    check_endpoint: Callable[[str], str],
    check_otlp_endpoint: Callable[[str], str],
) -> Tenant:
    where = f"entry {_short(selector)}"
    if not isinstance(entry, dict):
        raise TenantMapError(f"{where} is not an object")
    unknown = sorted(str(key) for key in entry if key not in ENTRY_KEYS)
    if unknown:
        raise TenantMapError(f"{where} has unknown keys {', '.join(_short(k) for k in unknown)}")
    tenant_id = entry.get("tenant_id")
    if not isinstance(tenant_id, str) or not tenant_id.strip() or not tenant_id.isprintable():
        raise TenantMapError(f"{where} needs a tenant_id (one line of text)")
    if not _TENANT_ID.fullmatch(tenant_id.strip()) or tenant_id.strip() in (".", ".."):
        # Sigil's own rule (grafana/dskit); it also names the tenant's spool directory
        raise TenantMapError(f"{where}: tenant_id has characters other than A-Z a-z 0-9 !-_.*'() or is . or ..")
    if "token" in entry and "token_file" in entry:
        raise TenantMapError(f"{where} has both token and token_file")
    token = _token(where, entry, base)
    mode = entry.get("auth_mode", "basic" if token is not None else "tenant")
    if mode not in TENANT_AUTH_MODES:
        raise TenantMapError(f"{where}: auth_mode {_short(mode)} is not one of {', '.join(TENANT_AUTH_MODES)}")
    if mode in ("bearer", "basic") and token is None:
        raise TenantMapError(f"{where}: auth_mode {mode} needs token or token_file")
    endpoint = entry.get("endpoint", "")
    if not isinstance(endpoint, str):
        raise TenantMapError(f"{where}: endpoint is not text")
    if endpoint.strip():
        try:
            endpoint = check_endpoint(endpoint.strip())
        except ValueError as exc:
            raise TenantMapError(f"{where}: endpoint {_short(endpoint)} is not host:port or an http(s) URL") from exc
    otlp_endpoint = entry.get("otlp_endpoint", "")
    if not isinstance(otlp_endpoint, str):
        raise TenantMapError(f"{where}: otlp_endpoint is not text")
    if otlp_endpoint.strip():
        if "@" in otlp_endpoint:  # never quoted: it may hold a password
            raise TenantMapError(f"{where}: otlp_endpoint has credentials in it; give token or token_file instead")
        try:
            otlp_endpoint = check_otlp_endpoint(otlp_endpoint.strip())
        except ValueError as exc:
            raise TenantMapError(
                f"{where}: otlp_endpoint {_short(otlp_endpoint)} is not an http:// or https:// URL with a host"
            ) from exc
    return Tenant(
        tenant_id=tenant_id.strip(),
        auth_mode=mode,
        token=token,
        endpoint=endpoint.strip(),
        otlp_endpoint=otlp_endpoint.strip(),
    )


def _token(where: str, entry: Mapping[str, Any], base: Path) -> Secret | None:
    if "token" in entry:
        value = entry["token"]
        if not isinstance(value, str) or not value.strip():
            raise TenantMapError(f"{where}: token is not a non-empty string")
        text = value.strip()
    elif "token_file" in entry:
        name = entry["token_file"]
        if not isinstance(name, str) or not name.strip():
            raise TenantMapError(f"{where}: token_file is not a path")
        path = base / name.strip()
        text = _read(path, _MAX_TOKEN_BYTES, f"{where}: token_file {str(path)!r}").strip()
        if not text:
            raise TenantMapError(f"{where}: token_file {str(path)!r} is empty")
    else:
        return None
    if not text.isprintable():
        raise TenantMapError(f"{where}: the token contains a line break or another control character")
    return Secret(text)


def _read(path: Path, limit: int, what: str) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise TenantMapError(f"cannot read {what} ({exc.strerror or type(exc).__name__})") from None
    if len(data) > limit:
        raise TenantMapError(f"{what} is larger than {limit // 1024} KiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise TenantMapError(f"{what} is not UTF-8 text") from None


def _load_json(text: str) -> Any:
    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise TenantMapError(f"key {_short(key)} appears twice")
            out[key] = value
        return out

    try:
        return json.loads(text, object_pairs_hook=unique)
    except json.JSONDecodeError as exc:  # its message names a position, never the content
        raise TenantMapError(f"not JSON: {exc.msg} at character {exc.pos}") from None


def _load_yaml(text: str) -> Any:
    try:
        import yaml  # type: ignore[import-untyped,unused-ignore]
    except ImportError:  # pragma: no cover - LiteLLM depends on PyYAML
        raise TenantMapError("YAML needs PyYAML; give JSON instead") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise TenantMapError(f"not YAML: {getattr(exc, 'problem', None) or type(exc).__name__}{at}") from None


def _short(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= 60 else text[:59] + "…")
