"""The four LiteLLM entry points of the package's callbacks, in one place.

LiteLLM calls ``async_log_*_event`` for proxy requests and async SDK calls, ``log_*_event`` for sync
SDK calls. An error raised *before* the model call (an unknown model, a rejected key, a hook's
refusal) is reported to both failure hooks for the same call: it is handled once, by call id.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any

_REMEMBERED = 4096


class RecentIds:
    """A bounded, thread-safe set of recently seen ids (oldest forgotten first)."""

    def __init__(self, capacity: int = _REMEMBERED) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, ident: str) -> bool:
        with self._lock:
            if ident in self._ids:
                return False
            self._ids[ident] = None
            if len(self._ids) > self._capacity:
                self._ids.popitem(last=False)
            return True


def call_id(kwargs: Any) -> str:
    """LiteLLM's id of the call an event belongs to ('' when it has none)."""
    if not isinstance(kwargs, dict):
        return ""
    value = kwargs.get("litellm_call_id")
    if not value:
        slo = kwargs.get("standard_logging_object")
        value = slo.get("id") if isinstance(slo, dict) else None
    return value if isinstance(value, str) else ""


def with_callback_times(kwargs: Any, start_time: Any, end_time: Any) -> Any:
    """``kwargs`` whose ``start_time`` / ``end_time`` are the callback's arguments (the generation's
    timestamps; LiteLLM's ``kwargs`` may hold earlier ones). A shallow copy: LiteLLM's dict is shared."""
    if not isinstance(kwargs, dict) or not (isinstance(start_time, datetime) or isinstance(end_time, datetime)):
        return kwargs
    if kwargs.get("start_time") is start_time and kwargs.get("end_time") is end_time:
        return kwargs
    timed = dict(kwargs)
    if isinstance(start_time, datetime):
        timed["start_time"] = start_time
    if isinstance(end_time, datetime):
        timed["end_time"] = end_time
    return timed


class CallbackMethods:
    """Mixin (before ``CustomLogger`` in the bases): LiteLLM's four hooks → ``handle_event``."""

    _failures_seen: RecentIds | None = None

    def handle_event(self, kwargs: Any, response_obj: Any, *, failed: bool) -> None:
        raise NotImplementedError

    def _failure(self, kwargs: Any, response_obj: Any) -> None:
        ident = call_id(kwargs)
        if ident:
            seen = self._failures_seen
            if seen is None:
                seen = self._failures_seen = RecentIds()
            if not seen.first_time(ident):
                return
        self.handle_event(kwargs, response_obj, failed=True)

    async def async_log_success_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: datetime, end_time: datetime
    ) -> None:
        self.handle_event(with_callback_times(kwargs, start_time, end_time), response_obj, failed=False)

    async def async_log_failure_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: datetime, end_time: datetime
    ) -> None:
        self._failure(with_callback_times(kwargs, start_time, end_time), response_obj)

    def log_success_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: datetime, end_time: datetime
    ) -> None:
        self.handle_event(with_callback_times(kwargs, start_time, end_time), response_obj, failed=False)

    def log_failure_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: datetime, end_time: datetime
    ) -> None:
        self._failure(with_callback_times(kwargs, start_time, end_time), response_obj)
