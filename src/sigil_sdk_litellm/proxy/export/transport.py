"""Wire transports to Sigil's ingest API, for the delivery buffer (:mod:`.delivery`).

They differ from the SDK's exporters in three ways the delivery needs:

- a generation is encoded once, when it is buffered (``encode``), and a batch is sent from the
  encoded pieces (``send``), so a retried batch is never re-encoded and its size is known;
- a failure is classified: :class:`PermanentRejection` (credentials, tenant, schema, no such API:
  retrying cannot help) or :class:`TransientFailure` (connection refused, 5xx, 429, timeouts);
- TLS verification is always on for ``https://`` and gRPC with TLS, optionally against a CA bundle
  of one's own (``SIGIL_TLS_CA_FILE``); plaintext only by explicit choice (an ``http://`` endpoint,
  or ``SIGIL_INSECURE`` with gRPC).

HTTP goes over one urllib3 connection pool per transport (already installed with sigil-sdk and LiteLLM), so
batches reuse a kept-alive connection instead of a TCP and TLS handshake each.

Error texts name the endpoint and the status, never header values (credentials travel in headers).
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import grpc
import urllib3
from google.protobuf import json_format
from sigil_sdk.internal.gen.sigil.v1 import generation_ingest_pb2 as pb
from sigil_sdk.models import Generation
from sigil_sdk.proto_mapping import generation_to_proto
from sigil_sdk.version import user_agent

from sigil_sdk_litellm.proxy.export.message_cache import CachingEncoder, Keys, varint
from sigil_sdk_litellm.proxy.tls import tls_context

EXPORT_PATH = "/api/v1/generations:export"
# The ingest method per SIGIL_GRPC_SCHEMA. agento11y.v1 is the successor's canonical copy of sigil.v1: its
# messages carry the same field numbers (tests/unit/proxy/export/test_grpc_schema_roundtrip.py proves it against the
# agento11y package), so the request bytes are the same and only the service's name differs.
GRPC_METHODS = {
    "sigil": "/sigil.v1.GenerationIngestService/ExportGenerations",
    "agento11y": "/agento11y.v1.GenerationIngestService/ExportGenerations",
}
GRPC_METHOD = GRPC_METHODS["sigil"]
TIMEOUT_SECONDS = 10.0

# HTTP statuses and gRPC codes that retrying cannot fix; everything else is retried.
PERMANENT_HTTP = frozenset({400, 401, 403, 404, 405, 413, 415, 422})
PERMANENT_GRPC = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.OUT_OF_RANGE,
    }
)
_GRPC_AS_HTTP = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.UNIMPLEMENTED: 404,
}
_MAX_SERVER_TEXT = 200


class ExportFailure(Exception):
    """An export request failed; ``kind`` is a short stable key for rate-limited logging."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class TransientFailure(ExportFailure):
    """Worth retrying: the endpoint is down, overloaded, or slow."""


class PermanentRejection(ExportFailure):
    """Not worth retrying: Sigil refused these generations for a reason a retry does not change."""

    def __init__(self, message: str, kind: str, status: int) -> None:
        super().__init__(message, kind)
        self.status = status


@dataclass(frozen=True)
class SendResult:
    """What the endpoint said of a delivered batch: the ids it rejected, with its reasons."""

    rejected: tuple[tuple[str, str], ...] = ()


class Transport(Protocol):
    endpoint: str

    def encode(self, generation: Generation) -> bytes: ...

    def send(self, pieces: Sequence[bytes]) -> SendResult: ...

    def close(self) -> None: ...


def explain(status: int, endpoint: str, server_text: str = "") -> str:
    """One human line for a permanent rejection."""
    detail = _short(server_text)
    suffix = f": {detail}" if detail else ""
    if status == 401:
        return f"Sigil at {endpoint} rejected the credentials (401){suffix}; check SIGIL_AUTH_MODE and SIGIL_AUTH_TOKEN"
    if status == 403:
        return (
            f"Sigil at {endpoint} refused this tenant (403){suffix}; check SIGIL_AUTH_TENANT_ID and what the "
            "token may write"
        )
    if status == 404:
        return f"no Sigil ingest API at {endpoint} (404){suffix}; check SIGIL_ENDPOINT and SIGIL_PROTOCOL"
    if status == 413:
        return f"Sigil at {endpoint} refused a request as too large (413){suffix}"
    return f"Sigil at {endpoint} rejected the generations as invalid ({status}){suffix}"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_SERVER_TEXT else text[: _MAX_SERVER_TEXT - 1] + "…"


