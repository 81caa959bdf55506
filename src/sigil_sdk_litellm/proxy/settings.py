"""The distribution's configuration: every ``SIGIL_*`` variable, from one pydantic-settings class.

:class:`Settings` is the single source of the proxy's environment variables: their names, defaults,
documentation (the field descriptions render the README table, :func:`env_table_markdown`) and
validation. Names are the ones ``sigil-sdk`` already reads wherever it has one, so an environment
that configures the SDK configures the proxy the same way. Unlike the SDK, which warns about a bad
value (or says nothing) and carries on, every mistake is an error: :class:`ConfigError`, whose
message is one line naming the variable, the value (never a secret's) and what is accepted.

Values come from the environment, else from a file named by ``<VARIABLE>_FILE``, else from a file
named like the variable in ``SIGIL_SECRETS_DIR`` (a mounted Kubernetes Secret). Values are trimmed;
an empty value counts as unset, as in the SDK.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn
from urllib.parse import urlsplit

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from sigil_sdk_litellm.proxy.tenants import ACCEPTED as TENANT_MAP_ACCEPTED
from sigil_sdk_litellm.proxy.tenants import MAX_TENANTS, TenantMap, TenantMapError, parse_tenant_map

__all__ = [
    "AUTH_MODES",
    "CONTENT_CAPTURE_MODES",
    "DEFAULT_SECRETS_DIR",
    "GRPC_SCHEMAS",
    "PROTOCOLS",
    "ConfigError",
    "Problem",
    "Settings",
    "alias_of",
    "env_table_markdown",
    "unknown_variables",
    "update_readme",
]

DEFAULT_SECRETS_DIR = Path("/run/secrets/sigil")
PROTOCOLS = ("grpc", "http")
GRPC_SCHEMAS = ("sigil", "agento11y")
AUTH_MODES = ("none", "tenant", "bearer", "basic")
CONTENT_CAPTURE_MODES = ("default", "full", "no_tool_content", "metadata_only", "full_with_metadata_spans")

SECRETS_DIR_VARIABLE = "SIGIL_SECRETS_DIR"
FILE_SUFFIX = "_FILE"
PREFIX = "SIGIL_"
# The successor SDK's names (agento11y): read as aliases during the migration window.
ALIAS_PREFIX = "AGENTO11Y_"
README_START = "<!-- env-table:start -->"
README_END = "<!-- env-table:end -->"

_BOOL = "true or false (also 1/0, yes/no, on/off)"
_FALSE_WORDS = frozenset({"0", "false", "f", "no", "n", "off"})  # what pydantic reads as False
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HOST = re.compile(r"[A-Za-z0-9._-]+")
_MAX_FILE_BYTES = 64 * 1024
_MAX_SHOWN = 120


# --------------------------------------------------------------------------------------------
# Errors


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration, as the text that names it (never a secret's value)."""

    variable: str
    text: str

    @classmethod
    def invalid(cls, variable: str, value: object, accepted: str, *, origin: str = "") -> Problem:
        """``VARIABLE='value' — accepted: …``; ``value=None`` hides the value (a secret's)."""
        if value is None:
            subject = f"{variable} (value hidden{', from ' + origin if origin else ''})"
        else:
            subject = f"{variable}={_shown(value)}{' (from ' + origin + ')' if origin else ''}"
        return cls(variable, f"{subject} — {accepted}")

    @classmethod
    def missing(cls, variable: str, why: str) -> Problem:
        return cls(variable, f"{variable} is not set — {why}")

    def __str__(self) -> str:
        return self.text


