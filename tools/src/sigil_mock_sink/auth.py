"""Who sent a request: the tenant rules of grafana/sigil (``X-Scope-OrgID`` validated as grafana/dskit
does, with dskit's messages), plus the gateway credentials (bearer token or basic user/password) that
sit in front of Grafana Cloud. Credentials are compared in constant time and never shown."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

TENANT_HEADER = "x-scope-orgid"
FAKE_TENANT = "fake"  # what the real server uses when auth is disabled
MODES = ("none", "tenant", "bearer", "basic")
MAX_TENANT_ID_LENGTH = 150

ERR_NO_ORG_ID = "no org id"
ERR_MULTIPLE_ORG_IDS = "multiple org IDs present"
_TENANT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!-_.*'()")


class AuthError(Exception):
    """Rejected: HTTP 401 / gRPC UNAUTHENTICATED with this message."""


def tenant_id_error(org_id: str) -> str | None:
    """dskit's verdict on an ``X-Scope-OrgID`` value: None when it names one valid tenant, else the
    message the real server answers with (``|`` separates several tenants, which ingest refuses)."""
    parts = org_id.split("|")
    for part in parts:
        for char in part:
            if char not in _TENANT_CHARS:
                return f"tenant ID '{part}' contains unsupported character '{char}'"
        if len(part) > MAX_TENANT_ID_LENGTH:
            return f"tenant ID is too long: max {MAX_TENANT_ID_LENGTH} characters"
        if part in (".", ".."):
            return "tenant ID is '.' or '..'"
    if len(parts) > 1:
        return ERR_MULTIPLE_ORG_IDS
    return None


def valid_tenant_id(tenant: str) -> bool:
    """True for a non-empty tenant id that dskit accepts."""
    return bool(tenant) and tenant_id_error(tenant) is None


@dataclass(frozen=True)
class Authenticator:
    """How requests are authenticated.

    ``none``: every request is tenant ``fake`` (the real server with auth disabled).
    ``tenant``: ``X-Scope-OrgID`` is required (the real server).
    ``bearer``: ``Authorization: Bearer <token>`` is required; the tenant is ``X-Scope-OrgID`` if
    sent, else ``fake``.
    ``basic``: ``Authorization: Basic <user:password>`` is required; the tenant is ``X-Scope-OrgID``
    if sent, else the user (Grafana Cloud's convention: the user is the instance id).
    """

    mode: str = "tenant"
    bearer_token: str = field(default="", repr=False)
    basic_user: str = ""
    basic_password: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"auth mode must be one of {', '.join(MODES)}")
        if self.mode == "bearer" and not self.bearer_token:
            raise ValueError("auth mode bearer needs a token (SINK_BEARER_TOKEN)")
        if self.mode == "basic" and not (self.basic_user and self.basic_password):
            raise ValueError("auth mode basic needs a user and a password (SINK_BASIC_USER, SINK_BASIC_PASSWORD)")

    def tenant(self, headers: Mapping[str, str]) -> str:
        """The tenant of a request with these headers (keys lower-cased), or AuthError."""
        if self.mode == "none":
            return FAKE_TENANT
        if self.mode == "bearer":
            self._check_bearer(headers.get("authorization", ""))
            return _tenant_header(headers, default=FAKE_TENANT)
        if self.mode == "basic":
            user = self._check_basic(headers.get("authorization", ""))
            return _tenant_header(headers, default=user)
        return _tenant_header(headers, default=None)

    def _check_bearer(self, authorization: str) -> None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not _same(token.strip(), self.bearer_token):
            raise AuthError("invalid bearer token")

    def _check_basic(self, authorization: str) -> str:
        scheme, _, encoded = authorization.strip().partition(" ")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, ValueError):
            raise AuthError("invalid basic credentials") from None
        user, _, password = decoded.partition(":")
        if scheme.lower() != "basic" or not (_same(user, self.basic_user) & _same(password, self.basic_password)):
            raise AuthError("invalid basic credentials")
        return user


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _tenant_header(headers: Mapping[str, str], default: str | None) -> str:
    org_id = headers.get(TENANT_HEADER, "").strip()
    if not org_id:
        if default is None:
            raise AuthError(ERR_NO_ORG_ID)
        org_id = default
    error = tenant_id_error(org_id)
    if error is not None:
        raise AuthError(error)
    return org_id
