r"""``SIGIL_REDACT_SECRETS``: API keys, tokens and passwords redacted out of an event before it leaves the worker.

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
trace context, the answer's id: e.g. a user id that is an e-mail address stays the user id).

Speed: CPython's ``re`` runs the SDK's 24 patterns one after the other over every text (each starting with
``\b``, which defeats its literal search): about 5 ms for a 42-message chat. So all the patterns of the tier
are first searched at once with RE2 (``google-re2``, linear time, one pass over all the texts: tens of
microseconds), and only the texts where one may match go through the SDK's sanitizer; a text found clean is
not scanned again (:mod:`~sigil_sdk_litellm.proxy.clean_texts`: an agent chat's history comes back every
turn). The RE2 pattern
matches wherever one of the SDK's does (its ``\s`` widened to Python's Unicode whitespace; RE2's ASCII
``\b`` only adds matches), so the result is the sanitizer's own (tested against it). Without RE2, or when
the SDK's patterns cannot be read, every text goes through the sanitizer.
"""

from __future__ import annotations

import bisect
import importlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
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

from sigil_sdk_litellm.mapping.coerce import as_dict
from sigil_sdk_litellm.mapping.conversation_memo import PrefixIndex, known_beginning
from sigil_sdk_litellm.mapping.event import MCP_CALL_KEY, api_family, call_type_of, classify_call
from sigil_sdk_litellm.mapping.read_fields import KWARGS_KEYS, SLO_KEYS
from sigil_sdk_litellm.mapping.trace_context import TRACEPARENT_KEY
from sigil_sdk_litellm.problem_log import ProblemLog
from sigil_sdk_litellm.proxy.clean_texts import CleanTexts

__all__ = ["SecretRedaction", "SecretRedactor", "build_secret_redactor", "report_unredactable"]

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

    def __init__(self, tier: Literal["lightweight", "full"], clean: CleanTexts | None = None) -> None:
        self.tier = tier
        self.clean = CleanTexts() if clean is None else clean  # texts of earlier events found clean
        # message lists found clean whole: an agent chat's history is not read again (2 MiB of their bytes)
        self.conversations: PrefixIndex[None] = PrefixIndex(budget=2 << 20)
        self._sanitize = create_secret_redaction_sanitizer(SecretRedactionOptions(redact_input_messages=True))
        # the SDK's sanitizer redacts a user message's text in full (tiers 1 and 2), an assistant's with tier 1
        self._role = MessageRole.USER if tier == "full" else MessageRole.ASSISTANT
        self.prefilter = _re2_prefilter(tier)  # None: every text goes through the sanitizer

    def __repr__(self) -> str:
        return f"SecretRedactor({self.tier!r})"

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        redacted = self.redact_texts(_event_texts(event))
        if not redacted:
            return event
        slim = {key: value if key in _IDENTITY_KEYS else _replaced(value, redacted) for key, value in event.items()}
        slo = event.get(_SLO)
        if isinstance(slo, dict):
            slim[_SLO] = _slo_replaced(slo, redacted)
        return slim

    def holds_no_secret(self, kwargs: Mapping[str, Any], response_obj: Any) -> bool:
        """True when the slim event of this LiteLLM event would hold no text the sanitizer changes: every
        text it would copy (and more: the whole containers it picks from) is known or found clean. Then
        the redacted slim event is the slim event, and mapping LiteLLM's own ``kwargs`` gives the same
        generation (the slim event's contract). False: slim it and redact it."""
        messages = _raw_messages(kwargs)
        beginning = known_beginning(self.conversations, messages)
        seen, found = beginning if beginning is not None else (None, None)
        known = found[0] if found is not None else 0
        texts = _raw_texts(kwargs, response_obj, known_messages=known)
        if texts is None or self.redact_texts(texts):
            return False
        if seen is not None and known < len(messages):  # every text of these messages found clean
            self.conversations.add(seen, len(messages), None)
        return True

    def redact_texts(self, texts: list[str]) -> dict[str, str]:
        """Each text of ``texts`` the SDK's sanitizer changes → what it made of it."""
        unknown = self.clean.unknown(texts)
        if not unknown:
            return {}
        candidates = self._candidates(unknown)
        changed: dict[str, str] = {}
        if candidates:
            parts = [Part(kind=PartKind.TEXT, text=text) for text in candidates]
            self._sanitize(Generation(input=[Message(role=self._role, parts=parts)]))
            changed = {text: part.text for text, part in zip(candidates, parts, strict=True) if part.text != text}
        self.clean.add(text for text in unknown if text not in changed)
        return changed

    def _candidates(self, texts: list[str]) -> list[str]:
        """The texts where one of the tier's patterns may match: those a prefilter match touches. Their order
        does not matter: a text a pattern matches in is touched by that match or by one running into it."""
        if self.prefilter is None or not texts:
            return texts
        starts = [0]
        for text in texts[:-1]:
            starts.append(starts[-1] + len(text) + 1)
        try:
            spans = [(m.start(), m.end()) for m in self.prefilter("\n".join(texts))]
        except Exception:  # noqa: BLE001 - e.g. a lone surrogate RE2 cannot encode: let the sanitizer see all
            return texts
        touched: set[int] = set()
        for start, end in spans:  # a match may run across texts (a private key's lazy body): all of them
            touched.update(range(bisect.bisect_right(starts, start) - 1, bisect.bisect_right(starts, end - 1)))
        return [texts[i] for i in sorted(touched)]


