"""Recording core: a mapped LiteLLM event handed to a ``sigil_sdk.Client``.

Kept free of LiteLLM imports so it also runs in the out-of-process recorder, which must stay small.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from opentelemetry import context as otel_context
from sigil_sdk import Client, GenerationMode

from sigil_sdk_litellm.limits import TRUNCATED_KEY, fit_generation
from sigil_sdk_litellm.mapping import (
    GenerationRecord,
    MappingOptions,
    call_type_of,
    carries_nothing,
    classify_call,
    map_embedding,
    map_generation,
    map_tool_execution,
)
from sigil_sdk_litellm.mapping.message_memo import own_messages
from sigil_sdk_litellm.mapping.trace_context import parent_context
from sigil_sdk_litellm.problem_log import ProblemLog

_Started = TypeVar("_Started")

# The tenant of an event recorded without a router, and the router's fallback.
DEFAULT_TENANT = "default"


class ClientRouter(Protocol):
    """Picks the client (and tenant name) an event is recorded with; the proxy's tenant map is one."""

    def route(self, event: Any) -> tuple[str, Client]: ...

    def shutdown(self) -> None: ...


class ExportBuffer(Protocol):
    """The exporter behind the client when it buffers (the proxy's delivery buffer): the spool waits on it."""

    drain_timeout: float

    def flush(self, timeout: float | None = None) -> bool: ...

    def stats(self) -> Mapping[str, int]: ...


class GenerationWriter(Protocol):
    """Records a mapped generation for ``client`` without going through it (the proxy's in-process
    direct writer): True when done, the SDK's refusal as an exception, False to go through the client."""

    def write(self, client: Client, record: GenerationRecord, call_error: Exception | None) -> bool | Exception: ...


