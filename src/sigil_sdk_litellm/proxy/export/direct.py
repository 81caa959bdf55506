"""In process, a generation straight into the delivery buffer: what sigil-sdk's Client would queue, less its cost.

``Client.start_generation`` … ``end()`` copies the generation several times, maps it to protobuf once
just to check its size, queues it for a flush thread that maps it again to encode it, and makes a
span and four histogram records — which, with no OpenTelemetry provider, go nowhere. On the proxy's
event loop (``SIGIL_RECORDER=inprocess``, what ``auto`` picks on one CPU) that is most of what an
event costs (docs/cpu-profile.md). :class:`DirectWriter` does the same to the generation as the
Client does, in the same order — the seed's defaults from the client's configuration and the
context, the normalisation of ``end()``, the content-capture stamp, the trace ids of the span the
no-op tracer would hand out — validates it with sigil-sdk's own ``validate_generation`` (each message content once, see
:func:`_refusal`), encodes it once with the delivery's encoder (cached messages: :mod:`.message_cache`) and buffers it.

It takes an event only where the Client's result is exactly that: no tracer or meter (none
configured, no global provider), no sanitizer or content-capture resolver, content kept (not
``metadata_only``), a generation id, a gRPC transport, an open client. Anything else goes through the
Client as before. tests/unit/proxy/export/test_direct.py proves the buffered bytes equal to the
Client's over the benchmark's conversations and the differential test's events.
"""

from __future__ import annotations

import copy
import logging
from datetime import UTC, datetime
from typing import Any

from opentelemetry import metrics, trace
from sigil_sdk import Client, ContentCaptureMode, GenerationMode
from sigil_sdk.context import (
    agent_name_from_context,
    agent_version_from_context,
    content_capture_mode_from_context,
    conversation_id_from_context,
    conversation_title_from_context,
    user_id_from_context,
)
from sigil_sdk.errors import ValidationError
from sigil_sdk.models import Generation, Message
from sigil_sdk.validation import validate_generation

from sigil_sdk_litellm.mapping.generation import GenerationRecord
from sigil_sdk_litellm.mapping.trace_context import parent_context
from sigil_sdk_litellm.proxy.export.delivery import DeliveryExporter
from sigil_sdk_litellm.proxy.export.transport import GrpcTransport

logger = logging.getLogger("sigil_sdk_litellm")

# sigil-sdk's metadata keys and names (private there; the byte-for-byte tests hold them equal)
CONTENT_CAPTURE_KEY = "sigil.sdk.content_capture_mode"
CONVERSATION_TITLE_KEY = "sigil.conversation.title"
USER_ID_KEY = "sigil.user.id"
LEGACY_USER_ID_KEY = "user.id"
SDK_NAME_KEY = "sigil.sdk.name"
SDK_NAME = "sdk-python"
_NO_METER_PROVIDERS = ("_ProxyMeterProvider", "NoOpMeterProvider")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _operation(mode: GenerationMode | None) -> str:
    return "streamText" if mode == GenerationMode.STREAM else "generateText"


def _metadata_text(metadata: dict[str, Any], key: str) -> str:
    raw = metadata.get(key)
    return raw.strip() if isinstance(raw, str) else ""


def _refusal(generation: Generation, inputs: list[Message], outputs: list[Message]) -> Exception | None:
    """sigil-sdk's validation of ``generation``, each message content once: a message that a validated
    generation held before (``inputs`` / ``outputs`` are the others) is not checked again. A refusal is
    the Client's error for the whole generation (its text names the message's index there)."""
    held = generation.input, generation.output
    generation.input, generation.output = inputs, outputs
    try:
        validate_generation(generation)
        return None
    except Exception:  # noqa: BLE001 - the whole generation's error, below
        pass
    finally:
        generation.input, generation.output = held
    try:
        validate_generation(generation)
    except Exception as exc:  # noqa: BLE001 - reported as the Client reports it
        return ValidationError(f"sigil: generation validation failed: {exc}")
    return None


class _ClientView:
    """What the writer needs of one client, read once: its resolved configuration."""

    __slots__ = ("client", "config", "mode", "usable")

    def __init__(self, client: Client) -> None:
        self.client = client
        config = client._config  # the resolved ClientConfig (the Client reads it the same way)
        self.config = config
        mode = config.content_capture
        self.mode: ContentCaptureMode = (
            ContentCaptureMode.NO_TOOL_CONTENT if mode is None or mode == ContentCaptureMode.DEFAULT else mode
        )
        exporter = config.generation_exporter
        self.usable = (
            isinstance(exporter, DeliveryExporter)
            and isinstance(exporter.transport, GrpcTransport)
            and config.tracer is None
            and config.meter is None
            and config.generation_sanitizer is None
            and config.content_capture_resolver is None
        )


