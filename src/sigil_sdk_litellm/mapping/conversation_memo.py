"""Message lists by their longest beginning seen before (bounded): an agent chat resends its history each turn.

The per-message memo (:mod:`.message_memo`) saves mapping a message again, but still reads every message
of every event to key it. Here a whole list is recognised at once: its ``marshal`` bytes (one call) begin
with the bytes of a list seen before exactly when its first messages are that list's messages, of the
same types — marshal writes each value with a code of its type, refuses subclasses, and its bytes read
back one way only, so equal leading bytes are equal leading values. Version 2 has no references between
objects but interned strings, and those only point backwards: a list's first messages are written the
same whatever follows them. (Equal lists may still give different bytes, when one holds interned
strings and the other does not: a miss, never a wrong match.)

:class:`PrefixIndex` keeps, per conversation, the last list seen and a value for it (the mapping's
messages, or a redactor's "found clean"); :data:`CONVERSATIONS` is the mapping's. Lists are found by
their first two messages (their length and CRC-32: a system prompt alone is shared by every conversation
of an agent); a list
that extends one held replaces it, so a conversation costs its latest turn's bytes, not the sum of its
turns. Least recently used lists go first past the budget.
"""

from __future__ import annotations

import marshal
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, NamedTuple, TypeVar

from sigil_sdk_litellm.mapping.message_memo import Mapped, plain_json

V = TypeVar("V")

MIN_MESSAGES = 4  # shorter lists are mapped message by message as fast
DEFAULT_BUDGET = 4 << 20  # bytes (bench/message_memo_memory.py --lists measures it)
PER_KEY = 4  # lists held per first two messages (conversations that begin alike)
ENTRY_OVERHEAD = 300  # the entry, its LRU and key slots
MESSAGE_OVERHEAD = 600  # a mapped message's objects (bench/message_memo_memory.py --lists measures it)
_HEADER = 5  # marshal's list header: its type code and length


class ListBytes(NamedTuple):
    """A list's ``marshal`` bytes (its header first: :data:`_HEADER` bytes), and the key it is found by."""

    key: tuple[int, int]
    data: bytes


class _OneEvent(threading.local):
    """Within it (one event's handling, on one thread), :func:`list_bytes` of a list is worked out once: the
    redactor and the mapping both read the request's messages, which do not change meanwhile. A class, not
    a generator: it is entered on every event."""

    lists: dict[int, tuple[list[Any], ListBytes | None]] | None = None

    def __enter__(self) -> None:
        self.lists = {}

    def __exit__(self, *_: object) -> None:
        self.lists = None


one_event = _OneEvent()


def list_bytes(items: list[Any]) -> ListBytes | None:
    """``items``' bytes for :class:`PrefixIndex`; None when marshal cannot write them (not plain data)."""
    lists = one_event.lists
    if lists is not None and (known := lists.get(id(items))) is not None and known[0] is items:
        return known[1]
    try:
        data = marshal.dumps(items, 2)  # not sliced: the header is skipped where it is read
        head = len(marshal.dumps(items[:2], 2))  # where the second message ends in ``data``
        seen: ListBytes | None = ListBytes((head, zlib.crc32(memoryview(data)[_HEADER:head])), data)
    except (ValueError, RecursionError):
        seen = None
    if lists is not None:
        lists[id(items)] = (items, seen)
    return seen


class _Held(Generic[V]):
    __slots__ = ("body", "cost", "key", "length", "value")

    def __init__(self, key: tuple[int, int], body: bytes, length: int, value: V, cost: int) -> None:
        self.key = key
        self.body = body
        self.length = length
        self.value = value
        self.cost = cost