# --------------------------------------------------------------------------------------------
# HTTP: protobuf-JSON over POST


class HttpTransport:
    """``POST <endpoint>/api/v1/generations:export`` with ``{"generations": [...]}`` (proto field names).

    One ``urllib3.PoolManager`` (thread-safe, connections kept alive between batches) serves every send;
    the delivery thread is its only caller, and ``close()`` runs at shutdown. Like the ``urllib`` opener it
    replaces, it ignores proxy variables (``HTTPS_PROXY`` …) and trusts the system's CAs or the CA file.
    No retries and no redirects inside urllib3: the delivery retries, and a 3xx is a transient failure.
    """

    def __init__(self, endpoint: str, headers: Mapping[str, str], *, ca_file: str | None = None) -> None:
        self.url = _http_url(endpoint)
        parts = urlsplit(self.url)
        self.endpoint = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        self._headers = {"Content-Type": "application/json", "User-Agent": user_agent()}
        for name, value in headers.items():
            if name.lower() == "user-agent":
                if value.strip():
                    self._headers["User-Agent"] = value
                continue
            self._headers[name] = value
        self._pool = urllib3.PoolManager(
            num_pools=1,
            maxsize=1,  # one sender thread
            retries=False,
            timeout=urllib3.Timeout(connect=TIMEOUT_SECONDS, read=TIMEOUT_SECONDS),
            ssl_context=tls_context(ca_file) if parts.scheme == "https" else None,
        )

    def encode(self, generation: Generation) -> bytes:
        document = json_format.MessageToDict(generation_to_proto(generation), preserving_proto_field_name=True)
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def send(self, pieces: Sequence[bytes]) -> SendResult:
        body = b'{"generations":[' + b",".join(pieces) + b"]}"
        try:
            response = self._pool.request("POST", self.url, body=body, headers=self._headers, redirect=False)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _connection_failure(_root_cause(exc), self.endpoint) from None
        if not 200 <= response.status < 300:
            text = response.data[:4096].decode("utf-8", errors="replace")
            raise _http_failure(response.status, text, self.endpoint)
        return SendResult(_http_rejections(response.data))

    def close(self) -> None:
        """Close the pooled connections."""
        self._pool.clear()


def _root_cause(exc: BaseException) -> BaseException:
    """The socket or TLS error under urllib3's wrappers (each chains the one below as its cause or
    context; refused, timed out and TLS failures are ``OSError``s), else ``exc`` itself."""
    inner: BaseException | None = exc
    while inner is not None:
        if isinstance(inner, OSError):  # ssl.SSLError, ConnectionRefusedError and TimeoutError included
            return inner
        inner = inner.__cause__ or inner.__context__
    return exc


def _http_url(endpoint: str) -> str:
    url = endpoint.strip()
    if "://" not in url:
        url = f"http://{url}"
    parts = urlsplit(url)
    path = parts.path if parts.path not in ("", "/") else EXPORT_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _http_failure(status: int, text: str, endpoint: str) -> ExportFailure:
    if status in PERMANENT_HTTP:
        return PermanentRejection(explain(status, endpoint, text), f"http-{status}", status)
    return TransientFailure(f"Sigil at {endpoint} answered {status}: {_short(text)}", f"http-{status}")


def _connection_failure(reason: object, endpoint: str) -> TransientFailure:
    if isinstance(reason, ssl.SSLCertVerificationError):
        return TransientFailure(
            f"TLS verification of {endpoint} failed ({reason.verify_message}); trust its CA with SIGIL_TLS_CA_FILE",
            "tls",
        )
    return TransientFailure(f"cannot reach Sigil at {endpoint}: {_reason_text(reason)}", "unreachable")


def _reason_text(reason: object) -> str:
    if isinstance(reason, socket.timeout | TimeoutError):
        return f"no answer within {TIMEOUT_SECONDS:g} s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    return str(reason) or type(reason).__name__


