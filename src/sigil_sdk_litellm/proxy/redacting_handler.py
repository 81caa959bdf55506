"""The in-process callback with ``SIGIL_REDACT_SECRETS``: it maps each event's slim copy, its secrets redacted.

A recorder process maps the slim event the worker hands it; in process the handler maps LiteLLM's own
``kwargs``, which must stay as they are (other callbacks read them). So here the event is slimmed first
(the same copy of what the mapping reads, mapped to the same generation: tested for every route), then
redacted (:mod:`sigil_sdk_litellm.proxy.secret_redaction`), then recorded: one step in front of the
library's handler, which is otherwise unchanged. Most events hold no secret: when every text the slim copy
would take is known or found clean, LiteLLM's own event is recorded as it is, with no copy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sigil_sdk import Client

from sigil_sdk_litellm.handler import SigilLiteLLMLogger
from sigil_sdk_litellm.mapping import MappingOptions, call_type_of, carries_nothing, classify_call
from sigil_sdk_litellm.mapping.conversation_memo import one_event
from sigil_sdk_litellm.proxy.offload.slim_event import slim_event
from sigil_sdk_litellm.proxy.secret_redaction import SecretRedactor, report_unredactable
from sigil_sdk_litellm.recording import ClientRouter, GenerationWriter
from sigil_sdk_litellm.redaction import content_redacted

Redactor = Callable[[dict[str, Any]], dict[str, Any]]


class SecretRedactingLogger(SigilLiteLLMLogger):
    """:class:`~sigil_sdk_litellm.handler.SigilLiteLLMLogger` recording the redacted slim copy of each event."""

    def __init__(
        self,
        *,
        client: Client,
        options: MappingOptions,
        redactor: Redactor,
        router: ClientRouter | None = None,
        writer: GenerationWriter | None = None,
    ) -> None:
        super().__init__(client=client, options=options, router=router, writer=writer)
        self.redactor = redactor

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, redactor={self.redactor!r})"

    def handle_event(self, kwargs: Any, response_obj: Any, *, failed: bool) -> None:
        """Slim, redact, record. Never raises; an event that cannot be redacted is not recorded (no secret
        leaves because redaction failed), and the problem names the exception's type only."""
        if not isinstance(kwargs, dict) or classify_call(call_type_of(kwargs)) is None:
            return
        if carries_nothing(kwargs, response_obj):
            return
        with one_event:  # the redactor and the mapping read the same messages: their bytes once
            try:
                redacted = content_redacted(self, kwargs)
                clean = isinstance(self.redactor, SecretRedactor) and self.redactor.holds_no_secret(
                    kwargs, response_obj
                )
            except Exception as exc:  # noqa: BLE001 - telemetry never breaks the host
                report_unredactable(self.problems, exc)
                return
            if clean:  # nothing to redact: LiteLLM's own event maps to what its slim copy would
                self._recorder.record(kwargs, response_obj, failed=failed, redacted=redacted)
                return
        try:
            keys = self.options.agent_name_metadata_keys
            event = self.redactor(slim_event(kwargs, response_obj, redacted=redacted, agent_name_metadata_keys=keys))
        except Exception as exc:  # noqa: BLE001 - telemetry never breaks the host
            report_unredactable(self.problems, exc)
            return
        # as a recorder process records it: the slim event, no response object beside it
        self._recorder.record(event, None, failed=failed, redacted=redacted)
