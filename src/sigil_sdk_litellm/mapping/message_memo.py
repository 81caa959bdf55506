"""Chat messages already mapped, by content (bounded): an agent chat resends its whole history each turn.

Mapping one chat message is a pure function of its content (:func:`.chat.map_input_messages`), so the
mapping of each JSON-shaped message (dicts, lists, strings, numbers, booleans, None) is kept, keyed by
that content, least recently used dropped first past :data:`DEFAULT_BUDGET` bytes. A message is handed
out as it is kept, shared by every event that holds it: it is never changed. Whoever changes messages
changes its own copies (:func:`own_messages`): ``fit_generation`` before it cuts texts, the recorder
before sigil-sdk's Client (which strips them in ``metadata_only`` mode or sanitizes them, in place).
Each message handed out carries its key (:func:`memo_key`): the gRPC encoder keeps the message's bytes
under it, so a message already mapped is not read again to be encoded.

:class:`ContentMemo` is the memo itself, for any JSON content: :data:`MEMO` holds chat messages, and
:data:`.parameters.TOOLS` the tool definitions an agent sends with every request (handed out as copies).

The key is the message's ``marshal`` bytes, which tell types apart where Python's equality does not
(``1``, ``1.0`` and ``True`` are equal dict keys). A message holding anything but JSON's types (a model
object, a tuple, bytes) is left out of the memo: it is mapped each time, as before.
"""

from __future__ import annotations

import marshal
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from sigil_sdk import Message, Part, PartMetadata, ToolCall, ToolResult

from sigil_sdk_litellm.mapping.cheap_copies import SharedMessage

# what one message maps to: a system prompt's text, a message, or nothing (dropped)
Mapped = str | Message | None

DEFAULT_BUDGET = 8 << 20  # bytes, the process's (bench/message_memo_memory.py measures it)
ENTRY_OVERHEAD = 1200  # the key's tuples, the mapped objects, the dict slot (bench/message_memo_memory.py)
T = TypeVar("T")
_LEAVES = frozenset({str, int, float, bool, type(None)})
_NEW = object.__new__


def plain_json(value: Any) -> bool:
    """Whether ``value`` is made of JSON's types exactly (str keys; no subclass, tuple or bytes-like)."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _LEAVES and not plain_json(item)):
                return False
        return True
    if kind is list:
        for item in value:  # noqa: SIM110 - a loop: all() over a generator is slower here
            if type(item) not in _LEAVES and not plain_json(item):
                return False
        return True
    return kind in _LEAVES


def message_key(message: Any) -> bytes | None:
    """The memo's key of a raw message: its ``marshal`` bytes, None unless it is plain JSON (:func:`plain_json`).

    Equal bytes are equal content of equal types: marshal writes each type with its own code and refuses
    subclasses, except that it writes any bytes-like object as bytes — :func:`plain_json` leaves those out.
    Equal content may give different bytes (marshal refers back to an interned string it wrote): a miss.
    """
    try:
        return marshal.dumps(message, 2) if plain_json(message) else None
    except (ValueError, RecursionError):  # nested deeper than marshal (or Python) goes
        return None


def _copy_part(part: Part) -> Part:
    # object.__new__ and the slots, not the dataclasses' __init__: twice as fast, the same fields
    # (tests/unit/mapping/test_message_memo.py holds the field lists)
    copied = _NEW(Part)
    copied.kind = part.kind
    copied.text = part.text
    copied.thinking = part.thinking
    call = part.tool_call
    if call is not None:
        call_copy = _NEW(ToolCall)
        call_copy.name = call.name
        call_copy.id = call.id
        call_copy.input_json = call.input_json
        call = call_copy
    copied.tool_call = call
    result = part.tool_result
    if result is not None:
        result_copy = _NEW(ToolResult)
        result_copy.tool_call_id = result.tool_call_id
        result_copy.name = result.name
        result_copy.content = result.content
        result_copy.content_json = result.content_json
        result_copy.is_error = result.is_error
        result = result_copy
    copied.tool_result = result
    metadata = _NEW(PartMetadata)
    metadata.provider_type = part.metadata.provider_type
    copied.metadata = metadata
    return copied


def fresh(mapped: Mapped, key: bytes | None = None) -> Mapped:
    """A copy of ``mapped`` (a message and everything in it a caller may change) with memo key ``key``."""
    if not isinstance(mapped, Message):
        return mapped
    copied = _NEW(SharedMessage)
    copied.role = mapped.role
    copied.parts = [_copy_part(part) for part in mapped.parts]
    copied.name = mapped.name
    copied.memo_key = key
    return copied


def shared(mapped: Mapped, key: bytes | None = None) -> Mapped:
    """``mapped`` itself, shared by the events that hold it, named by its memo key ``key``."""
    if isinstance(mapped, SharedMessage) and getattr(mapped, "memo_key", None) is None:
        mapped.memo_key = key  # on the mapper's result, before the memo holds it
    return mapped


def memo_key(message: Message) -> bytes | None:
    """The key of the raw message ``message`` was mapped from (None on a copy made to be changed): equal
    keys, equal content, so an encoder may keep a message's bytes under it."""
    return getattr(message, "memo_key", None)


def own_messages(messages: Iterable[Message]) -> list[Message]:
    """Copies of ``messages`` to change in place, without a memo key: mapped messages are shared."""
    copies: list[Message] = []
    for message in messages:
        copied = fresh(message)
        copies.append(copied if isinstance(copied, Message) else message)
    return copies


class ContentMemo(Generic[T]):
    """Raw JSON content → its mapping, least recently used dropped first past ``budget`` bytes; each value
    handed out is ``copy(stored value, key)`` (:func:`shared` for messages, a copy for tool definitions)."""

    def __init__(
        self, copy: Callable[[T, bytes | None], T], budget: int = DEFAULT_BUDGET, overhead: int = ENTRY_OVERHEAD
    ) -> None:
        self.copy = copy
        self.budget = budget
        self.overhead = overhead  # counted per entry beside twice its key's bytes
        self.size = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[bytes, tuple[T, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def mapped(self, raw: Any, mapper: Callable[[Any], T]) -> T:
        """``mapper(raw)``, from the memo when content of the same key was mapped before."""
        key = message_key(raw)
        if key is None:
            return mapper(raw)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
        if found is not None:
            return self.copy(found[0], key)
        result = mapper(raw)
        handed = self.copy(result, key)  # before another thread can find it: a shared message has its key
        cost = 2 * len(key) + self.overhead  # the key, and the mapped copy of its content
        if cost > self.budget:
            return handed
        with self._lock:  # the memo keeps the mapper's result
            self.misses += 1
            if key not in self._entries:
                self._entries[key] = (result, cost)
                self.size += cost
                while self.size > self.budget:
                    _, (_, dropped) = self._entries.popitem(last=False)
                    self.size -= dropped
        return handed


class MessageMemo(ContentMemo[Mapped]):
    """Raw chat message → its mapping (a system prompt's text, a message with its memo key, or None)."""

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        super().__init__(shared, budget)


MEMO = MessageMemo()