class ConfigError(Exception):
    """The ``SIGIL_*`` configuration is wrong. ``str()`` is one line meant for an operator."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        line = "sigil: invalid configuration: " + "; ".join(str(problem) for problem in self.problems)
        super().__init__(" ".join(line.splitlines()))

    def __str__(self) -> str:
        return str(self.args[0])


def _shown(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 1] + "…"
    return repr(text)


def _os_reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _invalid(reason: str = "", *, hide_value: bool = False) -> PydanticCustomError:
    """The error a validator raises; the message is written from it by :func:`_problems_from`."""
    return PydanticCustomError("sigil_invalid", "{reason}", {"reason": reason, "hide_value": hide_value})


# --------------------------------------------------------------------------------------------
# The settings


def _var(
    env: str,
    default: Any,
    description: str,
    *,
    accepted: str,
    secret: bool = False,
    **constraints: Any,
) -> Any:
    """A field read from the environment variable ``env``; ``accepted`` is quoted in errors."""
    extra: dict[str, Any] = {"env": env, "accepted": accepted, "secret": secret}
    if isinstance(default, dict):
        return Field(
            default_factory=dict, validation_alias=env, description=description, json_schema_extra=extra, **constraints
        )
    return Field(default, validation_alias=env, description=description, json_schema_extra=extra, **constraints)


class Settings(BaseSettings):
    """Every ``SIGIL_*`` variable of the LiteLLM proxy distribution.

    ``Settings.from_env()`` (or ``Settings()``) reads ``os.environ``; ``Settings.from_env(mapping)``
    reads a mapping instead. Both raise :class:`ConfigError`, never pydantic's ``ValidationError``
    (whose message would quote the offending input, secrets included). Keyword arguments by field
    name override the environment (``Settings(auth_mode="tenant", auth_tenant_id="42")``).
    """

    model_config = SettingsConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        hide_input_in_errors=True,
        validate_default=True,
        arbitrary_types_allowed=True,  # TenantMap: parsed by its own validator
    )

    enabled: bool = _var(
        "SIGIL_ENABLED",
        True,
        "Export generations to Sigil. `false` runs the proxy without Sigil (it says so once in the log) "
        "and ignores every other `SIGIL_*` variable.",
        accepted=f"accepted: {_BOOL}",
    )
    endpoint: str = _var(
        "SIGIL_ENDPOINT",
        "localhost:4317",
        "Where generations are exported: `host:port`, or an `http://` / `https://` URL. With `http` a "
        "`host:port` means `http://host:port`, and a URL without a path gets `/api/v1/generations:export`; "
        "with `grpc` a URL names the host and the TLS choice (`http://` is plaintext) and has no path.",
        accepted="accepted: host:port (e.g. sigil.example.com:443) or an http:// or https:// URL with a host",
    )
    protocol: Literal["grpc", "http"] = _var(
        "SIGIL_PROTOCOL",
        "grpc",
        "Export transport: `grpc`, or `http` (JSON over HTTP). The default is the SDK's, so an environment "
        "written for `sigil-sdk` exports exactly as before.",
        accepted="accepted: " + ", ".join(PROTOCOLS),
    )
    grpc_schema: Literal["sigil", "agento11y"] = _var(
        "SIGIL_GRPC_SCHEMA",
        "sigil",
        "`grpc` only: the ingest service spoken, `sigil` (`sigil.v1.GenerationIngestService`, what Sigil servers "
        "accept) or `agento11y` (`agento11y.v1.GenerationIngestService`, the successor's canonical schema). The "
        "messages are the same on the wire; only the service name differs. HTTP export is the same for both.",
        accepted="accepted: " + ", ".join(GRPC_SCHEMAS),
    )
    insecure: bool = _var(
        "SIGIL_INSECURE",
        False,
        "`grpc` only: connect without TLS (an `http://` endpoint does too). With `http` the URL's scheme decides.",
        accepted=f"accepted: {_BOOL}",
    )
    tls_ca_file: Path | None = _var(
        "SIGIL_TLS_CA_FILE",
        None,
        "PEM file of the CA certificates that verify the endpoint's TLS certificate (`https://`, and `grpc` "
        "without SIGIL_INSECURE), instead of the system's. Verification itself is never turned off.",
        accepted="accepted: a readable PEM file of CA certificates",
    )
    headers: dict[str, SecretStr] = _var(
        "SIGIL_HEADERS",
        {},
        "Extra headers on every export, `Name=value` pairs separated by commas. The values are treated as "
        "secrets: never logged or shown.",
        accepted="accepted: Name=value pairs separated by commas, e.g. X-Team=ml,X-Env=prod",
        secret=True,
    )
    auth_mode: Literal["none", "tenant", "bearer", "basic"] = _var(
        "SIGIL_AUTH_MODE",
        "none",
        "How exports authenticate: `none`; `tenant` (header `X-Scope-OrgID: <tenant id>`); `bearer` "
        "(`Authorization: Bearer <token>`); `basic` (`Authorization: Basic` with the tenant id as user and the "
        "token as password, plus `X-Scope-OrgID`).",
        accepted="accepted: " + ", ".join(AUTH_MODES),
    )
    auth_tenant_id: str = _var(
        "SIGIL_AUTH_TENANT_ID",
        "",
        "Tenant id. Required by `tenant` and `basic` (where it is also the basic-auth user).",
        accepted="accepted: one line of text",
    )
    auth_token: SecretStr | None = _var(
        "SIGIL_AUTH_TOKEN",
        None,
        "Token (the basic-auth password with `basic`). Required by `bearer` and `basic`. Never logged or "
        "shown; prefer `SIGIL_AUTH_TOKEN_FILE` or `SIGIL_SECRETS_DIR` to a plain variable.",
        accepted="accepted: one line of text",
        secret=True,
    )
    tenant_map: TenantMap | None = _var(
        "SIGIL_TENANT_MAP",
        None,
        "Per-team tenants: a JSON object, or the path of a JSON or YAML file, mapping a LiteLLM key's team "
        "(`team_id:<id>`, `team_alias:<alias>`) or key alias (`key_alias:<alias>`) to a Sigil tenant "
        "(`tenant_id`, `token` or `token_file`, optional `auth_mode` and `endpoint`); other traffic goes to the "
        f"default tenant above. At most {MAX_TENANTS} tenants; each gets an equal share of the buffer bounds. "
        'Treated as a secret. See "Per-team tenants".',
        accepted=TENANT_MAP_ACCEPTED,
        secret=True,
    )
    secrets_dir: Path = _var(
        SECRETS_DIR_VARIABLE,
        DEFAULT_SECRETS_DIR,
        "Directory of secret files named like the variables, e.g. a Kubernetes Secret with the key "
        "`SIGIL_AUTH_TOKEN` mounted there. Read when it exists; a directory you name must exist. A variable "
        "set in the environment (or by `<VARIABLE>_FILE`) wins over its file here.",
        accepted="accepted: an existing directory",
    )
    agent_name: str = _var(
        "SIGIL_AGENT_NAME",
        "",
        "Agent name of generations whose request metadata names none (see `SIGIL_AGENT_NAME_METADATA_KEYS`).",
        accepted="accepted: any text",
    )
    agent_name_metadata_keys: tuple[str, ...] = _var(
        "SIGIL_AGENT_NAME_METADATA_KEYS",
        ("agent_name", "agent_id"),
        "Request metadata keys that name the agent, separated by commas, the first found wins. `agent_id` is "
        "where LiteLLM puts the `x-litellm-agent-id` header and a virtual key's agent.",
        accepted="accepted: metadata keys separated by commas, e.g. agent_name,agent_id",
    )
    agent_version: str = _var(
        "SIGIL_AGENT_VERSION",
        "",
        "Agent version of generations whose request metadata names none.",
        accepted="accepted: any text",
    )
    user_id: str = _var(
        "SIGIL_USER_ID",
        "",
        "User id of generations whose request names no user (`user`, the proxy's end user or key user).",
        accepted="accepted: any text",
    )
    conversation_id: str = _var(
        "SIGIL_CONVERSATION_ID",
        "",
        "Conversation id of generations whose request names none (`metadata.conversation_id`, `session_id`, …).",
        accepted="accepted: any text",
    )
    tags: dict[str, str] = _var(
        "SIGIL_TAGS",
        {},
        "Tags on every generation, `key=value` pairs separated by commas.",
        accepted="accepted: key=value pairs separated by commas, e.g. team=ml,env=prod",
    )
    extra_metadata: dict[str, Any] = _var(
        "SIGIL_EXTRA_METADATA",
        {},
        'Metadata on every generation, a JSON object, e.g. `{"deployment": "eu-1"}`.',
        accepted='accepted: a JSON object, e.g. {"deployment": "eu-1"}',
    )
    capture_inputs: bool = _var(
        "SIGIL_CAPTURE_INPUTS",
        True,
        "Record prompts: input messages, system prompt, tool descriptions and schemas. `false` keeps every "
        "prompt text out of the export.",
        accepted=f"accepted: {_BOOL}",
    )
    capture_outputs: bool = _var(
        "SIGIL_CAPTURE_OUTPUTS",
        True,
        "Record responses. `false` keeps every response text out of the export.",
        accepted=f"accepted: {_BOOL}",
    )
    content_capture_mode: Literal["default", "full", "no_tool_content", "metadata_only", "full_with_metadata_spans"] = (
        _var(
            "SIGIL_CONTENT_CAPTURE_MODE",
            "default",
            "The SDK's content-capture mode, applied on top of the two above: `full`, `no_tool_content`, "
            "`metadata_only`, `full_with_metadata_spans`, or `default` (the SDK's default).",
            accepted="accepted: " + ", ".join(CONTENT_CAPTURE_MODES),
        )
    )
    batch_size: int = _var(
        "SIGIL_BATCH_SIZE",
        100,
        "Generations per export request; a full batch is exported at once.",
        accepted="accepted: a whole number ≥ 1",
        ge=1,
    )
    flush_interval: float = _var(
        "SIGIL_FLUSH_INTERVAL",
        1.0,
        "Seconds between exports of what is queued.",
        accepted="accepted: a number of seconds > 0, e.g. 0.5",
        gt=0,
        allow_inf_nan=False,
    )
    queue_size: int = _var(
        "SIGIL_QUEUE_SIZE",
        2000,
        "Generations the SDK client holds between two flushes into the export buffer.",
        accepted="accepted: a whole number ≥ 1",
        ge=1,
    )
    max_retries: int = _var(
        "SIGIL_MAX_RETRIES",
        5,
        "Ignored, accepted for `sigil-sdk` compatibility: transient export failures are retried until "
        "delivered (bounded by the buffer and SIGIL_SHUTDOWN_GRACE), permanent rejections never.",
        accepted="accepted: a whole number ≥ 0",
        ge=0,
    )
    initial_backoff: float = _var(
        "SIGIL_INITIAL_BACKOFF",
        0.1,
        "Step before the first retry of a failed export: each wait is half to all of the step (jitter); "
        "the step doubles with each retry.",
        accepted="accepted: a number of seconds > 0, e.g. 0.1",
        gt=0,
        allow_inf_nan=False,
    )
    max_backoff: float = _var(
        "SIGIL_MAX_BACKOFF",
        5.0,
        "Longest wait between retries, in seconds.",
        accepted="accepted: a number of seconds ≥ SIGIL_INITIAL_BACKOFF",
        gt=0,
        allow_inf_nan=False,
    )
    recorder: Literal["auto", "process", "inprocess"] = _var(
        "SIGIL_RECORDER",
        "auto",
        "Where generations are mapped, recorded and exported. `process`: in a recorder process beside each "
        "proxy worker, so the worker only hands each event over (tens of microseconds); `inprocess`: on the "
        "worker's event loop (no extra process and its memory, more CPU per request there); `auto`: `process` "
        "when the CPUs the proxy may use (CPU affinity and cgroup quota) leave one spare beside its workers "
        "(at least `NUM_WORKERS` + 1; LiteLLM's `--num_workers` sets `NUM_WORKERS`), else `inprocess`.",
        accepted="accepted: auto, process, inprocess",
    )
    buffer_max_items: int = _var(
        "SIGIL_BUFFER_MAX_ITEMS",
        20000,
        "Generations held while Sigil is unreachable or slow (the export buffer; with `SIGIL_RECORDER=process` "
        "also the hand-off to the recorder). Transient failures are retried until delivered; beyond this bound "
        "new generations are dropped, counted and logged.",
        accepted="accepted: a whole number ≥ 1",
        ge=1,
    )
    buffer_max_bytes: int = _var(
        "SIGIL_BUFFER_MAX_BYTES",
        64 << 20,
        "Bytes of encoded generations the export buffer may hold (bounds memory during an outage; the "
        "same bound applies to the hand-off to the recorder process).",
        accepted="accepted: a whole number of bytes ≥ 1024",
        ge=1024,
    )
    spool_dir: Path | None = _var(
        "SIGIL_SPOOL_DIR",
        None,
        "Directory of the disk spool (off when unset): each generation is written to an SQLite file there "
        "before it counts as accepted and removed once Sigil acknowledged it, so a crash or restart loses "
        "nothing; a restarted proxy delivers what an earlier run left. Must be local to the machine (not NFS).",
        accepted="accepted: a writable directory (created if missing)",
    )
    spool_max_bytes: int = _var(
        "SIGIL_SPOOL_MAX_BYTES",
        256 << 20,
        "Bytes of events each proxy worker's spool may hold; beyond it (or when the disk is full) new "
        "generations are dropped, counted and logged.",
        accepted="accepted: a whole number of bytes ≥ 65536",
        ge=65536,
    )
    shutdown_grace: float = _var(
        "SIGIL_SHUTDOWN_GRACE",
        20.0,
        "Seconds a stopping proxy worker waits for its telemetry to be exported (fits Kubernetes' default "
        "30 s termination grace period with a 5 s preStop pause).",
        accepted="accepted: a number of seconds > 0",
        gt=0,
        allow_inf_nan=False,
    )
    metrics: Literal["auto", "true", "false"] = _var(
        "SIGIL_METRICS",
        "auto",
        'The pipeline\'s own Prometheus metrics (`sigil_litellm_*`, see "Pipeline metrics"), summed over workers '
        "and recorder processes in LiteLLM's `/metrics`. `auto`: on when `PROMETHEUS_MULTIPROC_DIR` is set (LiteLLM "
        "sets it with `--prometheus_metrics_port`); `false`: nothing is counted, nothing added to a request.",
        accepted="accepted: auto, true, false",
    )
    debug: bool = _var(
        "SIGIL_DEBUG",
        False,
        "Log the SDK's and the handler's debug messages (loggers `sigil_sdk` and `sigil_sdk_litellm` at DEBUG).",
        accepted=f"accepted: {_BOOL}",
    )
    # -- Sigil hooks and guards evaluated by the proxy before each chat completion (docs/hooks.md) --
    hooks_enabled: bool = _var(
        "SIGIL_HOOKS_ENABLED",
        False,
        "Evaluate Sigil's hook rules on every chat completion (`POST /api/v1/hooks:evaluate`, same auth and "
        "headers as the export), as a LiteLLM guardrail `sigil-hooks` that is on by default for the phases of "
        "SIGIL_HOOKS_PHASES: a deny answers the client with an error, a transform changes the messages the model "
        "receives (preflight) or the answer the client gets (postflight). `false` adds nothing to the request "
        "path. (To choose per request, configure the guardrail in config.yaml instead: docs/hooks.md.)",
        accepted=f"accepted: {_BOOL}",
    )
    hooks_endpoint: str = _var(
        "SIGIL_HOOKS_ENDPOINT",
        "",
        "Sigil's HTTP API for hooks when it differs from SIGIL_ENDPOINT: an `http://` / `https://` URL (or "
        "`host:port`, https unless SIGIL_INSECURE). Unset: the scheme, host and port of SIGIL_ENDPOINT; set it "
        "when exporting over `grpc`, whose port is not the API's.",
        accepted="accepted: an http:// or https:// URL without a path, or host:port",
    )
    hooks_phases: str = _var(
        "SIGIL_HOOKS_PHASES",
        "preflight",
        "Hook phases SIGIL_HOOKS_ENABLED evaluates, separated by commas: `preflight` (the request, before the "
        "model is called) and `postflight` (the model's answer, before the client gets it; a streamed answer is "
        "held back until it ends, then judged). Chat completions only (docs/hooks.md).",
        accepted="accepted: preflight, postflight, or both separated by a comma",
    )
    hooks_timeout: float = _var(
        "SIGIL_HOOKS_TIMEOUT",
        2.0,
        "Seconds one hook evaluation may take, waiting for a free evaluation slot included; beyond it the "
        "SIGIL_HOOKS_FAIL_OPEN choice applies.",
        accepted="accepted: a number of seconds > 0 and ≤ 60, e.g. 0.5",
        gt=0,
        le=60,
        allow_inf_nan=False,
    )
    hooks_fail_open: bool = _var(
        "SIGIL_HOOKS_FAIL_OPEN",
        True,
        "When hooks cannot be evaluated (timeout, Sigil unreachable or failing): `true` lets the request through "
        "and logs the problem (at most once a minute); `false` answers the client 503.",
        accepted=f"accepted: {_BOOL}",
    )
    hooks_max_concurrency: int = _var(
        "SIGIL_HOOKS_MAX_CONCURRENCY",
        32,
        "Hook evaluations in flight per proxy worker (threads: the SDK's evaluation is blocking I/O, kept off "
        "the event loop); requests beyond it wait, within SIGIL_HOOKS_TIMEOUT.",
        accepted="accepted: a whole number from 1 to 1024",
        ge=1,
        le=1024,
    )
    hooks_postflight_timeout: float | None = _var(
        "SIGIL_HOOKS_POSTFLIGHT_TIMEOUT",
        None,
        "SIGIL_HOOKS_TIMEOUT for postflight evaluations (the model's answer); unset: SIGIL_HOOKS_TIMEOUT.",
        accepted="accepted: a number of seconds > 0 and ≤ 60, e.g. 0.5",
        gt=0,
        le=60,
        allow_inf_nan=False,
    )
    hooks_postflight_fail_open: bool | None = _var(
        "SIGIL_HOOKS_POSTFLIGHT_FAIL_OPEN",
        None,
        "SIGIL_HOOKS_FAIL_OPEN for postflight: `true` lets the answer through when it cannot be evaluated, "
        "`false` withholds it (503); unset: SIGIL_HOOKS_FAIL_OPEN.",
        accepted=f"accepted: {_BOOL}",
    )
    hooks_postflight_max_concurrency: int | None = _var(
        "SIGIL_HOOKS_POSTFLIGHT_MAX_CONCURRENCY",
        None,
        "SIGIL_HOOKS_MAX_CONCURRENCY for postflight evaluations (a pool of their own); unset: the same number.",
        accepted="accepted: a whole number from 1 to 1024",
        ge=1,
        le=1024,
    )

    # ----------------------------------------------------------------------------------------
    # Construction: the environment source, and pydantic's errors turned into ConfigError

    _shadowed_aliases: tuple[str, ...] = PrivateAttr(default=())

    def __init__(self, *, _environ: Mapping[str, str] | None = None, **values: Any) -> None:
        load = _Load(os.environ if _environ is None else _environ)
        token = _LOAD.set(load)
        problems: list[Problem] = []
        try:
            super().__init__(**values)
        except ValidationError as exc:
            problems = _problems_from(exc, type(self), load.origins)
        finally:
            _LOAD.reset(token)
        if problems:
            # Raised outside the except block, so the ValidationError (which holds the raw input,
            # secrets included) is neither the cause nor the context of the ConfigError.
            raise ConfigError(problems)
        self._shadowed_aliases = tuple(load.shadowed)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings of ``env`` (default ``os.environ``) and the files it names; raises ConfigError."""
        return cls(_environ=env)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Keyword arguments, then our one source: the environment with *_FILE and the secrets directory.
        # pydantic-settings' own env source would JSON-decode the dict fields (SIGIL_TAGS is k=v,k=v)
        # and can only read os.environ; its secrets source would read the directory without *_FILE.
        return init_settings, _SigilSource(settings_cls)

    # ----------------------------------------------------------------------------------------
    # Field validation

    @field_validator("protocol", "grpc_schema", "auth_mode", "content_capture_mode", mode="before")
    @classmethod
    def _one_of(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            normalized = value.strip().lower()
            allowed = {"protocol": PROTOCOLS, "grpc_schema": GRPC_SCHEMAS, "auth_mode": AUTH_MODES}.get(
                info.field_name or "", CONTENT_CAPTURE_MODES
            )
            if normalized not in allowed:
                raise _invalid()
            return normalized
        return value

    @field_validator("endpoint", mode="before")
    @classmethod
    def _endpoint(cls, value: Any) -> Any:
        if isinstance(value, str):
            return _check_endpoint(value.strip())
        return value

    @field_validator("tls_ca_file", mode="before")
    @classmethod
    def _ca_file(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            return value if not isinstance(value, str) else None
        path = Path(value.strip())
        try:
            text = path.read_text(encoding="ascii", errors="replace")
        except OSError as exc:
            raise _invalid(f"cannot read it ({_os_reason(exc)})") from None
        if "-----BEGIN CERTIFICATE-----" not in text:
            raise _invalid("no PEM certificate in it") from None
        return path

    @field_validator("spool_dir", mode="before")
    @classmethod
    def _spool_dir(cls, value: Any) -> Any:
        """Created if missing, so that a wrong path stops the proxy at start rather than at the first event."""
        if not isinstance(value, str) or not value.strip():
            return value if not isinstance(value, str) else None
        path = Path(value.strip())
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _invalid(f"cannot create it ({_os_reason(exc)})") from None
        if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
            raise _invalid("not a writable directory") from None
        return path

    @field_validator("headers", mode="before")
    @classmethod
    def _headers(cls, value: Any) -> Any:
        if isinstance(value, str):
            return _parse_pairs(value, headers=True)
        return value

    @field_validator("tenant_map", mode="before")
    @classmethod
    def _tenant_map(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                return parse_tenant_map(value, _check_endpoint)
            except TenantMapError as exc:
                raise _invalid(str(exc)) from None
        return value

    @field_validator("hooks_endpoint", mode="before")
    @classmethod
    def _hooks_endpoint(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip():
            value = _check_endpoint(value.strip())
            if "://" in value and urlsplit(value).path not in ("", "/"):
                raise _invalid("a path is not used: hooks are evaluated at <scheme://host:port>/api/v1/hooks:evaluate")
        return value

    @field_validator("hooks_phases", mode="before")
    @classmethod
    def _hooks_phases(cls, value: Any) -> Any:
        if isinstance(value, str):
            phases = [item.strip().lower() for item in value.split(",") if item.strip()]
            if not phases:
                raise _invalid()
            if any(phase not in ("preflight", "postflight") for phase in phases):
                raise _invalid()
            return ",".join(dict.fromkeys(phases))
        return value

    @field_validator("agent_name_metadata_keys", mode="before")
    @classmethod
    def _agent_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            keys = tuple(dict.fromkeys(item.strip() for item in value.split(",") if item.strip()))
            if not keys:
                raise _invalid()
            return keys
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        if isinstance(value, str):
            return _parse_pairs(value, headers=False)
        return value

    @field_validator("extra_metadata", mode="before")
    @classmethod
    def _metadata(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                parsed = json.loads(value, parse_constant=_reject_constant)
            except json.JSONDecodeError as exc:
                raise _invalid(f"not JSON: {exc.msg} at character {exc.pos}") from None
            except ValueError as exc:
                raise _invalid(str(exc)) from None
            if not isinstance(parsed, dict):
                raise _invalid(f"a JSON {_json_kind(parsed)}, not an object")
            return parsed
        return value

    @field_validator("auth_token", "auth_tenant_id", mode="before")
    @classmethod
    def _one_line(cls, value: Any) -> Any:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str) and _CONTROL.search(text):
            raise _invalid("it contains a line break or another control character")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if not self.enabled:
            return self
        problems: list[Problem] = []
        mode = self.auth_mode
        if mode in ("tenant", "basic") and not self.auth_tenant_id:
            why = f"required by SIGIL_AUTH_MODE={mode}"
            if mode == "basic":
                why += " (the tenant id is the basic-auth user)"
            problems.append(Problem.missing("SIGIL_AUTH_TENANT_ID", why))
        if mode in ("bearer", "basic") and self.auth_token is None:
            problems.append(
                Problem.missing(
                    "SIGIL_AUTH_TOKEN",
                    f"required by SIGIL_AUTH_MODE={mode}: set it, or SIGIL_AUTH_TOKEN_FILE, "
                    "or put a file SIGIL_AUTH_TOKEN in SIGIL_SECRETS_DIR",
                ),
            )
        if mode == "none":
            given = [
                name
                for name, present in (
                    ("SIGIL_AUTH_TOKEN", self.auth_token is not None),
                    ("SIGIL_AUTH_TENANT_ID", bool(self.auth_tenant_id)),
                )
                if present
            ]
            if given:
                # The SDK would export without them, silently: exports rejected, or sent to no tenant.
                if len(given) == 1:
                    modes = "bearer, basic" if given == ["SIGIL_AUTH_TOKEN"] else "tenant, basic"
                else:
                    modes = "basic, tenant, bearer"
                names = " and ".join(f"{name} (from {_origin(name)})" if _origin(name) else name for name in given)
                why = (
                    f"{names} {'is' if len(given) == 1 else 'are'} set but would not be sent; "
                    f"accepted: {modes} (or unset {' and '.join(given)})"
                )
                if "auth_mode" in self.model_fields_set:
                    problems.append(Problem("SIGIL_AUTH_MODE", f"SIGIL_AUTH_MODE='none' — {why}"))
                else:
                    problems.append(Problem("SIGIL_AUTH_MODE", f"SIGIL_AUTH_MODE is not set (so none) — {why}"))
        if self.protocol == "grpc" and "://" in self.endpoint and urlsplit(self.endpoint).path not in ("", "/"):
            problems.append(
                Problem.invalid(
                    "SIGIL_ENDPOINT",
                    self.endpoint,
                    "accepted with SIGIL_PROTOCOL=grpc: host:port or a URL without a path "
                    "(a path is for SIGIL_PROTOCOL=http)",
                )
            )
        if self.max_backoff < self.initial_backoff:
            problems.append(
                Problem.invalid(
                    "SIGIL_MAX_BACKOFF",
                    f"{self.max_backoff:g}",
                    f"accepted: a number of seconds ≥ SIGIL_INITIAL_BACKOFF ({self.initial_backoff:g})",
                )
            )
        if problems:
            raise PydanticCustomError("sigil_inconsistent", "inconsistent settings", {"problems": problems})
        return self

    # ----------------------------------------------------------------------------------------
    # Introspection

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Environment variable → field name, in the order of the documentation."""
        return {_meta(info)["env"]: name for name, info in cls.model_fields.items()}

    def notices(self) -> list[str]:
        """Harmless but probably unintended combinations, worth a warning at start."""
        out = [
            f"{variable} and {alias_of(variable)} are both set: {variable} is used"
            for variable in self._shadowed_aliases
        ]
        if not self.enabled:
            return out
        if self.auth_mode == "tenant" and self.auth_token is not None:
            out.append("SIGIL_AUTH_TOKEN is ignored with SIGIL_AUTH_MODE=tenant (basic sends tenant and token)")
        if self.auth_mode == "bearer" and self.auth_tenant_id:
            out.append(
                "SIGIL_AUTH_TENANT_ID is ignored with SIGIL_AUTH_MODE=bearer "
                "(basic sends tenant and token; or add X-Scope-OrgID to SIGIL_HEADERS)"
            )
        if self.insecure and self.protocol == "http":
            out.append("SIGIL_INSECURE applies to grpc only: with http the endpoint's scheme decides")
        if self.grpc_schema != "sigil" and self.protocol == "http":
            out.append("SIGIL_GRPC_SCHEMA applies to grpc only: the HTTP export path is the same for both schemas")
        if self.hooks_enabled and self.protocol == "grpc" and not self.hooks_endpoint:
            out.append(
                "SIGIL_HOOKS_ENDPOINT is not set: hooks are evaluated over HTTP at the gRPC SIGIL_ENDPOINT's host "
                "and port; set SIGIL_HOOKS_ENDPOINT to Sigil's HTTP API"
            )
        if "max_retries" in self.model_fields_set:
            out.append(
                "SIGIL_MAX_RETRIES is ignored: transient export failures are retried until delivered "
                "(bounded by SIGIL_BUFFER_MAX_ITEMS/BYTES and SIGIL_SHUTDOWN_GRACE)"
            )
        return out


# --------------------------------------------------------------------------------------------
# Reading the environment, *_FILE variables and the secrets directory


@dataclass
class _Load:
    environ: Mapping[str, str]
    origins: dict[str, str] = field(default_factory=dict)  # variable → the file (or alias) its value came from
    shadowed: list[str] = field(default_factory=list)  # variables whose AGENTO11Y_* alias was set too, unused


_LOAD: ContextVar[_Load | None] = ContextVar("sigil_settings_load", default=None)


def _origin(variable: str) -> str:
    """The file the value of ``variable`` was read from, while settings are being loaded."""
    load = _LOAD.get()
    return load.origins.get(variable, "") if load is not None else ""


class _SigilSource(PydanticBaseSettingsSource):
    """The ``SIGIL_*`` variables of the environment being loaded, keyed by variable name."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # not used: __call__ reads every variable at once

    def __call__(self) -> dict[str, Any]:
        load = _LOAD.get() or _Load(os.environ)
        variables = [_meta(info)["env"] for info in self.settings_cls.model_fields.values()]
        values, problems = _read_variables(load.environ, variables, load.origins, load.shadowed)
        if problems:
            raise ConfigError(problems)
        return values


def alias_of(variable: str) -> str:
    """The successor SDK's name of a ``SIGIL_*`` variable: ``AGENTO11Y_*`` with the same suffix."""
    return ALIAS_PREFIX + variable.removeprefix(PREFIX)


def _read_variables(
    environ: Mapping[str, str], variables: list[str], origins: dict[str, str], shadowed: list[str] | None = None
) -> tuple[dict[str, str], list[Problem]]:
    problems: list[Problem] = []
    shadowed = [] if shadowed is None else shadowed

    def get(name: str) -> str | None:
        raw = environ.get(name)
        value = raw.strip() if isinstance(raw, str) else None
        return value or None

    def name_in_use(variable: str) -> str:
        """``variable``, or its AGENTO11Y_* alias when only the alias (or the alias's _FILE) is set.

        The SIGIL_* name wins when both are set (noted in ``shadowed``, warned about at start)."""
        alias = alias_of(variable)
        own = get(variable) is not None or get(variable + FILE_SUFFIX) is not None
        other = get(alias) is not None or get(alias + FILE_SUFFIX) is not None
        if own and other:
            shadowed.append(variable)
        return alias if other and not own else variable

    values: dict[str, str] = {}
    secrets_dir: Path | None = None
    dir_name = name_in_use(SECRETS_DIR_VARIABLE)
    named_dir = get(dir_name)
    if named_dir is not None:
        values[SECRETS_DIR_VARIABLE] = named_dir
        if dir_name != SECRETS_DIR_VARIABLE:
            origins[SECRETS_DIR_VARIABLE] = dir_name
        found, error = _probe(Path(named_dir).is_dir)
        if found:
            secrets_dir = Path(named_dir)
        else:
            accepted = "accepted: an existing directory" + (f" ({error})" if error else "")
            problems.append(Problem.invalid(dir_name, named_dir, accepted))
    else:
        found, error = _probe(DEFAULT_SECRETS_DIR.is_dir)
        if found:
            secrets_dir = DEFAULT_SECRETS_DIR
        elif error:  # it is there (a mount?) but cannot be looked into
            problems.append(
                Problem.invalid(SECRETS_DIR_VARIABLE, str(DEFAULT_SECRETS_DIR), f"the default cannot be read ({error})")
            )

    def resolve(variable: str) -> str | None:
        name = name_in_use(variable)
        direct = get(name)
        file_variable = name + FILE_SUFFIX
        path = get(file_variable)
        if direct is not None and path is not None:
            problems.append(Problem.invalid(file_variable, path, f"accepted: {name} or {file_variable}, not both"))
            return None
        if direct is not None:
            if name != variable:
                origins[variable] = name
            return direct
        if path is not None:
            text, problem = _read_file(Path(path))
            if problem:
                problems.append(Problem.invalid(file_variable, path, f"accepted: a readable file ({problem})"))
                return None
            if text is not None:
                origins[variable] = path
            return text
        if secrets_dir is not None:
            candidate = secrets_dir / variable
            if not candidate.exists() and (secrets_dir / alias_of(variable)).exists():
                candidate = secrets_dir / alias_of(variable)
            found, problem = _probe(candidate.is_file)
            text = None
            if found:
                text, problem = _read_file(candidate)
            if problem:
                reason = f"cannot read {variable} in it ({problem})"
                problems.append(Problem.invalid(SECRETS_DIR_VARIABLE, str(secrets_dir), reason))
                return None
            if text is not None:
                origins[variable] = str(candidate)
            return text
        return None

    enabled = resolve("SIGIL_ENABLED")
    if enabled is not None:
        values["SIGIL_ENABLED"] = enabled
        if enabled.lower() in _FALSE_WORDS:
            # Disabled: nothing else is read, so a half-provisioned setup (no token yet) still starts.
            return {"SIGIL_ENABLED": enabled}, [
                p for p in problems if p.variable.startswith(("SIGIL_ENABLED", alias_of("SIGIL_ENABLED")))
            ]
    for variable in variables:
        if variable in ("SIGIL_ENABLED", SECRETS_DIR_VARIABLE):
            continue
        value = resolve(variable)
        if value is not None:
            values[variable] = value
    return values, problems


def _probe(check: Callable[[], bool]) -> tuple[bool, str]:
    """``path.is_dir``/``is_file`` without raising: (answer, the reason it could not be answered)."""
    try:
        return check(), ""
    except OSError as exc:  # e.g. EACCES: is_dir/is_file only swallow "does not exist"
        return False, exc.strerror or type(exc).__name__


def _read_file(path: Path) -> tuple[str | None, str]:
    """The trimmed text of ``path`` (None when empty), or the reason it cannot be read."""
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_FILE_BYTES + 1)
    except OSError as exc:
        return None, exc.strerror or type(exc).__name__
    if len(data) > _MAX_FILE_BYTES:
        return None, f"larger than {_MAX_FILE_BYTES // 1024} KiB"
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    return (text or None), ""


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """``SIGIL_*`` and ``AGENTO11Y_*`` names in ``environ`` that are no setting (typos, or SDK variables the
    proxy does not use)."""
    environ = os.environ if environ is None else environ
    known = set(Settings.variables())
    known |= {name + FILE_SUFFIX for name in known if name != SECRETS_DIR_VARIABLE}
    known |= {alias_of(name) for name in known}
    return sorted(name for name in environ if name.startswith((PREFIX, ALIAS_PREFIX)) and name not in known)


# --------------------------------------------------------------------------------------------
# Validation helpers


def _check_endpoint(value: str) -> str:
    if not value:
        raise _invalid()
    if re.search(r"\s", value) or _CONTROL.search(value):
        raise _invalid("it contains a space or a control character")
    url = "://" in value
    if "@" in value:
        raise _invalid("credentials in the endpoint are not supported: use SIGIL_AUTH_*", hide_value=True)
    try:
        parts = urlsplit(value if url else "//" + value)
        port = parts.port
    except ValueError as exc:
        port_problem = "port" in str(exc).lower()
        raise _invalid(
            "the port is not a number from 1 to 65535" if port_problem else "the host is malformed"
        ) from None
    if url and parts.scheme.lower() not in ("http", "https"):
        raise _invalid("the URL's scheme is not http or https")
    if not parts.hostname:
        raise _invalid("there is no host")
    if not parts.netloc.startswith("[") and not _HOST.fullmatch(parts.hostname):
        raise _invalid("the host has characters a host name cannot have")
    if parts.query or parts.fragment:
        raise _invalid("a query or fragment is not supported")
    if not url and parts.path:
        raise _invalid()
    if port is None and (not url or parts.netloc.endswith(":")):
        raise _invalid("the port is missing")
    if port is not None and not 1 <= port <= 65535:
        raise _invalid("the port is not a number from 1 to 65535")
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
            raise _invalid(f"item {index} has no '='")
        if not key:
            raise _invalid(f"item {index} has no name before '='")
        if headers and not _HEADER_NAME.fullmatch(key):
            raise _invalid(f"{label}: not a valid header name")
        if _CONTROL.search(key) or _CONTROL.search(value):
            raise _invalid(f"{label} contains a control character")
        folded = key.lower() if headers else key
        if folded in seen:
            raise _invalid(f"{label} repeats a name" if headers else f"{label} appears twice")
        seen.add(folded)
        out[key] = value
    return out


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


def _meta(info: FieldInfo) -> dict[str, Any]:
    extra = info.json_schema_extra
    if not isinstance(extra, dict):  # pragma: no cover - every field is declared with _var
        raise TypeError("Settings fields are declared with _var()")
    return extra


def _problems_from(exc: ValidationError, settings_cls: type[Settings], origins: Mapping[str, str]) -> list[Problem]:
    """pydantic's errors as problems, written from our metadata: pydantic's texts quote the input."""
    fields: dict[str, tuple[str, FieldInfo]] = {}
    for name, info in settings_cls.model_fields.items():
        fields[name] = fields[_meta(info)["env"]] = (name, info)
    problems: list[Problem] = []
    for error in exc.errors(include_url=False):
        ctx = error.get("ctx") or {}
        if error["type"] == "sigil_inconsistent":
            problems.extend(ctx["problems"])
            continue
        key = str(error["loc"][0]) if error["loc"] else ""
        if key not in fields:
            what = "not a setting" if error["type"] == "extra_forbidden" else f"invalid ({error['type']})"
            problems.append(Problem(key, f"{key}: {what}"))
            continue
        _, info = fields[key]
        meta = _meta(info)
        variable = meta["env"]
        if any(p.variable == variable for p in problems):
            continue  # one problem per variable (a dict value can fail once per item)
        accepted = str(meta["accepted"])
        reason = str(ctx.get("reason", "")) if error["type"] == "sigil_invalid" else ""
        if reason:
            accepted += f" ({reason})"
        hidden = bool(meta["secret"]) or bool(ctx.get("hide_value"))
        value = None if hidden else error.get("input")
        problems.append(Problem.invalid(variable, value, accepted, origin=origins.get(variable, "")))
    return problems


# --------------------------------------------------------------------------------------------
# Documentation: the README table


def _default_text(info: FieldInfo) -> str:
    default = info.get_default(call_default_factory=True)
    if default is None or default == "" or default == {}:
        return "—"
    if isinstance(default, bool):
        return "`true`" if default else "`false`"
    if isinstance(default, float):
        return f"`{default:g}`"
    if isinstance(default, tuple):
        return f"`{','.join(default)}`"
    return f"`{default}`"


def env_table_markdown() -> str:
    """The README's configuration section, rendered from :class:`Settings`."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        meta = _meta(info)
        description = (info.description or name).replace("|", "\\|")
        rows.append(f"| `{meta['env']}` | {_default_text(info)} | {description} |")
    notes = [
        "",
        "Every variable but `SIGIL_SECRETS_DIR` can also come from a file: `<VARIABLE>_FILE` names it "
        "(e.g. `SIGIL_AUTH_TOKEN_FILE=/run/secrets/sigil_token`; setting both the variable and its "
        "`_FILE` is an error), or a file named like the variable lies in `SIGIL_SECRETS_DIR`. The "
        "environment wins over `_FILE`, which wins over the directory. Values are trimmed, and an empty "
        "value counts as unset.",
        "",
        "Every variable can also be named the way the successor SDK (agento11y) names it: `AGENTO11Y_` "
        "instead of `SIGIL_` (e.g. `AGENTO11Y_ENDPOINT`, `AGENTO11Y_AUTH_TOKEN_FILE`). When both names of a "
        "setting are set, the `SIGIL_*` one is used and the proxy warns at start naming the pair.",
        "",
        "A wrong value stops the proxy at start, before it serves, with one line naming the variable, "
        "its value (never a secret's) and what is accepted:",
        "",
        "```text",
        "sigil: invalid configuration: SIGIL_AUTH_MODE='bearr' — accepted: none, tenant, bearer, basic",
        "```",
    ]
    return "\n".join(rows + notes) + "\n"


def update_readme(text: str) -> str:
    """``text`` (a README) with the env table between the markers replaced by the current one."""
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"the README has no {README_START} … {README_END} section")
    head = text[: start + len(README_START)]
    return head + "\n" + env_table_markdown() + text[end:]


def readme_table(text: str) -> str:
    """The part of ``text`` between the env-table markers."""
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"the README has no {README_START} … {README_END} section")
    return text[start + len(README_START) : end].strip("\n") + "\n"


def _main(argv: Sequence[str]) -> int:
    """``python -m sigil_sdk_litellm.proxy.settings [--update README.md]``: print (or write) the env table."""
    if len(argv) == 2 and argv[0] == "--update":
        path = Path(argv[1])
        path.write_text(update_readme(path.read_text(encoding="utf-8")), encoding="utf-8")
        return 0
    if argv:
        print("usage: python -m sigil_sdk_litellm.proxy.settings [--update README.md]", file=sys.stderr)
        return 2
    sys.stdout.write(env_table_markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
