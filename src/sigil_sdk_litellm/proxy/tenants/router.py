"""Routing by ``SIGIL_TENANT_MAP``: an event's trusted key identity → its tenant's client (or spool).

The identity is what the proxy wrote after authenticating the key (:data:`.tenant_map.IDENTITY_FIELDS`),
never what a request says about itself; an event matches by team id, then team alias, then key alias,
anything else goes to the default tenant.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from sigil_sdk_litellm.proxy.tenants.tenant_map import IDENTITY_FIELDS, SELECTORS, TenantMap
from sigil_sdk_litellm.recording import DEFAULT_TENANT


def trusted_identity(event: Any) -> dict[str, str]:
    """The key's identity as the proxy wrote it: selector kind → value (only those present)."""
    if not isinstance(event, dict):
        return {}
    slo = event.get("standard_logging_object")
    metadata = slo.get("metadata") if isinstance(slo, dict) else None
    if not isinstance(metadata, dict):
        return {}
    out: dict[str, str] = {}
    for kind, name in IDENTITY_FIELDS.items():
        value = metadata.get(name)
        if isinstance(value, str) and value.strip():
            out[kind] = value.strip()
    return out


def selector_of(event: Any, routes: Mapping[str, object]) -> str | None:
    """The first selector of ``routes`` the event's trusted identity matches (team id, team alias, key alias)."""
    identity = trusted_identity(event)
    for kind in SELECTORS:
        value = identity.get(kind)
        if value is not None and f"{kind}:{value}" in routes:
            return f"{kind}:{value}"
    return None


C = TypeVar("C")


class TenantRouter(Generic[C]):
    """Routes an event to its tenant's client; the default client takes everything unmatched."""

    def __init__(self, default: C, clients: Mapping[str, C], tenant_map: TenantMap) -> None:
        self.default = default
        self.clients = dict(clients)  # tenant id → client
        self._routes = {selector: tenant.tenant_id for selector, tenant in tenant_map.routes.items()}

    def route(self, event: Any) -> tuple[str, C]:
        """(tenant name, client) for ``event``; the tenant name is ``"default"`` for the default tenant."""
        selector = selector_of(event, self._routes)
        if selector is None:
            return DEFAULT_TENANT, self.default
        tenant_id = self._routes[selector]
        return tenant_id, self.clients[tenant_id]

    def all_clients(self) -> list[C]:
        return [self.default, *self.clients.values()]

    def shutdown(self) -> None:
        """Shut every client down at once: each drains within its own grace, in parallel."""
        clients = self.all_clients()
        with concurrent.futures.ThreadPoolExecutor(len(clients), thread_name_prefix="sigil-tenant-stop") as pool:
            for future in [pool.submit(client.shutdown) for client in clients]:  # type: ignore[attr-defined]
                future.result()

    def __repr__(self) -> str:
        return f"TenantRouter(tenants={[DEFAULT_TENANT, *self.clients]!r})"


def split_bound(total: int, parts: int, minimum: int) -> int:
    """Each of ``parts`` buffers' share of ``total`` (at least ``minimum``)."""
    return max(minimum, total // max(1, parts))