# Python's \s (Unicode whitespace) as an RE2 class: RE2's own \s is ASCII [\t\n\f\r ]
_PYTHON_SPACE = r"[\s\x{0b}\x{1c}-\x{1f}\x{85}\p{Z}]"


def _re2_source(pattern: re.Pattern[str]) -> str:
    r"""One of the SDK's patterns for RE2, matching wherever it matches: ``\s`` outside a class widened (inside
    the SDK's classes it is negated or beside ``\S``, where RE2's narrower one only adds matches)."""
    out: list[str] = []
    source = pattern.pattern
    in_class = False
    i = 0
    while i < len(source):
        if source[i] == "\\" and i + 1 < len(source):
            pair = source[i : i + 2]
            out.append(_PYTHON_SPACE if pair == r"\s" and not in_class else pair)
            i += 2
            continue
        if source[i] == "[":
            in_class = True
        elif source[i] == "]":
            in_class = False
        out.append(source[i])
        i += 1
    return ("(?i:{})" if pattern.flags & re.IGNORECASE else "(?:{})").format("".join(out))


def _sdk_patterns(tier: str) -> list[re.Pattern[str]]:
    """The compiled patterns behind sigil-sdk's sanitizer at ``tier`` ([] when they cannot be read). The SDK
    exposes them only through the sanitizer, so they are read from its module by name; if a release moves
    them, the prefilter is off (slower, same result) and a unit test says so."""
    sdk = importlib.import_module("sigil_sdk.redaction")
    names = ("_TIER1_PATTERNS", "_EMAIL_PATTERN", *(("_TIER2_PATTERNS",) if tier == "full" else ()))
    found: list[Any] = []
    for name in names:
        value = getattr(sdk, name, None)
        found.extend(value if isinstance(value, tuple) else [value])
    patterns = [regex for p in found if isinstance(regex := getattr(p, "regex", None), re.Pattern)]
    return patterns if len(patterns) == len(found) else []


def _re2_prefilter(tier: str) -> Callable[[str], Iterable[Any]] | None:
    """RE2's ``finditer`` of all the tier's patterns at once, None without RE2 or the SDK's patterns."""
    try:
        import re2  # google-re2
    except ImportError:  # pragma: no cover - a proxy extra; without it every text goes to the sanitizer
        return None
    patterns = _sdk_patterns(tier)
    if not patterns:
        return None
    try:
        compiled = re2.compile("|".join(_re2_source(p) for p in patterns))
    except Exception:  # noqa: BLE001 - a pattern RE2 does not take: no prefilter (slower, same result)
        return None
    finditer: Callable[[str], Iterator[Any]] = compiled.finditer
    return finditer


def report_unredactable(problems: ProblemLog, exc: Exception) -> None:
    """An event was dropped because redacting it failed (no secret leaves unredacted): said by the
    exception's type alone, since its text may hold the content."""
    problems.report(
        f"redaction:{type(exc).__name__}",
        f"an event was not recorded: redacting its secrets failed ({type(exc).__name__})",
    )


def build_secret_redactor(tier: SecretRedaction) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    """The redactor of ``SIGIL_REDACT_SECRETS``, or None for ``off`` (nothing added to an event's path)."""
    return None if tier == "off" else SecretRedactor(tier)


def _texts(value: Any, found: Callable[[str], None]) -> None:
    if isinstance(value, str):
        if value:
            found(value)
        return
    if isinstance(value, dict):
        items: Iterable[Any] = value.values()
    elif isinstance(value, list | tuple):
        items = value
    else:
        return
    for item in items:  # JSON's leaves here, not a call each: most of what a chat holds
        kind = type(item)
        if kind is str:
            if item:
                found(item)
        elif item is not None and kind is not int and kind is not float and kind is not bool:
            _texts(item, found)