class DirectWriter:
    """Records a mapped generation into its client's delivery buffer as the client would (module doc)."""

    def __init__(self) -> None:
        self._views: dict[int, _ClientView] = {}

    def _view(self, client: Client) -> _ClientView:
        view = self._views.get(id(client))
        if view is None or view.client is not client:
            view = self._views[id(client)] = _ClientView(client)
        return view

    def write(self, client: Client, record: GenerationRecord, call_error: Exception | None) -> bool | Exception:
        """True when the generation was buffered, an exception when sigil-sdk's validation refused it (as
        the Client would report it), False when this event must go through the Client."""
        view = self._view(client)
        if not view.usable or client._closed or client._shutting_down:
            return False
        mode = view.mode
        context_mode = content_capture_mode_from_context()
        if context_mode is not None and context_mode != ContentCaptureMode.DEFAULT:
            mode = context_mode
        seed_mode = record.start.content_capture
        if seed_mode != ContentCaptureMode.DEFAULT:
            mode = seed_mode
        if mode == ContentCaptureMode.METADATA_ONLY or not record.generation.id:
            return False
        if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            return False
        if type(metrics.get_meter_provider()).__name__ not in _NO_METER_PROVIDERS:
            return False
        exporter = view.config.generation_exporter
        assert isinstance(exporter, DeliveryExporter) and isinstance(exporter.transport, GrpcTransport)
        generation = self._normalized(view, record, call_error)
        generation.metadata[CONTENT_CAPTURE_KEY] = mode.value
        transport = exporter.transport
        keys = transport.encoder.keys(generation)  # not metadata_only, no sanitizer: nothing changed them
        refused = _refusal(generation, *transport.encoder.unvalidated(generation, keys))
        if refused is not None:
            return refused
        encoded = transport.encode_generation(generation, keys, validated=True)
        limit = view.config.generation_export.payload_max_bytes
        if limit > 0 and len(encoded) > limit:
            return False  # the Client refuses it with its own error
        linger = view.config.generation_export.flush_interval.total_seconds()
        exporter.export_encoded(generation.id, transport.as_request_entry(encoded), linger)
        return True

    @staticmethod
    def _normalized(view: _ClientView, record: GenerationRecord, call_error: Exception | None) -> Generation:
        """``start_generation``'s seed and ``end()``'s normalisation, for the fields this package sets."""
        config, start = view.config, record.start
        now = _utc(config.now() if config.now is not None else datetime.now(UTC))
        # the seed (Client._start_generation)
        mode = start.mode if start.mode is not None else GenerationMode.SYNC
        operation = start.operation_name or _operation(mode)
        title = start.conversation_title.strip() or (conversation_title_from_context() or "").strip()
        user_id = start.user_id.strip() or (user_id_from_context() or "").strip() or (config.user_id or "")
        conversation_id = start.conversation_id or conversation_id_from_context() or ""
        agent_name = start.agent_name or agent_name_from_context() or config.agent_name or ""
        agent_version = start.agent_version or agent_version_from_context() or config.agent_version or ""
        seed_tags = {**config.tags, **start.tags} if config.tags else start.tags
        started_at = _utc(start.started_at) if start.started_at is not None else now

        # the result (GenerationRecorder.end → _normalize_generation): a copy that shares the messages
        generation = copy.deepcopy(record.generation)
        generation.id = generation.id or start.id
        generation.conversation_id = generation.conversation_id or conversation_id
        generation.conversation_title = generation.conversation_title or title
        generation.user_id = generation.user_id or user_id
        generation.agent_name = generation.agent_name or agent_name
        generation.agent_version = generation.agent_version or agent_version
        if generation.mode is None:
            generation.mode = mode
        generation.operation_name = generation.operation_name or operation
        model = generation.model
        model.provider = model.provider or start.model.provider
        model.name = model.name or start.model.name
        generation.system_prompt = generation.system_prompt or start.system_prompt
        for name in ("max_tokens", "temperature", "top_p", "tool_choice", "thinking_enabled"):
            if getattr(generation, name) is None:
                setattr(generation, name, getattr(start, name))
        if not generation.tools:
            generation.tools = copy.deepcopy(start.tools)
        if not generation.parent_generation_ids:
            generation.parent_generation_ids = list(start.parent_generation_ids)
        if not generation.effective_version.strip():
            generation.effective_version = start.effective_version
        generation.tags = {**seed_tags, **generation.tags}
        metadata: dict[str, Any] = {**start.metadata, **generation.metadata}
        generation.metadata = metadata

        title = generation.conversation_title.strip() or _metadata_text(metadata, CONVERSATION_TITLE_KEY)
        generation.conversation_title = title
        if title:
            metadata[CONVERSATION_TITLE_KEY] = title
        user_id = (
            generation.user_id.strip()
            or _metadata_text(metadata, USER_ID_KEY)
            or _metadata_text(metadata, LEGACY_USER_ID_KEY)
        )
        generation.user_id = user_id
        if user_id:
            metadata[USER_ID_KEY] = user_id
        generation.started_at = _utc(generation.started_at) if generation.started_at is not None else started_at
        generation.completed_at = _utc(generation.completed_at) if generation.completed_at is not None else now
        if call_error is not None:
            if generation.call_error == "":
                generation.call_error = str(call_error)
            metadata["call_error"] = str(call_error)
        metadata[SDK_NAME_KEY] = SDK_NAME
        generation.usage = generation.usage.normalize()

        # the trace ids of the span OpenTelemetry's no-op tracer hands out: the current (request's) one
        parent = parent_context(record.traceparent) if record.traceparent else None
        span = trace.get_current_span(parent).get_span_context()
        if span.trace_id:
            generation.trace_id = f"{span.trace_id:032x}"
        if span.span_id:
            generation.span_id = f"{span.span_id:016x}"
        return generation
