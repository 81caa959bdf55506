"""LiteLLM's own decision whether message content may be logged, as one function for both loggers."""

from __future__ import annotations

from typing import Any

import litellm

try:  # global setting, per-request `turn_off_message_logging`, redaction headers
    from litellm.litellm_core_utils.redact_messages import should_redact_message_logging as _litellm_redacts
except ImportError:  # pragma: no cover - older LiteLLM layouts

    def _litellm_redacts(model_call_details: dict[str, Any]) -> bool:
        return bool(getattr(litellm, "turn_off_message_logging", False))


def content_redacted(custom_logger: Any, kwargs: dict[str, Any]) -> bool:
    """True when LiteLLM would redact this event's messages for ``custom_logger``: its own switches,
    then LiteLLM's global, per-request and header settings. Unknown means redacted (privacy first)."""
    try:
        if getattr(custom_logger, "turn_off_message_logging", False):
            return True
        if getattr(custom_logger, "message_logging", True) is not True:
            return True
        return bool(_litellm_redacts(kwargs))
    except Exception:  # noqa: BLE001
        return True