def _replaced(value: Any, redacted: dict[str, str]) -> Any:
    """``value`` with each text in ``redacted`` replaced; a container only copied when something in it is."""
    if isinstance(value, str):
        return redacted.get(value, value)
    if isinstance(value, dict):
        changed: dict[Any, Any] | None = None
        for key, item in value.items():
            new = _replaced(item, redacted)
            if new is not item:
                changed = dict(value) if changed is None else changed
                changed[key] = new
        return value if changed is None else changed
    if isinstance(value, list | tuple):
        items: list[Any] | None = None
        for i, item in enumerate(value):
            new = _replaced(item, redacted)
            if new is not item:
                items = list(value) if items is None else items
                items[i] = new
        if items is None:
            return value
        return items if isinstance(value, list) else tuple(items)
    return value


def _mcp_arguments(slo: dict[str, Any]) -> Any:
    metadata = slo.get("metadata")
    call = metadata.get(MCP_CALL_KEY) if isinstance(metadata, dict) else None
    return call.get(_ARGUMENTS) if isinstance(call, dict) else None


def _content_texts(key: str, value: Any, found: Callable[[str], None]) -> None:
    """The texts of the logging object's ``key``: the answer's own id (new each request, so never known
    clean) says which answer, not what was said, and is left as the other ids are."""
    if key == "response" and isinstance(value, dict):
        for field, item in value.items():
            if field != "id":
                _texts(item, found)
        return
    _texts(value, found)


def _slo_texts(slo: dict[str, Any], found: Callable[[str], None]) -> None:
    for key, value in slo.items():
        if key not in _IDENTITY_SLO_KEYS:
            _content_texts(key, value, found)
    _texts(_mcp_arguments(slo), found)


def _event_texts(event: dict[str, Any]) -> list[str]:
    """The texts of a slim event the redactor scans: all but who and when."""
    texts: list[str] = []
    for key, value in event.items():
        if key == _SLO and isinstance(value, dict):
            _slo_texts(value, texts.append)
        elif key not in _IDENTITY_KEYS:
            _texts(value, texts.append)
    return texts


# the logging object's content the slim event copies besides its messages (the other keys say who and
# when, or are never read)
_RAW_SLO_CONTENT = (*(key for key in _CONTENT_SLO_KEYS if key != "messages"), "error_information")


def _raw_messages(kwargs: Mapping[str, Any]) -> Any:
    """The request's messages where the slim event takes them from: the logging object's, else LiteLLM's."""
    slo = kwargs.get(_SLO)
    messages = slo.get("messages") if isinstance(slo, dict) else None
    return messages if messages else kwargs.get("messages")


def _raw_texts(kwargs: Mapping[str, Any], response_obj: Any, *, known_messages: int = 0) -> list[str] | None:
    """A superset of the texts the redactor would scan in ``slim_event(kwargs, response_obj)``, read from
    LiteLLM's own event where the slim event copies them from (whole containers where it picks keys),
    but those of the first ``known_messages`` messages (found clean before); None where that takes more
    than a walk (the answer as an object, an exception's text).
    tests/unit/proxy/test_secret_redaction.py checks the superset over every route's events."""
    slo = kwargs.get(_SLO)
    if not isinstance(slo, dict) or kwargs.get("exception") is not None:
        return None
    if not (isinstance(slo.get("response"), dict) and slo["response"]) and response_obj is not None:
        return None  # the slim event holds the response object's dump
    texts: list[str] = []
    found = texts.append
    messages = _raw_messages(kwargs)
    _texts(messages[known_messages:] if known_messages else messages, found)
    for key in _RAW_SLO_CONTENT:
        _content_texts(key, slo.get(key), found)
    _texts(_mcp_arguments(slo), found)
    call_type = call_type_of(kwargs)
    family = api_family(call_type)
    if family == "responses" or classify_call(call_type) == "embedding":
        _texts(kwargs.get("input"), found)
    if not slo.get("model_parameters"):
        _texts(kwargs.get("optional_params"), found)
    elif family == "anthropic_messages":
        _texts(as_dict(kwargs.get("optional_params")).get("system"), found)
    if family == "anthropic_messages":  # its system prompt may sit only in litellm_params
        _texts(as_dict(kwargs.get("litellm_params")).get("system"), found)
    return texts


def _slo_replaced(slo: dict[str, Any], redacted: dict[str, str]) -> dict[str, Any]:
    slim = {key: value if key in _IDENTITY_SLO_KEYS else _replaced(value, redacted) for key, value in slo.items()}
    arguments = _mcp_arguments(slo)
    replaced = _replaced(arguments, redacted)
    if replaced is not arguments:  # the MCP call's record and the metadata around it, copied
        call = {**slo["metadata"][MCP_CALL_KEY], _ARGUMENTS: replaced}
        slim["metadata"] = {**slo["metadata"], MCP_CALL_KEY: call}
    return slim
