"""The LiteLLM callback: one Sigil generation (or embedding span) per LiteLLM event."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import litellm
from litellm.integrations.custom_logger import CustomLogger
from sigil_sdk import Client

from ._mapping import (
    MappingOptions,
    call_type_of,
    classify_call,
    map_embedding,
    map_generation,
)
from ._problems import ProblemLog

logger = logging.getLogger("sigil_sdk_litellm")

try:  # LiteLLM's own decision whether message content may be logged (global, per request, headers)
    from litellm.litellm_core_utils.redact_messages import should_redact_message_logging as _litellm_redacts
except ImportError:  # pragma: no cover - older LiteLLM layouts

    def _litellm_redacts(model_call_details: dict[str, Any]) -> bool:
        return bool(getattr(litellm, "turn_off_message_logging", False))


class CallFailed(Exception):
    """Stands in for the provider error when LiteLLM hands over only its text."""


class SigilLiteLLMLogger(CustomLogger):  # type: ignore[misc]
    """A LiteLLM callback that records every completion as a Sigil generation.

    Register it in ``litellm.callbacks`` (SDK) or through ``litellm_settings.callbacks`` (proxy).
    Completions and text completions become generations (SYNC, or STREAM with the first-token
    time); embeddings become the SDK's embedding spans; other call types are ignored. Nothing the
    handler meets is allowed to raise into LiteLLM: problems are logged once with a ``sigil:``
    prefix and counted in :attr:`problems`.

    When a callback returns, the generation is queued in ``client``: ``client.flush()`` or
    ``client.shutdown()`` exports it.
    """

    def __init__(
        self,
        *,
        client: Client,
        capture_inputs: bool = True,
        capture_outputs: bool = True,
        agent_name: str = "",
        agent_version: str = "",
        conversation_id: str = "",
        extra_tags: Mapping[str, str] | None = None,
        extra_metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if client is None:
            raise TypeError("SigilLiteLLMLogger needs a sigil_sdk.Client: SigilLiteLLMLogger(client=Client())")
        super().__init__()
        self.client = client
        self.options = MappingOptions(
            capture_inputs=bool(capture_inputs),
            capture_outputs=bool(capture_outputs),
            agent_name=agent_name or "",
            agent_version=agent_version or "",
            conversation_id=conversation_id or "",
            extra_tags=dict(extra_tags or {}),
            extra_metadata=dict(extra_metadata or {}),
        )
        self.problems = ProblemLog()

    def __repr__(self) -> str:
        o = self.options
        return (
            f"SigilLiteLLMLogger(capture_inputs={o.capture_inputs}, capture_outputs={o.capture_outputs}, "
            f"agent_name={o.agent_name!r}, agent_version={o.agent_version!r})"
        )

    # LiteLLM entry points: proxy and async SDK calls use the async pair, sync SDK calls the sync one.

    async def async_log_success_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: datetime, end_time: datetime
    ) -> None:
        self.record(kwargs, response_obj, failed=False)

    async def async_log_failure_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: datetime, end_time: datetime
    ) -> None:
        self.record(kwargs, response_obj, failed=True)

    def log_success_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: datetime, end_time: datetime
    ) -> None:
        self.record(kwargs, response_obj, failed=False)

    def log_failure_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: datetime, end_time: datetime
    ) -> None:
        self.record(kwargs, response_obj, failed=True)

    # -------------------------------------------------------------------------------------------

    def record(self, kwargs: Any, response_obj: Any, *, failed: bool) -> None:
        """Map one LiteLLM event and hand it to the SDK. Never raises."""
        try:
            if not isinstance(kwargs, dict):
                return
            kind = classify_call(call_type_of(kwargs))
            if kind is None:
                return
            redacted = self._redacted(kwargs)
            if kind == "generation":
                self._record_generation(kwargs, response_obj, failed=failed, redacted=redacted)
            else:
                self._record_embedding(kwargs, response_obj, failed=failed, redacted=redacted)
        except Exception as exc:  # noqa: BLE001 - the one catch-all: telemetry never breaks the host
            self.problems.report(
                f"handler:{type(exc).__name__}",
                f"could not record a LiteLLM event ({type(exc).__name__}: {exc}); the request itself was not affected",
            )

    def _redacted(self, kwargs: dict[str, Any]) -> bool:
        if self.turn_off_message_logging or self.message_logging is not True:
            return True
        try:
            return bool(_litellm_redacts(kwargs))
        except Exception:  # noqa: BLE001 - unknown: err on the side of privacy
            return True

    def _call_error(self, kwargs: dict[str, Any], text: str) -> Exception:
        exception = kwargs.get("exception")
        return exception if isinstance(exception, Exception) else CallFailed(text)

    def _record_generation(self, kwargs: dict[str, Any], response_obj: Any, *, failed: bool, redacted: bool) -> None:
        record = map_generation(kwargs, response_obj, self.options, failed=failed, redacted=redacted)
        if failed:
            record.generation.call_error = record.call_error
        start = (
            self.client.start_streaming_generation
            if record.start.mode is not None and record.start.mode.value == "STREAM"
            else self.client.start_generation
        )
        recorder = start(record.start)
        try:
            if record.first_token_at is not None:
                recorder.set_first_token_at(record.first_token_at)
            recorder.set_result(record.generation)
            if failed:
                recorder.set_call_error(self._call_error(kwargs, record.call_error))
        finally:
            recorder.end()
        error = recorder.err()
        if error is not None:
            self.problems.report(f"sdk:{type(error).__name__}", f"generation not queued for export: {error}")

    def _record_embedding(self, kwargs: dict[str, Any], response_obj: Any, *, failed: bool, redacted: bool) -> None:
        record = map_embedding(kwargs, response_obj, self.options, failed=failed, redacted=redacted)
        recorder = self.client.start_embedding(record.start)
        try:
            recorder.set_result(record.result)
            if failed:
                recorder.set_call_error(self._call_error(kwargs, record.call_error))
        finally:
            recorder.end()
        error = recorder.err()
        if error is not None:
            self.problems.report(f"sdk:{type(error).__name__}", f"embedding not recorded: {error}")


def create_sigil_litellm_logger(
    *,
    client: Client,
    capture_inputs: bool = True,
    capture_outputs: bool = True,
    agent_name: str = "",
    agent_version: str = "",
    conversation_id: str = "",
    extra_tags: Mapping[str, str] | None = None,
    extra_metadata: Mapping[str, Any] | None = None,
) -> SigilLiteLLMLogger:
    """Factory with the same keyword-only options as :class:`SigilLiteLLMLogger`."""
    return SigilLiteLLMLogger(
        client=client,
        capture_inputs=capture_inputs,
        capture_outputs=capture_outputs,
        agent_name=agent_name,
        agent_version=agent_version,
        conversation_id=conversation_id,
        extra_tags=extra_tags,
        extra_metadata=extra_metadata,
    )
