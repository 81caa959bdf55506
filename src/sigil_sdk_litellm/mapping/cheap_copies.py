"""Cheap copies of the SDK records one event produces: the content is shared, the containers copied.

sigil-sdk deep-copies the whole generation several times while it records one event (defensive
copies on start, ``set_result``, ``end``, normalisation, validation and enqueue): with the standard
deep copy that is O(conversation size) each time, and it dominates the cost of a LiteLLM event.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sigil_sdk import Generation, GenerationStart, Message, ModelRef, TokenUsage


def _copy_model(model: ModelRef) -> ModelRef:
    return ModelRef(provider=model.provider, name=model.name)


def _copy_usage(usage: TokenUsage) -> TokenUsage:
    return TokenUsage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        cache_read_input_tokens=usage.cache_read_input_tokens,
        cache_write_input_tokens=usage.cache_write_input_tokens,
        reasoning_tokens=usage.reasoning_tokens,
    )


def _compile_copier(cls: type) -> Any:
    """Build ``copier(obj) -> clone`` for one SDK dataclass: containers (lists, dicts) and small
    value records (model, usage) are copied, everything else (scalars, shared content) is reused.

    Generated once per class, like ``dataclasses`` generates ``__init__``: a straight-line function
    is several times faster than looping over the 30-odd fields on every copy.
    """
    namespace: dict[str, Any] = {"new": object.__new__, "copy_model": _copy_model, "copy_usage": _copy_usage}
    lines = ["def copier(obj):", "    clone = new(type(obj))"]
    for f in dataclasses.fields(cls):
        factory = f.default_factory
        if factory is list:
            value = f"list(obj.{f.name})"
        elif factory is dict:
            value = f"dict(obj.{f.name})"
        elif factory is ModelRef or f.name == "model":
            value = f"copy_model(obj.{f.name})"
        elif factory is TokenUsage:
            value = f"copy_usage(obj.{f.name})"
        else:
            value = f"obj.{f.name}"
        lines.append(f"    clone.{f.name} = {value}")
    lines.append("    return clone")
    exec("\n".join(lines), namespace)
    return namespace["copier"]


class SharedMessage(Message):
    """A message that is never changed once mapped: the mapping's memo shares it between events.

    Nothing outside this package holds these objects, so Python's copy protocol lets them say how they
    are copied: a message is its own deep copy, and the generation and its seed copy their
    containers but share the messages. Nothing of the SDK is patched; whatever changes messages in place
    (``fit_generation``, and the SDK's Client in metadata-only mode or with a sanitizer) is handed copies
    first (:func:`~sigil_sdk_litellm.mapping.message_memo.own_messages`), which no one else sees.

    ``memo_key``, when set, names the message's content: the key of the raw message it was mapped
    from (:mod:`.message_memo`); a copy made to be changed has none.
    """

    __slots__ = ("memo_key",)
    memo_key: bytes | None  # unset (as None) on a message made by its constructor

    def __deepcopy__(self, memo: dict[int, Any]) -> SharedMessage:
        return self

    def __copy__(self) -> SharedMessage:
        return self


class SharedGeneration(Generation):
    """A generation whose deep copy copies its containers and shares its content (see above)."""

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, Any]) -> SharedGeneration:
        clone: SharedGeneration = _copy_generation(self)
        return clone


class SharedGenerationStart(GenerationStart):
    """The recorder's seed, copied the same way as :class:`SharedGeneration`."""

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, Any]) -> SharedGenerationStart:
        clone: SharedGenerationStart = _copy_start(self)
        return clone


_copy_generation = _compile_copier(Generation)
_copy_start = _compile_copier(GenerationStart)
