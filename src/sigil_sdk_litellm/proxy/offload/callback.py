"""The proxy-side LiteLLM callback of out-of-process recording: each event, slimmed and framed, to a link.

:class:`OffloadingSigilLogger` does only the cheap part of recording on the worker's event loop: it picks
the fields the mapping reads (:func:`~sigil_sdk_litellm.proxy.offload.slim_event.slim_event`), pickles
them into a frame (:mod:`sigil_sdk_litellm.proxy.handoff.frames`) and submits it to its link: the pipe to a
recorder process (:mod:`.pipe`) or the disk spool (:mod:`sigil_sdk_litellm.proxy.spool.worker_side`). With a
``redactor`` (``SIGIL_REDACT_SECRETS``, :mod:`sigil_sdk_litellm.proxy.secret_redaction`) the slim event's
secrets are redacted before it is framed: none reaches the pipe or the disk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from litellm.integrations.custom_logger import CustomLogger

from sigil_sdk_litellm.callback_methods import CallbackMethods
from sigil_sdk_litellm.mapping import DEFAULT_AGENT_NAME_METADATA_KEYS, call_type_of, carries_nothing, classify_call
from sigil_sdk_litellm.problem_log import ProblemLog
from sigil_sdk_litellm.proxy.handoff.frames import encode_frame
from sigil_sdk_litellm.proxy.offload.slim_event import slim_event
from sigil_sdk_litellm.proxy.secret_redaction import report_unredactable
from sigil_sdk_litellm.proxy.tenants.router import TenantRouter
from sigil_sdk_litellm.redaction import content_redacted


class EventLink(Protocol):
    """Where the callback's frames go: a recorder process's pipe, or the disk spool."""

    command: list[str]
    problems: ProblemLog

    def submit(self, frame: bytes) -> bool: ...


class OffloadingSigilLogger(CallbackMethods, CustomLogger):  # type: ignore[misc]
    """The proxy-side callback of out-of-process recording (see the module docstring).

    Whoever creates the link closes it when the process stops (the bootstrap does, after the proxy's
    own shutdown): closing drains what is queued and lets the recorder export it.
    """

    def __init__(
        self,
        *,
        link: EventLink,
        agent_name_metadata_keys: tuple[str, ...] = DEFAULT_AGENT_NAME_METADATA_KEYS,
        router: TenantRouter[Any] | None = None,
        redactor: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        super().__init__()
        self.link = link  # with a router (a spool per tenant): the default tenant's
        self.router = router
        # the recorder's keys (same settings): the slim event carries these metadata keys
        self.agent_name_metadata_keys = agent_name_metadata_keys
        self.redactor = redactor
        self.problems = link.problems

    def __repr__(self) -> str:
        return f"OffloadingSigilLogger(recorder={self.link.command[-1]!r})"

    def handle_event(self, kwargs: Any, response_obj: Any, *, failed: bool) -> None:
        """Hand one LiteLLM event to the link. Never raises: LiteLLM awaits failure callbacks inline, so
        this stays cheap and safe."""
        try:
            if not isinstance(kwargs, dict) or classify_call(call_type_of(kwargs)) is None:
                return
            if carries_nothing(kwargs, response_obj):
                return
            redacted = content_redacted(self, kwargs)
            event = slim_event(
                kwargs, response_obj, redacted=redacted, agent_name_metadata_keys=self.agent_name_metadata_keys
            )
            link = self.link if self.router is None else self.router.route(event)[1]
            if self.redactor is not None:
                try:
                    event = self.redactor(event)
                except Exception as exc:  # noqa: BLE001 - not handed over unredacted
                    report_unredactable(self.problems, exc)
                    return
            link.submit(encode_frame(failed, redacted, event))
        except Exception as exc:  # noqa: BLE001 - telemetry never breaks the host
            self.problems.report(
                f"offload:{type(exc).__name__}",
                f"could not hand a LiteLLM event to the recorder ({type(exc).__name__}: {exc})",
            )
