"""A LiteLLM proxy callback that writes every event it receives to ``$PARITY_CAPTURE_FILE`` (JSON lines).

The differential test (tests/integration/test_parity.py) replays these real events through our handler
and the PyPI ``sigil-sdk-litellm``. An event is kept as LiteLLM passed it: ``kwargs`` (datetimes,
exceptions and the response object tagged so :mod:`tests.parity.replay` can rebuild them), the
response object, the callback's ``start_time`` / ``end_time`` and whether it was a failure. What JSON
cannot hold (LiteLLM's logging object, clients, callables) is left out: neither handler reads it.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

_SKIP = object()
_MAX_DEPTH = 16


def encode(value: Any, depth: int = 0) -> Any:
    """JSON data of ``value``; datetimes, exceptions and pydantic models are tagged, the rest skipped."""
    if depth > _MAX_DEPTH:
        return _SKIP
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, BaseException):
        return {"__exception__": type(value).__name__, "message": str(value)}
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            encoded = encode(item, depth + 1)
            if encoded is not _SKIP:
                out[str(key)] = encoded
        return out
    if isinstance(value, (list, tuple)):
        return [item for item in (encode(v, depth + 1) for v in value) if item is not _SKIP]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return {"__model__": type(value).__name__, "data": encode(dump(), depth + 1)}
        except Exception:  # noqa: BLE001 - a model that cannot dump itself is left out
            return _SKIP
    return _SKIP


class CaptureLogger(CustomLogger):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def _write(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any, *, failed: bool) -> None:
        event = {
            "failed": failed,
            "kwargs": encode(kwargs),
            "response_obj": encode(response_obj),
            "start_time": encode(start_time),
            "end_time": encode(end_time),
        }
        line = json.dumps(event, default=str)
        with self._lock, open(os.environ["PARITY_CAPTURE_FILE"], "a", encoding="utf-8") as out:
            out.write(line + "\n")

    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._write(kwargs, response_obj, start_time, end_time, failed=False)

    async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._write(kwargs, response_obj, start_time, end_time, failed=True)


capture_handler = CaptureLogger()
