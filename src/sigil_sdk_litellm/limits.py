"""Keep a generation under Sigil's payload limit by truncating its largest content, visibly.

sigil-sdk refuses to queue a generation whose encoded size exceeds ``payload_max_bytes`` (4 MiB):
a request with a huge prompt or response would vanish from Sigil. Instead, :func:`fit_generation`
cuts the largest texts (message text, reasoning, tool arguments and results, the system prompt,
tool descriptions and schemas) to a common cap so that their total fits the budget, appends a marker
to each cut text, and records the number of characters removed in the generation's metadata
(``sigil.litellm.truncated_chars``). Everything else — ids, model, usage, timings, tags — is kept.

Pure functions on ``sigil_sdk`` model objects; no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sigil_sdk.models import Generation, Message

from sigil_sdk_litellm.mapping.message_memo import own_messages

# the SDK's limit is 4 MiB for the whole generation; content may use 3 MiB of it
DEFAULT_BUDGET = 3 << 20
TRUNCATED_KEY = "sigil.litellm.truncated_chars"
MARKER = "\n…[truncated by sigil-sdk-litellm: {removed} characters removed to fit Sigil's payload limit]"


@dataclass(slots=True)
class _Slot:
    owner: Any
    attr: str
    size: int


def _weight(value: str | bytes) -> int:
    if isinstance(value, bytes):
        return len(value)
    return len(value) if value.isascii() else len(value.encode("utf-8", errors="replace"))


def _slots(generation: Generation) -> Iterator[_Slot]:
    def of(owner: Any, attr: str) -> Iterator[_Slot]:
        value = getattr(owner, attr, None)
        if isinstance(value, str | bytes) and value:
            yield _Slot(owner, attr, _weight(value))

    yield from of(generation, "system_prompt")
    messages: list[Message] = [*(generation.input or []), *(generation.output or [])]
    for message in messages:
        for part in message.parts or []:
            yield from of(part, "text")
            yield from of(part, "thinking")
            if part.tool_call is not None:
                yield from of(part.tool_call, "input_json")
            if part.tool_result is not None:
                yield from of(part.tool_result, "content")
                yield from of(part.tool_result, "content_json")
    for tool in generation.tools or []:
        yield from of(tool, "description")
        yield from of(tool, "input_schema_json")


def _cap(sizes: list[int], budget: int) -> int:
    """The largest cap c such that sum(min(size, c)) <= budget."""
    ordered = sorted(sizes)
    remaining = budget
    for index, size in enumerate(ordered):
        left = len(ordered) - index
        if size * left > remaining:
            return max(0, remaining // left)
        remaining -= size
    return ordered[-1] if ordered else budget


def _cut(value: str | bytes, cap: int, size: int) -> tuple[str | bytes, int]:
    """``value`` cut to about ``cap`` bytes with the marker; the characters (or bytes) removed."""
    if isinstance(value, bytes):
        # JSON bytes (tool arguments, results, schemas): replaced by a valid JSON document with a preview
        preview = value[: max(0, cap - 200)].decode("utf-8", errors="ignore")
        removed = len(value) - len(preview.encode("utf-8"))
        document = {"sigil_truncated": True, "removed_bytes": removed, "preview": preview}
        return json.dumps(document, ensure_ascii=False).encode("utf-8"), removed
    keep = cap if size == len(value) else int(len(value) * cap / size)
    keep = max(0, keep - 120)  # room for the marker
    removed = len(value) - keep
    return value[:keep] + MARKER.format(removed=removed), removed


def _size_bound(generation: Generation) -> int:
    """An upper bound of what :func:`_slots` sums: four bytes a character, the most UTF-8 takes. The same
    fields, in plain loops, with no slot made and no text encoded."""
    values: list[Any] = [generation.system_prompt]
    add = values.append
    for messages in (generation.input, generation.output):
        for message in messages or ():
            for part in message.parts or ():
                add(part.text)
                add(part.thinking)
                if (call := part.tool_call) is not None:
                    add(call.input_json)
                if (result := part.tool_result) is not None:
                    add(result.content)
                    add(result.content_json)
    for tool in generation.tools or ():
        add(tool.description)
        add(tool.input_schema_json)
    bound = 0
    for value in values:
        if isinstance(value, str):
            bound += 4 * len(value)
        elif isinstance(value, bytes):
            bound += len(value)
    return bound


def fit_generation(generation: Generation, budget: int = DEFAULT_BUDGET) -> int:
    """Truncate ``generation``'s content in place so that it fits ``budget`` bytes; the characters
    (and JSON bytes) removed, 0 when it already fit. The common case costs one pass of ``len``: when even
    four bytes a character fits, the exact sizes (``isascii``, UTF-8 lengths, slots) are not needed."""
    try:
        if _size_bound(generation) <= budget:
            return 0
    except AttributeError:  # an object without the models' fields: the exact pass below reads what it has
        pass
    slots = list(_slots(generation))
    total = sum(slot.size for slot in slots)
    if total <= budget:
        return 0
    cap = _cap([slot.size for slot in slots], budget)
    removed = 0
    # mapped messages are shared with other events (the memo): the cuts below go to this event's copies
    generation.input = own_messages(generation.input or ())
    generation.output = own_messages(generation.output or ())
    slots = list(_slots(generation))
    for slot in slots:
        if slot.size > cap:
            new_value, cut = _cut(getattr(slot.owner, slot.attr), cap, slot.size)
            setattr(slot.owner, slot.attr, new_value)
            removed += cut
    if removed:
        metadata = dict(generation.metadata or {})
        metadata[TRUNCATED_KEY] = removed
        generation.metadata = metadata
    return removed