def _http_rejections(raw: bytes) -> tuple[tuple[str, str], ...]:
    try:
        document = json.loads(raw.decode("utf-8") or "{}")
    except ValueError:
        return ()
    results = document.get("results") if isinstance(document, dict) else None
    if not isinstance(results, list):
        return ()
    out = []
    for result in results:
        if isinstance(result, dict) and not result.get("accepted", False):
            ident = result.get("generation_id") or result.get("generationId") or ""
            out.append((str(ident), str(result.get("error") or "")))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# gRPC: sigil.v1.GenerationIngestService/ExportGenerations


def _repeated_generation_field(piece: bytes) -> bytes:
    """``piece`` as one element of the request's ``repeated Generation generations = 1``."""
    return b"\x0a" + varint(len(piece)) + piece


class GrpcTransport:
    """Unary ``ExportGenerations`` on one channel; the request is assembled from encoded generations."""

    def __init__(
        self,
        endpoint: str,
        headers: Mapping[str, str],
        *,
        insecure: bool = False,
        ca_file: str | None = None,
        schema: str = "sigil",
    ) -> None:
        target, plaintext = _grpc_target(endpoint)
        self.method = GRPC_METHODS[schema]
        self.plaintext = plaintext or insecure
        self.endpoint = target
        agent = user_agent()
        metadata: list[tuple[str, str]] = []
        for name, value in headers.items():
            if name.lower() == "user-agent":
                if value.strip():
                    agent = value
                continue
            metadata.append((name.lower(), value))
        self._metadata = tuple(metadata)
        options = [("grpc.primary_user_agent", agent)]
        if self.plaintext:
            self._channel = grpc.insecure_channel(target, options=options)
        else:
            roots = None
            if ca_file:
                with open(ca_file, "rb") as handle:
                    roots = handle.read()
            self._channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=roots), options)
        self.encoder = CachingEncoder()
        self._call = self._channel.unary_unary(
            self.method,
            request_serializer=None,  # the request arrives as bytes
            response_deserializer=pb.ExportGenerationsResponse.FromString,  # type: ignore[attr-defined]
        )

    def encode(self, generation: Generation) -> bytes:
        return _repeated_generation_field(self.encode_generation(generation))

    def encode_generation(self, generation: Generation, keys: Keys | None = None, *, validated: bool = False) -> bytes:
        """The bytes of ``generation_to_proto(generation)``, each message encoded once while it stays in
        the encoder's bounded cache (:mod:`.message_cache`)."""
        return self.encoder.encode(generation, keys, validated=validated)

    @staticmethod
    def as_request_entry(encoded: bytes) -> bytes:
        """``encode_generation``'s bytes as one element of the request (what ``encode`` returns)."""
        return _repeated_generation_field(encoded)

    def send(self, pieces: Sequence[bytes]) -> SendResult:
        try:
            response: Any = self._call(b"".join(pieces), timeout=TIMEOUT_SECONDS, metadata=self._metadata)
        except grpc.RpcError as exc:
            code = exc.code() if callable(getattr(exc, "code", None)) else grpc.StatusCode.UNKNOWN
            details = exc.details() if callable(getattr(exc, "details", None)) else ""
            text = details or ""
            if code in PERMANENT_GRPC:
                status = _GRPC_AS_HTTP.get(code, 400)
                raise PermanentRejection(
                    explain(status, self.endpoint, f"gRPC {code.name}: {text}"), f"grpc-{code.name}", status
                ) from None
            if code == grpc.StatusCode.UNAVAILABLE and "CERTIFICATE_VERIFY_FAILED" in text:
                raise TransientFailure(
                    f"TLS verification of {self.endpoint} failed; trust its CA with SIGIL_TLS_CA_FILE "
                    "(or SIGIL_INSECURE=true for a plaintext endpoint)",
                    "tls",
                ) from None
            raise TransientFailure(
                f"Sigil at {self.endpoint} answered gRPC {code.name}: {_short(text)}", f"grpc-{code.name}"
            ) from None
        rejected = tuple((r.generation_id, r.error) for r in response.results if not r.accepted)
        return SendResult(rejected)

    def close(self) -> None:
        self._channel.close()


def _grpc_target(endpoint: str) -> tuple[str, bool]:
    """``host:port`` and whether the endpoint itself asks for plaintext (an ``http://`` URL)."""
    text = endpoint.strip()
    if "://" not in text:
        return text, False
    parts = urlsplit(text)
    return parts.netloc, parts.scheme == "http"
