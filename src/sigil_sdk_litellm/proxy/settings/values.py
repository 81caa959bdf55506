"""Parsers of one variable's text, each run before pydantic's own validation of its field.

Each takes what the environment gave (or a keyword argument's value, passed through unchanged when it
is no text) and returns the field's value, or raises :func:`~.problems.invalid` with the reason.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, get_args
from urllib.parse import urlsplit

from pydantic import SecretStr

from sigil_sdk_litellm.proxy.settings.errors import invalid
from sigil_sdk_litellm.proxy.tenants.tenant_map import TenantMapError, parse_tenant_map

__all__ = [
    "agent_keys",
    "ca_file",
    "check_endpoint",
    "endpoint",
    "extra_metadata",
    "header_pairs",
    "hooks_endpoint",
    "one_line",
    "one_of",
    "otlp_url",
    "some_of",
    "spool_dir",
    "tag_pairs",
    "tenant_map",
]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HOST = re.compile(r"[A-Za-z0-9._-]+")


def one_of(choices: Any) -> Callable[[Any], Any]:
    """A parser accepting the values of the ``Literal`` type ``choices``, trimmed and case-folded."""
    allowed = get_args(choices)

    def parse(value: Any) -> Any:
        if isinstance(value, str):
            normalized = value.strip().lower()
            if normalized not in allowed:
                raise invalid()
            return normalized
        return value

    return parse


def otlp_url(value: Any) -> Any:
    """An OTLP endpoint (``OTEL_EXPORTER_OTLP_*ENDPOINT``, a tenant's ``otlp_endpoint``): an ``http://``
    (plaintext) or ``https://`` URL with a host; no credentials in it."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text:
        return ""
    if "@" in text:
        raise invalid("credentials in the URL are not supported: use OTEL_EXPORTER_OTLP_HEADERS", hide_value=True)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise invalid("the port is not a number from 1 to 65535") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or re.search(r"\s", text):
        raise invalid()
    if parts.query or parts.fragment:
        raise invalid("a query or fragment is not supported")
    return text


def check_endpoint(value: str) -> str:
    """``host:port`` or an ``http(s)://`` URL with a host (also used for a tenant's endpoint)."""
    if not value:
        raise invalid()
    if re.search(r"\s", value) or _CONTROL.search(value):
        raise invalid("it contains a space or a control character")
    url = "://" in value
    if "@" in value:
        raise invalid("credentials in the endpoint are not supported: use SIGIL_AUTH_*", hide_value=True)
    try:
        parts = urlsplit(value if url else "//" + value)
        port = parts.port
    except ValueError as exc:
        port_problem = "port" in str(exc).lower()
        raise invalid("the port is not a number from 1 to 65535" if port_problem else "the host is malformed") from None
    if url and parts.scheme.lower() not in ("http", "https"):
        raise invalid("the URL's scheme is not http or https")
    if not parts.hostname:
        raise invalid("there is no host")
    if not parts.netloc.startswith("[") and not _HOST.fullmatch(parts.hostname):
        raise invalid("the host has characters a host name cannot have")
    if parts.query or parts.fragment:
        raise invalid("a query or fragment is not supported")
    if not url and parts.path:
        raise invalid()
    if port is None and (not url or parts.netloc.endswith(":")):
        raise invalid("the port is missing")
    if port is not None and not 1 <= port <= 65535:
        raise invalid("the port is not a number from 1 to 65535")
    return value


def endpoint(value: Any) -> Any:
    if isinstance(value, str):
        return check_endpoint(value.strip())
    return value


def ca_file(value: Any) -> Any:
    if not isinstance(value, str) or not value.strip():
        return value if not isinstance(value, str) else None
    path = Path(value.strip())
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise invalid(f"cannot read it ({_os_reason(exc)})") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise invalid("no PEM certificate in it") from None
    return path


def spool_dir(value: Any) -> Any:
    """Created if missing, so that a wrong path stops the proxy at start rather than at the first event."""
    if not isinstance(value, str) or not value.strip():
        return value if not isinstance(value, str) else None
    path = Path(value.strip())
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise invalid(f"cannot create it ({_os_reason(exc)})") from None
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        raise invalid("not a writable directory") from None
    return path


def header_pairs(value: Any) -> Any:
    if isinstance(value, str):
        return _parse_pairs(value, headers=True)
    return value


def tag_pairs(value: Any) -> Any:
    if isinstance(value, str):
        return _parse_pairs(value, headers=False)
    return value


def tenant_map(value: Any) -> Any:
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return parse_tenant_map(value, check_endpoint, otlp_url)
        except TenantMapError as exc:
            raise invalid(str(exc)) from None
    return value


def hooks_endpoint(value: Any) -> Any:
    if isinstance(value, str) and value.strip():
        value = check_endpoint(value.strip())
        if "://" in value and urlsplit(value).path not in ("", "/"):
            raise invalid("a path is not used: hooks are evaluated at <scheme://host:port>/api/v1/hooks:evaluate")
    return value


def some_of(choices: Any) -> Callable[[Any], Any]:
    """A parser of values of the ``Literal`` type ``choices`` separated by commas (repeats dropped)."""
    allowed = get_args(choices)

    def parse(value: Any) -> Any:
        if isinstance(value, str):
            given = [item.strip().lower() for item in value.split(",") if item.strip()]
            if not given or any(item not in allowed for item in given):
                raise invalid()
            return ",".join(dict.fromkeys(given))
        return value

    return parse


def agent_keys(value: Any) -> Any:
    if isinstance(value, str):
        keys = tuple(dict.fromkeys(item.strip() for item in value.split(",") if item.strip()))
        if not keys:
            raise invalid()
        return keys
    return value


def extra_metadata(value: Any) -> Any:
    if isinstance(value, str):
        try:
            parsed = json.loads(value, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            raise invalid(f"not JSON: {exc.msg} at character {exc.pos}") from None
        except ValueError as exc:
            raise invalid(str(exc)) from None
        if not isinstance(parsed, dict):
            raise invalid(f"a JSON {_json_kind(parsed)}, not an object")
        return parsed
    return value


def one_line(value: Any) -> Any:
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    if isinstance(text, str) and _CONTROL.search(text):
        raise invalid("it contains a line break or another control character")
    return value


def _parse_pairs(raw: str, *, headers: bool) -> dict[str, str]:
    """``k=v,k=v`` (empty items are skipped). Header errors never quote a name or value."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    for index, item in enumerate(raw.split(","), start=1):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        label = f"item {index}" if headers else repr(key) if key else f"item {index}"
        if not sep:
            raise invalid(f"item {index} has no '='")
        if not key:
            raise invalid(f"item {index} has no name before '='")
        if headers and not _HEADER_NAME.fullmatch(key):
            raise invalid(f"{label}: not a valid header name")
        if _CONTROL.search(key) or _CONTROL.search(value):
            raise invalid(f"{label} contains a control character")
        folded = key.lower() if headers else key
        if folded in seen:
            raise invalid(f"{label} repeats a name" if headers else f"{label} appears twice")
        seen.add(folded)
        out[key] = value
    return out


def _os_reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"