class CallFailed(Exception):
    """Stands in for the provider error when only its text (and maybe status code) is known."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        if status_code is not None:
            self.status_code = status_code


def _started_under(traceparent: str, start: Callable[[], _Started]) -> _Started:
    """``start()`` with the request's span current: sigil-sdk starts its span under the current context,
    so the generation's span is the request's child and the generation carries its trace (without a
    tracer provider, OpenTelemetry's no-op span is the request's own, so the trace id still is)."""
    parent = parent_context(traceparent) if traceparent else None
    if parent is None:
        return start()
    token = otel_context.attach(parent)
    try:
        return start()
    finally:
        otel_context.detach(token)


def _status_code(value: Any) -> int | None:
    try:
        code = int(str(value))
    except (TypeError, ValueError):
        return None
    return code if 100 <= code <= 599 else None


class SdkRecorder:
    """Maps one LiteLLM event and records it through the SDK client. ``record`` never raises."""

    def __init__(
        self,
        client: Client,
        options: MappingOptions,
        problems: ProblemLog | None = None,
        delivery: ExportBuffer | None = None,
        *,
        router: ClientRouter | None = None,
        writer: GenerationWriter | None = None,
    ) -> None:
        self.client = client  # the default tenant's
        self.options = options
        self.problems = problems or ProblemLog()
        self.delivery = delivery  # the client's exporter when it is the delivery buffer (the spool waits on it)
        self.router = router
        self.writer = writer

    def route(self, kwargs: Any) -> tuple[str, Client]:
        """(tenant name, client) an event is recorded with: its team's tenant, else the default."""
        if self.router is None:
            return DEFAULT_TENANT, self.client
        return self.router.route(kwargs)

    def shutdown(self) -> None:
        """Flush and close every client (all tenants' at once)."""
        if self.router is None:
            self.client.shutdown()
        else:
            self.router.shutdown()

    def record(self, kwargs: Any, response_obj: Any, *, failed: bool, redacted: bool) -> None:
        try:
            if not isinstance(kwargs, dict) or carries_nothing(kwargs, response_obj):
                return
            kind = classify_call(call_type_of(kwargs))
            if kind == "generation":
                self._record_generation(kwargs, response_obj, failed=failed, redacted=redacted)
            elif kind == "embedding":
                self._record_embedding(kwargs, response_obj, failed=failed, redacted=redacted)
            elif kind == "tool_execution":
                self._record_tool_execution(kwargs, response_obj, failed=failed, redacted=redacted)
        except Exception as exc:  # noqa: BLE001 - the one catch-all: telemetry never breaks the host
            self.problems.report(
                f"handler:{type(exc).__name__}",
                f"could not record a LiteLLM event ({type(exc).__name__}: {exc}); the request itself was not affected",
            )

    def _call_error(self, kwargs: dict[str, Any], text: str) -> Exception:
        exception = kwargs.get("exception")
        if isinstance(exception, Exception):
            return exception
        slo = kwargs.get("standard_logging_object")
        info = slo.get("error_information") if isinstance(slo, dict) else None
        code = _status_code(info.get("error_code")) if isinstance(info, dict) else None
        return CallFailed(text, code)

    def _record_generation(self, kwargs: dict[str, Any], response_obj: Any, *, failed: bool, redacted: bool) -> None:
        _, client = self.route(kwargs)
        record = map_generation(kwargs, response_obj, self.options, failed=failed, redacted=redacted)
        removed = fit_generation(record.generation)
        if removed:
            self.problems.report(
                "limits:truncated",
                f"a generation exceeded Sigil's payload limit: {removed} characters of its largest content were "
                f"cut (marked in the text and in metadata {TRUNCATED_KEY})",
            )
        if failed:
            record.generation.call_error = record.call_error
        if self.writer is not None:
            error = self._call_error(kwargs, record.call_error) if failed else None
            written = self.writer.write(client, record, error)
            if isinstance(written, Exception):
                self.problems.report(f"sdk:{type(written).__name__}", f"generation not queued for export: {written}")
            if written is not False:
                return
        # the Client may change messages in place (metadata-only mode, sanitizers): mapped ones are shared
        generation = record.generation
        generation.input, generation.output = own_messages(generation.input), own_messages(generation.output)
        start = (
            client.start_streaming_generation if record.start.mode is GenerationMode.STREAM else client.start_generation
        )
        recorder = _started_under(record.traceparent, lambda: start(record.start))
        if record.first_token_at is not None:
            recorder.set_first_token_at(record.first_token_at)
        self._finish(recorder, record.generation, kwargs, record.call_error if failed else None, "generation")

    def _record_embedding(self, kwargs: dict[str, Any], response_obj: Any, *, failed: bool, redacted: bool) -> None:
        _, client = self.route(kwargs)
        record = map_embedding(kwargs, response_obj, self.options, failed=failed, redacted=redacted)
        recorder = _started_under(record.traceparent, lambda: client.start_embedding(record.start))
        self._finish(recorder, record.result, kwargs, record.call_error if failed else None, "embedding")

    def _record_tool_execution(
        self, kwargs: dict[str, Any], response_obj: Any, *, failed: bool, redacted: bool
    ) -> None:
        _, client = self.route(kwargs)
        record = map_tool_execution(kwargs, response_obj, self.options, failed=failed, redacted=redacted)
        recorder = _started_under(record.traceparent, lambda: client.start_tool_execution(record.start))
        span = getattr(recorder, "span", None)  # none on the SDK's no-op recorder (a tool without a name)
        if span is not None:
            span.set_attributes(record.attributes)
        error = self._call_error(kwargs, record.call_error) if record.call_error else None
        try:
            recorder.set_result(record.end)
            if error is not None:
                recorder.set_exec_error(error)
        finally:
            recorder.end()
        refused = recorder.err()
        # the SDK reports the tool's own failure back as its error: only another one is a refusal
        if refused is not None and refused is not error:
            self.problems.report(f"sdk:{type(refused).__name__}", f"tool execution not recorded in full: {refused}")

    def _finish(self, recorder: Any, result: Any, kwargs: dict[str, Any], call_error: str | None, what: str) -> None:
        """Set the result (and the call error of a failure), end the recording, report an SDK refusal."""
        try:
            recorder.set_result(result)
            if call_error is not None:
                recorder.set_call_error(self._call_error(kwargs, call_error))
        finally:
            recorder.end()
        error = recorder.err()
        if error is not None:
            self.problems.report(f"sdk:{type(error).__name__}", f"{what} not queued for export: {error}")
