"""The distribution's configuration: every ``SIGIL_*`` variable, as one pydantic model.

:class:`Settings` is the single source of the proxy's environment variables: their names, defaults,
documentation (the field descriptions render the README table, ``tools/src/sigil_env_table``) and
validation. Names are the ones ``sigil-sdk`` already reads wherever it has one, so an environment
that configures the SDK configures the proxy the same way. Unlike the SDK, which warns about a bad
value (or says nothing) and carries on, every mistake is an error: :class:`~.problems.ConfigError`,
whose message is one line naming the variable, the value (never a secret's) and what is accepted.

The environment is read by :mod:`.environment`; each variable's text is parsed by :mod:`.values`;
combinations are checked by :mod:`.consistency`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, ConfigDict, PrivateAttr, SecretStr, ValidationError

from sigil_sdk_litellm.proxy.secret_redaction import SecretRedaction
from sigil_sdk_litellm.proxy.settings import consistency, values
from sigil_sdk_litellm.proxy.settings.environment import (
    DEFAULT_SECRETS_DIR,
    SECRETS_DIR_VARIABLE,
    read_environment,
    unknown_names,
)
from sigil_sdk_litellm.proxy.settings.errors import ConfigError, SettingProblem, problems_from
from sigil_sdk_litellm.proxy.settings.fields import BOOL_ACCEPTED, accepted_one_of, field_meta, setting
from sigil_sdk_litellm.proxy.settings.otel import OtelFields
from sigil_sdk_litellm.proxy.tenants.tenant_map import ACCEPTED as TENANT_MAP_ACCEPTED
from sigil_sdk_litellm.proxy.tenants.tenant_map import MAX_TENANTS, TenantMap

__all__ = [
    "AuthMode",
    "CaptureMode",
    "ExportProtocol",
    "GrpcSchema",
    "HookPhase",
    "MetricsChoice",
    "RecorderChoice",
    "Settings",
    "unknown_variables",
]

# The accepted values of each enumerated variable: the field's type, its parser and its error text.
ExportProtocol = Literal["grpc", "http"]
GrpcSchema = Literal["sigil", "agento11y"]
AuthMode = Literal["none", "tenant", "bearer", "basic"]
CaptureMode = Literal["default", "full", "no_tool_content", "metadata_only", "full_with_metadata_spans"]
RecorderChoice = Literal["auto", "process", "inprocess"]
MetricsChoice = Literal["auto", "true", "false"]
HookPhase = Literal["preflight", "postflight"]


class Settings(OtelFields):
    """Every ``SIGIL_*`` variable of the LiteLLM proxy distribution, and the ``OTEL_*`` ones of its
    OpenTelemetry export (:class:`~.otel.OtelFields`).

    ``Settings.from_env()`` (or ``Settings()``) reads ``os.environ``; ``Settings.from_env(mapping)``
    reads a mapping instead. Both raise :class:`ConfigError`, never pydantic's ``ValidationError``
    (whose message would quote the offending input, secrets included). Keyword arguments by field
    name override the environment (``Settings(auth_mode="tenant", auth_tenant_id="42")``).
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        hide_input_in_errors=True,
        validate_default=True,
        arbitrary_types_allowed=True,  # TenantMap: parsed by its own validator
    )

    enabled: bool = setting(
        "SIGIL_ENABLED",
        True,
        "Export generations to Sigil. `false` runs the proxy without Sigil (it says so once in the log) "
        "and ignores every other `SIGIL_*` variable.",
        accepted=BOOL_ACCEPTED,
        worker_only=True,
    )
    endpoint: Annotated[str, BeforeValidator(values.endpoint)] = setting(
        "SIGIL_ENDPOINT",
        "localhost:4317",
        "Where generations are exported: `host:port`, or an `http://` / `https://` URL. With `http` a "
        "`host:port` means `http://host:port`, and a URL without a path gets `/api/v1/generations:export`; "
        "with `grpc` a URL names the host and the TLS choice (`http://` is plaintext) and has no path.",
        accepted="accepted: host:port (e.g. sigil.example.com:443) or an http:// or https:// URL with a host",
    )
    protocol: Annotated[ExportProtocol, BeforeValidator(values.one_of(ExportProtocol))] = setting(
        "SIGIL_PROTOCOL",
        "grpc",
        "Export transport: `grpc`, or `http` (JSON over HTTP). The default is the SDK's, so an environment "
        "written for `sigil-sdk` exports exactly as before.",
        accepted=accepted_one_of(ExportProtocol),
    )
    grpc_schema: Annotated[GrpcSchema, BeforeValidator(values.one_of(GrpcSchema))] = setting(
        "SIGIL_GRPC_SCHEMA",
        "sigil",
        "`grpc` only: the ingest service spoken, `sigil` (`sigil.v1.GenerationIngestService`, what Sigil servers "
        "accept) or `agento11y` (`agento11y.v1.GenerationIngestService`, the successor's canonical schema). The "
        "messages are the same on the wire; only the service name differs. HTTP export is the same for both.",
        accepted=accepted_one_of(GrpcSchema),
    )
    insecure: bool = setting(
        "SIGIL_INSECURE",
        False,
        "`grpc` only: connect without TLS (an `http://` endpoint does too). With `http` the URL's scheme decides.",
        accepted=BOOL_ACCEPTED,
    )
    tls_ca_file: Annotated[Path | None, BeforeValidator(values.ca_file)] = setting(
        "SIGIL_TLS_CA_FILE",
        None,
        "PEM file of the CA certificates that verify the endpoint's TLS certificate (`https://`, and `grpc` "
        "without SIGIL_INSECURE), instead of the system's. Verification itself is never turned off.",
        accepted="accepted: a readable PEM file of CA certificates",
    )
    headers: Annotated[dict[str, SecretStr], BeforeValidator(values.header_pairs)] = setting(
        "SIGIL_HEADERS",
        {},
        "Extra headers on every export, `Name=value` pairs separated by commas. The values are treated as "
        "secrets: never logged or shown.",
        accepted="accepted: Name=value pairs separated by commas, e.g. X-Team=ml,X-Env=prod",
        secret=True,
    )
    auth_mode: Annotated[AuthMode, BeforeValidator(values.one_of(AuthMode))] = setting(
        "SIGIL_AUTH_MODE",
        "none",
        "How exports authenticate: `none`; `tenant` (header `X-Scope-OrgID: <tenant id>`); `bearer` "
        "(`Authorization: Bearer <token>`); `basic` (`Authorization: Basic` with the tenant id as user and the "
        "token as password, plus `X-Scope-OrgID`).",
        accepted=accepted_one_of(AuthMode),
    )
    auth_tenant_id: Annotated[str, BeforeValidator(values.one_line)] = setting(
        "SIGIL_AUTH_TENANT_ID",
        "",
        "Tenant id. Required by `tenant` and `basic` (where it is also the basic-auth user).",
        accepted="accepted: one line of text",
    )
    auth_token: Annotated[SecretStr | None, BeforeValidator(values.one_line)] = setting(
        "SIGIL_AUTH_TOKEN",
        None,
        "Token (the basic-auth password with `basic`). Required by `bearer` and `basic`. Never logged or "
        "shown; prefer `SIGIL_AUTH_TOKEN_FILE` or `SIGIL_SECRETS_DIR` to a plain variable.",
        accepted="accepted: one line of text",
        secret=True,
    )
    tenant_map: Annotated[TenantMap | None, BeforeValidator(values.tenant_map)] = setting(
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
    secrets_dir: Path = setting(
        SECRETS_DIR_VARIABLE,
        DEFAULT_SECRETS_DIR,
        "Directory of secret files named like the variables, e.g. a Kubernetes Secret with the key "
        "`SIGIL_AUTH_TOKEN` mounted there. Read when it exists; a directory you name must exist. A variable "
        "set in the environment (or by `<VARIABLE>_FILE`) wins over its file here.",
        accepted="accepted: an existing directory",
        worker_only=True,
    )
    agent_name: str = setting(
        "SIGIL_AGENT_NAME",
        "",
        "Agent name of generations whose request metadata names none (see `SIGIL_AGENT_NAME_METADATA_KEYS`).",
        accepted="accepted: any text",
    )
    agent_name_metadata_keys: Annotated[tuple[str, ...], BeforeValidator(values.agent_keys)] = setting(
        "SIGIL_AGENT_NAME_METADATA_KEYS",
        ("agent_name", "agent_id"),
        "Request metadata keys that name the agent, separated by commas, the first found wins. `agent_id` is "
        "where LiteLLM puts the `x-litellm-agent-id` header and a virtual key's agent.",
        accepted="accepted: metadata keys separated by commas, e.g. agent_name,agent_id",
    )
    agent_version: str = setting(
        "SIGIL_AGENT_VERSION",
        "",
        "Agent version of generations whose request metadata names none.",
        accepted="accepted: any text",
    )
    user_id: str = setting(
        "SIGIL_USER_ID",
        "",
        "User id of generations whose request names no user (`user`, the proxy's end user or key user).",
        accepted="accepted: any text",
    )
    conversation_id: str = setting(
        "SIGIL_CONVERSATION_ID",
        "",
        "Conversation id of generations whose request names none (`metadata.conversation_id`, `session_id`, …).",
        accepted="accepted: any text",
    )
    tags: Annotated[dict[str, str], BeforeValidator(values.tag_pairs)] = setting(
        "SIGIL_TAGS",
        {},
        "Tags on every generation, `key=value` pairs separated by commas.",
        accepted="accepted: key=value pairs separated by commas, e.g. team=ml,env=prod",
    )
    extra_metadata: Annotated[dict[str, Any], BeforeValidator(values.extra_metadata)] = setting(
        "SIGIL_EXTRA_METADATA",
        {},
        'Metadata on every generation, a JSON object, e.g. `{"deployment": "eu-1"}`.',
        accepted='accepted: a JSON object, e.g. {"deployment": "eu-1"}',
    )
    capture_inputs: bool = setting(
        "SIGIL_CAPTURE_INPUTS",
        True,
        "Record prompts: input messages, system prompt, tool descriptions and schemas. `false` keeps every "
        "prompt text out of the export.",
        accepted=BOOL_ACCEPTED,
    )
    capture_outputs: bool = setting(
        "SIGIL_CAPTURE_OUTPUTS",
        True,
        "Record responses. `false` keeps every response text out of the export.",
        accepted=BOOL_ACCEPTED,
    )
    content_capture_mode: Annotated[CaptureMode, BeforeValidator(values.one_of(CaptureMode))] = setting(
        "SIGIL_CONTENT_CAPTURE_MODE",
        "default",
        "The SDK's content-capture mode, applied on top of the two above: `full`, `no_tool_content`, "
        "`metadata_only`, `full_with_metadata_spans`, or `default` (the SDK's default).",
        accepted=accepted_one_of(CaptureMode),
    )
    redact_secrets: Annotated[SecretRedaction, BeforeValidator(values.one_of(SecretRedaction))] = setting(
        "SIGIL_REDACT_SECRETS",
        "full",
        "Redact API keys, tokens, private keys, connection strings, passwords and e-mail addresses in every text "
        "recorded (prompts, answers, tool arguments and results, errors) in the proxy worker, before anything "
        "is exported, spooled or handed over: `[REDACTED:<kind>]` in their place, with sigil-sdk's patterns. "
        "`full`: known secret formats, e-mail addresses and `PASSWORD=…`-style values; `lightweight`: the "
        '`PASSWORD=…` heuristic left out; `off`. See "Secrets in telemetry".',
        accepted=accepted_one_of(SecretRedaction),
        worker_only=True,
    )
    batch_size: int = setting(
        "SIGIL_BATCH_SIZE",
        100,
        "Generations per export request; a full batch is exported at once.",
        accepted="accepted: a whole number ≥ 1",
        ge=1,
    )
    flush_interval: float = setting(
        "SIGIL_FLUSH_INTERVAL",
        1.0,
        "Seconds between exports of what is queued.",
        accepted="accepted: a number of seconds > 0, e.g. 0.5",
        gt=0,
        allow_inf_nan=False,
    )
    queue_size: int = setting(
        "SIGIL_QUEUE_SIZE",
        2000,
        "Generations the SDK client holds between two flushes into the export buffer.",
        accepted="accepted: a whole number ≥ 1",
        ge=1,
    )
    max_retries: int = setting(
        "SIGIL_MAX_RETRIES",
        5,
        "Ignored, accepted for `sigil-sdk` compatibility: transient export failures are retried until "
        "delivered (bounded by the buffer and SIGIL_SHUTDOWN_GRACE), permanent rejections never.",
        accepted="accepted: a whole number ≥ 0",
        ge=0,
    )
    initial_backoff: float = setting(
        "SIGIL_INITIAL_BACKOFF",
        0.1,
        "Step before the first retry of a failed export: each wait is half to all of the step (jitter); "
        "the step doubles with each retry.",
        accepted="accepted: a number of seconds > 0, e.g. 0.1",
        gt=0,
        allow_inf_nan=False,
    )
    max_backoff: float = setting(
        "SIGIL_MAX_BACKOFF",
        5.0,
        "Longest wait between retries, in seconds.",
        accepted="accepted: a number of seconds ≥ SIGIL_INITIAL_BACKOFF",
        gt=0,
        allow_inf_nan=False,
    )
    recorder: RecorderChoice = setting(
        "SIGIL_RECORDER",
        "auto",
        "Where generations are mapped, recorded and exported. `process`: in a recorder process beside each "
        "proxy worker, so the worker only hands each event over (tens of microseconds); `inprocess`: on the "
        "worker's event loop (no extra process and its memory, more CPU per request there); `auto`: `process` "
        "when the CPUs the proxy may use (CPU affinity and cgroup quota) leave one spare beside its workers "
        "(at least `NUM_WORKERS` + 1; LiteLLM's `--num_workers` sets `NUM_WORKERS`), else `inprocess`.",
        accepted=accepted_one_of(RecorderChoice),
        worker_only=True,
    )
    buffer_max_items: int = setting(
        "SIGIL_BUFFER_MAX_ITEMS",
        20000,
        "Generations held while Sigil is unreachable or slow (the export buffer; with `SIGIL_RECORDER=process` "
        "also the hand-off to the recorder). Transient failures are retried until delivered; beyond this bound "
        "new generations are dropped, counted and logged.",
        accepted="accepted: a whole number ≥ 1",
        ge=1,
    )
    buffer_max_bytes: int = setting(
        "SIGIL_BUFFER_MAX_BYTES",
        64 << 20,
        "Bytes of encoded generations the export buffer may hold (bounds memory during an outage; the "
        "same bound applies to the hand-off to the recorder process).",
        accepted="accepted: a whole number of bytes ≥ 1024",
        ge=1024,
    )
    spool_dir: Annotated[Path | None, BeforeValidator(values.spool_dir)] = setting(
        "SIGIL_SPOOL_DIR",
        None,
        "Directory of the disk spool (off when unset): each generation is written to an SQLite file there "
        "before it counts as accepted and removed once Sigil acknowledged it, so a crash or restart loses "
        "nothing; a restarted proxy delivers what an earlier run left. Must be local to the machine (not NFS).",
        accepted="accepted: a writable directory (created if missing)",
    )
    spool_max_bytes: int = setting(
        "SIGIL_SPOOL_MAX_BYTES",
        256 << 20,
        "Bytes of events each proxy worker's spool may hold; beyond it (or when the disk is full) new "
        "generations are dropped, counted and logged.",
        accepted="accepted: a whole number of bytes ≥ 65536",
        ge=65536,
    )
    shutdown_grace: float = setting(
        "SIGIL_SHUTDOWN_GRACE",
        20.0,
        "Seconds a stopping proxy worker waits for its telemetry to be exported (fits Kubernetes' default "
        "30 s termination grace period with a 5 s preStop pause).",
        accepted="accepted: a number of seconds > 0",
        gt=0,
        allow_inf_nan=False,
    )
    metrics: MetricsChoice = setting(
        "SIGIL_METRICS",
        "auto",
        'The pipeline\'s own Prometheus metrics (`sigil_litellm_*`, see "Pipeline metrics"), summed over workers '
        "and recorder processes in LiteLLM's `/metrics`. `auto`: on when `PROMETHEUS_MULTIPROC_DIR` is set (LiteLLM "
        "sets it with `--prometheus_metrics_port`); `false`: nothing is counted, nothing added to a request.",
        accepted=accepted_one_of(MetricsChoice),
    )
    debug: bool = setting(
        "SIGIL_DEBUG",
        False,
        "Log the SDK's and the handler's debug messages (loggers `sigil_sdk` and `sigil_sdk_litellm` at DEBUG).",
        accepted=BOOL_ACCEPTED,
    )
    # -- Sigil hooks and guards evaluated by the proxy before each chat completion (docs/hooks.md) --
    hooks_enabled: bool = setting(
        "SIGIL_HOOKS_ENABLED",
        False,
        "Evaluate Sigil's hook rules on every chat completion (`POST /api/v1/hooks:evaluate`, same auth and "
        "headers as the export), as a LiteLLM guardrail `sigil-hooks` that is on by default for the phases of "
        "SIGIL_HOOKS_PHASES: a deny answers the client with an error, a transform changes the messages the model "
        "receives (preflight) or the answer the client gets (postflight). `false` adds nothing to the request "
        "path. (To choose per request, configure the guardrail in config.yaml instead: docs/hooks.md.)",
        accepted=BOOL_ACCEPTED,
        worker_only=True,
    )
    hooks_endpoint: Annotated[str, BeforeValidator(values.hooks_endpoint)] = setting(
        "SIGIL_HOOKS_ENDPOINT",
        "",
        "Sigil's HTTP API for hooks when it differs from SIGIL_ENDPOINT: an `http://` / `https://` URL (or "
        "`host:port`, https unless SIGIL_INSECURE). Unset: the scheme, host and port of SIGIL_ENDPOINT; set it "
        "when exporting over `grpc`, whose port is not the API's.",
        accepted="accepted: an http:// or https:// URL without a path, or host:port",
        worker_only=True,
    )
    hooks_phases: Annotated[str, BeforeValidator(values.some_of(HookPhase))] = setting(
        "SIGIL_HOOKS_PHASES",
        "preflight",
        "Hook phases SIGIL_HOOKS_ENABLED evaluates, separated by commas: `preflight` (the request, before the "
        "model is called) and `postflight` (the model's answer, before the client gets it; a streamed answer is "
        "held back until it ends, then judged). Every model route, and MCP tool calls (docs/hooks.md).",
        accepted=f"accepted: {', '.join(get_args(HookPhase))}, or both separated by a comma",
        worker_only=True,
    )
    hooks_timeout: float = setting(
        "SIGIL_HOOKS_TIMEOUT",
        2.0,
        "Seconds one hook evaluation may take, waiting for a free evaluation slot included; beyond it the "
        "SIGIL_HOOKS_FAIL_OPEN choice applies.",
        accepted="accepted: a number of seconds > 0 and ≤ 60, e.g. 0.5",
        worker_only=True,
        gt=0,
        le=60,
        allow_inf_nan=False,
    )
    hooks_fail_open: bool = setting(
        "SIGIL_HOOKS_FAIL_OPEN",
        True,
        "When hooks cannot be evaluated (timeout, Sigil unreachable or failing): `true` lets the request through "
        "and logs the problem (at most once a minute); `false` answers the client 503.",
        accepted=BOOL_ACCEPTED,
        worker_only=True,
    )
    hooks_max_concurrency: int = setting(
        "SIGIL_HOOKS_MAX_CONCURRENCY",
        32,
        "Hook evaluations in flight per proxy worker (threads: the SDK's evaluation is blocking I/O, kept off "
        "the event loop); requests beyond it wait, within SIGIL_HOOKS_TIMEOUT.",
        accepted="accepted: a whole number from 1 to 1024",
        worker_only=True,
        ge=1,
        le=1024,
    )
    hooks_postflight_timeout: float | None = setting(
        "SIGIL_HOOKS_POSTFLIGHT_TIMEOUT",
        None,
        "SIGIL_HOOKS_TIMEOUT for postflight evaluations (the model's answer); unset: SIGIL_HOOKS_TIMEOUT.",
        accepted="accepted: a number of seconds > 0 and ≤ 60, e.g. 0.5",
        worker_only=True,
        gt=0,
        le=60,
        allow_inf_nan=False,
    )
    hooks_postflight_fail_open: bool | None = setting(
        "SIGIL_HOOKS_POSTFLIGHT_FAIL_OPEN",
        None,
        "SIGIL_HOOKS_FAIL_OPEN for postflight: `true` lets the answer through when it cannot be evaluated, "
        "`false` withholds it (503); unset: SIGIL_HOOKS_FAIL_OPEN.",
        accepted=BOOL_ACCEPTED,
        worker_only=True,
    )
    hooks_postflight_max_concurrency: int | None = setting(
        "SIGIL_HOOKS_POSTFLIGHT_MAX_CONCURRENCY",
        None,
        "SIGIL_HOOKS_MAX_CONCURRENCY for postflight evaluations (a pool of their own); unset: the same number.",
        accepted="accepted: a whole number from 1 to 1024",
        worker_only=True,
        ge=1,
        le=1024,
    )

    _shadowed_aliases: tuple[str, ...] = PrivateAttr(default=())

    def __init__(self, *, _environ: Mapping[str, str] | None = None, **given: Any) -> None:
        reading = read_environment(os.environ if _environ is None else _environ, self.variables())
        if reading.problems:
            raise ConfigError(reading.problems)
        data: dict[str, Any] = dict(reading.values)
        for name in given:  # a keyword argument replaces the variable of its field
            if name in type(self).model_fields:
                data.pop(field_meta(type(self).model_fields[name])["env"], None)
        data.update(given)
        problems: list[SettingProblem] = []
        try:
            super().__init__(**data)
        except ValidationError as exc:
            problems = problems_from(exc, type(self).model_fields, reading.origins)
        if not problems:
            problems = consistency.inconsistencies(self, reading.origins)
        if problems:
            # Raised outside the except block, so the ValidationError (which holds the raw input,
            # secrets included) is neither the cause nor the context of the ConfigError.
            raise ConfigError(problems)
        self._shadowed_aliases = tuple(reading.shadowed)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings of ``env`` (default ``os.environ``) and the files it names; raises ConfigError."""
        return cls(_environ=env)

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Environment variable → field name, in the order of the documentation (``SIGIL_*`` first)."""
        fields = sorted(cls.model_fields.items(), key=lambda item: not field_meta(item[1])["env"].startswith("SIGIL_"))
        return {field_meta(info)["env"]: name for name, info in fields}

    @classmethod
    def handed_over(cls) -> tuple[str, ...]:
        """The fields a recorder process reads: all but those declared ``worker_only``, in :meth:`variables`'
        order (the ``OTEL_*`` base's fields last, as ``RecorderSettings`` declares them)."""
        fields = cls.model_fields
        return tuple(name for name in cls.variables().values() if not field_meta(fields[name])["worker_only"])

    def notices(self) -> list[str]:
        """Harmless but probably unintended combinations, worth a warning at start."""
        return consistency.notices(self, self._shadowed_aliases)


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """``SIGIL_*`` and ``AGENTO11Y_*`` names in ``environ`` that are no setting (typos, or SDK variables the
    proxy does not use)."""
    return unknown_names(os.environ if environ is None else environ, Settings.variables())
