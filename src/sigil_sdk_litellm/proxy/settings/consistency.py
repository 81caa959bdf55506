"""Checks across settings: combinations that cannot work (errors) and ones probably not meant (notices).

They run on valid fields only: :class:`~sigil_sdk_litellm.proxy.settings.model.Settings` reports field
errors first, as pydantic's ``after`` model validators did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sigil_sdk_litellm.proxy.settings.environment import alias_of
from sigil_sdk_litellm.proxy.settings.errors import SettingProblem

if TYPE_CHECKING:
    from sigil_sdk_litellm.proxy.settings.model import Settings

__all__ = ["inconsistencies", "notices"]


def inconsistencies(settings: Settings, origins: Mapping[str, str]) -> list[SettingProblem]:
    """What makes valid fields a configuration that cannot work; ``origins`` names where values came from."""
    if not settings.enabled:
        return []
    problems: list[SettingProblem] = []
    mode = settings.auth_mode
    if mode in ("tenant", "basic") and not settings.auth_tenant_id:
        why = f"required by SIGIL_AUTH_MODE={mode}"
        if mode == "basic":
            why += " (the tenant id is the basic-auth user)"
        problems.append(SettingProblem.missing("SIGIL_AUTH_TENANT_ID", why))
    if mode in ("bearer", "basic") and settings.auth_token is None:
        problems.append(
            SettingProblem.missing(
                "SIGIL_AUTH_TOKEN",
                f"required by SIGIL_AUTH_MODE={mode}: set it, or SIGIL_AUTH_TOKEN_FILE, "
                "or put a file SIGIL_AUTH_TOKEN in SIGIL_SECRETS_DIR",
            ),
        )
    if mode == "none":
        given = [
            name
            for name, present in (
                ("SIGIL_AUTH_TOKEN", settings.auth_token is not None),
                ("SIGIL_AUTH_TENANT_ID", bool(settings.auth_tenant_id)),
            )
            if present
        ]
        if given:
            # The SDK would export without them, silently: exports rejected, or sent to no tenant.
            if len(given) == 1:
                modes = "bearer, basic" if given == ["SIGIL_AUTH_TOKEN"] else "tenant, basic"
            else:
                modes = "basic, tenant, bearer"
            names = " and ".join(f"{name} (from {origins[name]})" if origins.get(name) else name for name in given)
            why = (
                f"{names} {'is' if len(given) == 1 else 'are'} set but would not be sent; "
                f"accepted: {modes} (or unset {' and '.join(given)})"
            )
            if "auth_mode" in settings.model_fields_set:
                problems.append(SettingProblem("SIGIL_AUTH_MODE", f"SIGIL_AUTH_MODE='none' — {why}"))
            else:
                problems.append(SettingProblem("SIGIL_AUTH_MODE", f"SIGIL_AUTH_MODE is not set (so none) — {why}"))
    if settings.protocol == "grpc" and "://" in settings.endpoint and urlsplit(settings.endpoint).path not in ("", "/"):
        problems.append(
            SettingProblem.invalid(
                "SIGIL_ENDPOINT",
                settings.endpoint,
                "accepted with SIGIL_PROTOCOL=grpc: host:port or a URL without a path "
                "(a path is for SIGIL_PROTOCOL=http)",
            )
        )
    if settings.max_backoff < settings.initial_backoff:
        problems.append(
            SettingProblem.invalid(
                "SIGIL_MAX_BACKOFF",
                f"{settings.max_backoff:g}",
                f"accepted: a number of seconds ≥ SIGIL_INITIAL_BACKOFF ({settings.initial_backoff:g})",
            )
        )
    return problems


def notices(settings: Settings, shadowed: Sequence[str]) -> list[str]:
    """Harmless but probably unintended combinations, worth a warning at start; ``shadowed`` names the
    variables whose ``AGENTO11Y_*`` alias was set too."""
    out = [f"{variable} and {alias_of(variable)} are both set: {variable} is used" for variable in shadowed]
    if not settings.enabled:
        return out
    if settings.auth_mode == "tenant" and settings.auth_token is not None:
        out.append("SIGIL_AUTH_TOKEN is ignored with SIGIL_AUTH_MODE=tenant (basic sends tenant and token)")
    if settings.auth_mode == "bearer" and settings.auth_tenant_id:
        out.append(
            "SIGIL_AUTH_TENANT_ID is ignored with SIGIL_AUTH_MODE=bearer "
            "(basic sends tenant and token; or add X-Scope-OrgID to SIGIL_HEADERS)"
        )
    if settings.insecure and settings.protocol == "http":
        out.append("SIGIL_INSECURE applies to grpc only: with http the endpoint's scheme decides")
    if settings.grpc_schema != "sigil" and settings.protocol == "http":
        out.append("SIGIL_GRPC_SCHEMA applies to grpc only: the HTTP export path is the same for both schemas")
    if settings.hooks_enabled and settings.protocol == "grpc" and not settings.hooks_endpoint:
        out.append(
            "SIGIL_HOOKS_ENDPOINT is not set: hooks are evaluated over HTTP at the gRPC SIGIL_ENDPOINT's host "
            "and port; set SIGIL_HOOKS_ENDPOINT to Sigil's HTTP API"
        )
    if "max_retries" in settings.model_fields_set:
        out.append(
            "SIGIL_MAX_RETRIES is ignored: transient export failures are retried until delivered "
            "(bounded by SIGIL_BUFFER_MAX_ITEMS/BYTES and SIGIL_SHUTDOWN_GRACE)"
        )
    return out
