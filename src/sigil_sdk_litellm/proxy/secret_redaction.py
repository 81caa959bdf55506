"""``SIGIL_REDACT_SECRETS``: API keys, tokens and passwords redacted out of an event before it leaves the worker.

The patterns and their replacement (``[REDACTED:<kind>]``) are sigil-sdk's own secret-redaction sanitizer
(``create_secret_redaction_sanitizer``, Gitleaks-derived): ``lightweight`` is its tier 1 (definite secret
formats — cloud, AI and VCS API keys, private keys, connection strings, bearer tokens — and e-mail
addresses), ``full`` adds its tier 2 (``PASSWORD=…``, ``API_KEY: …`` values, as in a pasted ``.env``).
The SDK applies that sanitizer to a generation at export only, and leaves the user's messages alone; here
it is applied to every text of the *slim event* (:mod:`~sigil_sdk_litellm.proxy.offload.slim_event`): what
the worker writes to the disk spool or hands to a recorder process, and what it maps itself in process.
So the generation, its span and span events, a tool execution's arguments and result and an error's text
are all built from redacted text, in either placement, and no secret reaches the disk.

Who the event is about is not content and is left as it is (ids, model, team, key alias, user, tags,
trace context: e.g. a user id that is an e-mail address stays the user id).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from sigil_sdk import (
    Generation,
    Message,
    MessageRole,
    Part,
    PartKind,
    SecretRedactionOptions,
    create_secret_redaction_sanitizer,
)

from sigil_sdk_litellm.mapping.event import MCP_CALL_KEY
from sigil_sdk_litellm.mapping.read_fields import KWARGS_KEYS, SLO_KEYS
from sigil_sdk_litellm.mapping.trace_context import TRACEPARENT_KEY

__all__ = ["SecretRedaction", "SecretRedactor", "build_secret_redactor"]

SecretRedaction = Literal["off", "lightweight", "full"]

# The slim event's keys that say who and when, not what was said (everything else is scanned, so a key the
# mapping starts to read is redacted until it is named here).
_CONTENT_SLO_KEYS = ("messages", "response", "model_parameters", "error_str")
_IDENTITY_KEYS = frozenset({*KWARGS_KEYS, "litellm_params", "response_usage", TRACEPARENT_KEY})
_IDENTITY_SLO_KEYS = frozenset({*(k for k in SLO_KEYS if k not in _CONTENT_SLO_KEYS), "metadata", "hidden_params"})
_SLO = "standard_logging_object"
_ARGUMENTS = "arguments"  # the one content of the proxy's metadata: an MCP tool call's arguments


class SecretRedactor:
    """``redactor(event)``: the slim event with the secrets of its texts redacted (a ``tier`` other than off).

    Containers holding a redacted text are copied, the others shared: the slim event shares LiteLLM's own
    payload, which other callbacks still read. Unchanged events are returned as they are.
    """

    def __init__(self, tier: Literal["lightweight", "full"]) -> None:
        self.tier = tier
        self._sanitize = create_secret_redaction_sanitizer(SecretRedactionOptions(redact_input_messages=True))
        # the SDK's sanitizer redacts a user message's text in full (tiers 1 and 2), an assistant's with tier 1
        self._role = MessageRole.USER if tier == "full" else MessageRole.ASSISTANT

    def __repr__(self) -> str:
        return f"SecretRedactor({self.tier!r})"

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        texts: list[str] = []
        for key, value in event.items():
            if key == _SLO and isinstance(value, dict):
                _slo_texts(value, texts.append)
            elif key not in _IDENTITY_KEYS:
                _texts(value, texts.append)
        redacted = self.redact_texts(texts)
        if not redacted:
            return event
        slim = {key: value if key in _IDENTITY_KEYS else _replaced(value, redacted) for key, value in event.items()}
        slo = event.get(_SLO)
        if isinstance(slo, dict):
            slim[_SLO] = _slo_replaced(slo, redacted)
        return slim

    def redact_texts(self, texts: list[str]) -> dict[str, str]:
        """Each text of ``texts`` the SDK's sanitizer changes → what it made of it (one sanitizer call)."""
        if not texts:
            return {}
        parts = [Part(kind=PartKind.TEXT, text=text) for text in texts]
        self._sanitize(Generation(input=[Message(role=self._role, parts=parts)]))
        return {text: part.text for text, part in zip(texts, parts, strict=True) if part.text != text}


def build_secret_redactor(tier: SecretRedaction) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    """The redactor of ``SIGIL_REDACT_SECRETS``, or None for ``off`` (nothing added to an event's path)."""
    return None if tier == "off" else SecretRedactor(tier)


def _texts(value: Any, found: Callable[[str], None]) -> None:
    if isinstance(value, str):
        if value:
            found(value)
    elif isinstance(value, dict):
        for item in value.values():
            _texts(item, found)
    elif isinstance(value, list | tuple):
        for item in value:
            _texts(item, found)


def _replaced(value: Any, redacted: dict[str, str]) -> Any:
    """``value`` with each text in ``redacted`` replaced; a container only copied when something in it is."""
    if isinstance(value, str):
        return redacted.get(value, value)
    if isinstance(value, dict):
        items = {key: _replaced(item, redacted) for key, item in value.items()}
        return items if any(items[key] is not item for key, item in value.items()) else value
    if isinstance(value, list | tuple):
        copied = [_replaced(item, redacted) for item in value]
        if all(new is old for new, old in zip(copied, value, strict=True)):
            return value
        return copied if isinstance(value, list) else tuple(copied)
    return value


def _mcp_arguments(slo: dict[str, Any]) -> Any:
    metadata = slo.get("metadata")
    call = metadata.get(MCP_CALL_KEY) if isinstance(metadata, dict) else None
    return call.get(_ARGUMENTS) if isinstance(call, dict) else None


def _slo_texts(slo: dict[str, Any], found: Callable[[str], None]) -> None:
    for key, value in slo.items():
        if key not in _IDENTITY_SLO_KEYS:
            _texts(value, found)
    _texts(_mcp_arguments(slo), found)


def _slo_replaced(slo: dict[str, Any], redacted: dict[str, str]) -> dict[str, Any]:
    slim = {key: value if key in _IDENTITY_SLO_KEYS else _replaced(value, redacted) for key, value in slo.items()}
    arguments = _mcp_arguments(slo)
    replaced = _replaced(arguments, redacted)
    if replaced is not arguments:  # the MCP call's record and the metadata around it, copied
        call = {**slo["metadata"][MCP_CALL_KEY], _ARGUMENTS: replaced}
        slim["metadata"] = {**slo["metadata"], MCP_CALL_KEY: call}
    return slim
