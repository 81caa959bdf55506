"""Who sent a request: the tenant rules of grafana/sigil's ``internal/tenantauth``, plus the gateway
credentials (bearer token or basic user/password) that sit in front of Grafana Cloud."""

from __future__ import annotations

import base64
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

TENANT_HEADER = "x-scope-orgid"
FAKE_TENANT = "fake"
MODES = ("none", "tenant", "bearer", "basic")
_TENANT_ID = re.compile(r"[a-zA-Z0-9!\-_.*'()]{1,150}")


class AuthError(Exception):
    """Rejected: HTTP 401 / gRPC UNAUTHENTICATED with this message."""


def valid_tenant_id(tenant: str) -> bool:
    return bool(_TENANT_ID.fullmatch(tenant)) and tenant not in (".", "..")


@dataclass(frozen=True)
class Authenticator:
    """``none``: every request is tenant ``fake``. ``tenant``: ``X-Scope-OrgID`` is required.
    ``bearer``: ``Authorization: Bearer <token>`` is required (tenant from ``X-Scope-OrgID``, else
    ``fake``). ``basic``: ``Authorization: Basic <user:password>`` is required and the user is the
    tenant (Grafana Cloud's convention), unless ``X-Scope-OrgID`` names one."""

    mode: str = "tenant"
    bearer_token: str = ""
    basic_user: str = ""
    basic_password: str = ""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"auth mode must be one of {', '.join(MODES)}")
        if self.mode == "bearer" and not self.bearer_token:
            raise ValueError("auth mode bearer needs a token (SINK_BEARER_TOKEN)")
        if self.mode == "basic" and not (self.basic_user and self.basic_password):
            raise ValueError("auth mode basic needs a user and password (SINK_BASIC_USER, SINK_BASIC_PASSWORD)")

    def __repr__(self) -> str:  # never show credentials
        return f"Authenticator(mode={self.mode!r})"

    def tenant(self, headers: Mapping[str, str]) -> str:
        """The tenant of a request with these (lower-cased) headers, or AuthError."""
        if self.mode == "none":
            return FAKE_TENANT
        authorization = headers.get("authorization", "")
        if self.mode == "bearer":
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), self.bearer_token):
                raise AuthError("invalid bearer token")
            return self._tenant_header(headers, FAKE_TENANT)
        if self.mode == "basic":
            scheme, _, encoded = authorization.partition(" ")
            try:
                user, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
            except ValueError:
                raise AuthError("invalid basic credentials") from None
            if scheme.lower() != "basic" or not (
                hmac.compare_digest(user, self.basic_user) and hmac.compare_digest(password, self.basic_password)
            ):
                raise AuthError("invalid basic credentials")
            return self._tenant_header(headers, user)
        return self._tenant_header(headers, None)

    @staticmethod
    def _tenant_header(headers: Mapping[str, str], default: str | None) -> str:
        tenant = headers.get(TENANT_HEADER, "").strip()
        if not tenant:
            if default is None:
                raise AuthError("no org id")
            return default
        if not valid_tenant_id(tenant):
            raise AuthError("invalid org id")
        return tenant