class PrefixIndex(Generic[V]):
    """Lists seen before (their bytes, their length, a value each): the longest a new list begins with."""

    def __init__(self, budget: int = DEFAULT_BUDGET, *, content_weight: int = 1, per_message: int = 8) -> None:
        self.budget = budget
        # counted per list: its bytes times ``content_weight`` (2 where the value keeps the content alive
        # too) and ``per_message`` bytes a message (its slot; the objects a value alone may keep alive)
        self.content_weight = content_weight
        self.per_message = per_message
        self.size = 0
        self.hits = 0  # lists found
        self.known = 0  # the messages they covered
        self.misses = 0  # lists that began with none held
        self._by_key: dict[tuple[int, int], list[_Held[V]]] = {}
        self._lru: OrderedDict[_Held[V], None] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._lru)

    def longest(self, seen: ListBytes) -> tuple[int, V] | None:
        """(how many messages, the value) of the longest list held that the list of ``seen`` begins with."""
        data = seen.data
        with self._lock:
            best: _Held[V] | None = None
            for held in self._by_key.get(seen.key, ()):
                if (best is None or held.length > best.length) and data.startswith(held.body, _HEADER):
                    best = held
            if best is None:
                self.misses += 1
                return None
            self._lru.move_to_end(best)
            self.hits += 1
            self.known += best.length
            return best.length, best.value

    def add(self, seen: ListBytes, length: int, value: V) -> None:
        """Hold ``value`` for the list of ``seen`` (``length`` messages), in place of the lists it extends."""
        cost = self.content_weight * len(seen.data) + self.per_message * length + ENTRY_OVERHEAD
        if 4 * cost > self.budget:  # a conversation may not take more than a quarter
            return
        with self._lock:
            for old in [old for old in self._by_key.get(seen.key, ()) if seen.data.startswith(old.body, _HEADER)]:
                self._drop(old)
            entry = _Held(seen.key, seen.data[_HEADER:], length, value, cost)
            held = self._by_key.setdefault(seen.key, [])
            held.insert(0, entry)
            self._lru[entry] = None
            self.size += cost
            if len(held) > PER_KEY:
                self._drop(held[-1])
            while self.size > self.budget:
                self._drop(next(iter(self._lru)))

    def _drop(self, entry: _Held[V]) -> None:
        del self._lru[entry]
        self.size -= entry.cost
        held = self._by_key[entry.key]
        held.remove(entry)
        if not held:
            del self._by_key[entry.key]


def known_beginning(index: PrefixIndex[V], items: Any) -> tuple[ListBytes, tuple[int, V] | None] | None:
    """``items``' bytes and :meth:`PrefixIndex.longest` of them in ``index``; None where ``items`` is no list of
    :data:`MIN_MESSAGES` messages or more that marshal writes (nothing to look up)."""
    if type(items) is not list or len(items) < MIN_MESSAGES:
        return None
    seen = list_bytes(items)
    return None if seen is None else (seen, index.longest(seen))


def mapped_list(
    index: PrefixIndex[list[Mapped]], items: list[Any], map_one: Callable[[Any], Mapped]
) -> list[Mapped] | None:
    """``map_one`` of each of ``items`` (a list not to be changed: it may be the one held), those a list held
    in ``index`` began with from it; None when ``items`` is too short or not data marshal writes."""
    beginning = known_beginning(index, items)
    if beginning is None:
        return None
    seen, found = beginning
    known, prefix = found if found is not None else (0, [])
    if known == len(items):
        return prefix
    tail = items[known:]
    mapped = [*prefix, *(map_one(item) for item in tail)]
    if all(plain_json(item) for item in tail):  # held lists are plain data: so are lists that begin with them
        index.add(seen, len(items), mapped)
    return mapped


def mapped_lists(budget: int = DEFAULT_BUDGET) -> PrefixIndex[list[Mapped]]:
    """An index of mapped message lists, counting what it may keep alone: the list's bytes, the texts its
    messages hold (as many again), and each message's objects."""
    return PrefixIndex(budget, content_weight=2, per_message=MESSAGE_OVERHEAD)


CONVERSATIONS = mapped_lists()
