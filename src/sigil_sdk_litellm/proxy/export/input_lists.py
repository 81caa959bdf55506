"""Input message lists encoded before, found by their messages' identity (bounded): an agent chat's history.

The mapping hands out the same message objects for a conversation's history every turn
(:mod:`sigil_sdk_litellm.mapping.conversation_memo`), and never changes them: what would change a message
gets a copy (``own_messages``). So on the direct writer's path (nothing else touches the messages) a list
of input messages the encoder met before — the same objects, in the same order — has the same bytes, and
was validated if it was then. :class:`InputLists` keeps each such list's encoded entries as one piece,
found by the ids of its messages; an entry holds its messages, so their ids cannot be reused while it is
kept. The longest list a generation's inputs begin with is looked up, a few lengths back: a turn adds
one or a few messages. A list that extends a kept one replaces it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from sigil_sdk.models import Message

MIN_MESSAGES = 4  # shorter lists are looked up message by message as fast
LOOK_BACK = 4  # how many messages a turn may have added to a list kept
DEFAULT_BUDGET = 4 << 20  # bytes (bench/message_cache_memory.py --lists measures it)
ENTRY_OVERHEAD = 300  # the entry, its key tuple, the dict slot
# counted per message: its id, its reference, and the objects the entry may keep alive alone (the message's
# texts are counted as the entry's bytes once more)
MESSAGE_OVERHEAD = 400


class EncodedList:
    """Input messages (held), the bytes of their entries in a generation, and whether they were validated."""

    __slots__ = ("cost", "encoded", "key", "messages", "validated")

    def __init__(self, key: tuple[int, ...], messages: list[Message], encoded: bytes, validated: bool) -> None:
        self.key = key
        self.messages = messages
        self.encoded = encoded
        self.validated = validated
        self.cost = 2 * len(encoded) + MESSAGE_OVERHEAD * len(messages) + ENTRY_OVERHEAD


class InputLists:
    """:class:`EncodedList` by the ids of its messages, least recently used dropped first past ``budget``."""

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.budget = budget
        self.size = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple[int, ...], EncodedList] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def longest(self, inputs: list[Message]) -> EncodedList | None:
        """The longest list kept that ``inputs`` begin with (the same objects), at most :data:`LOOK_BACK` short."""
        count = len(inputs)
        if count < MIN_MESSAGES or not self._entries:
            return None
        ids = tuple(map(id, inputs))
        with self._lock:
            for length in range(count, max(MIN_MESSAGES, count - LOOK_BACK) - 1, -1):
                found = self._entries.get(ids[:length])
                if found is not None:
                    self._entries.move_to_end(found.key)
                    self.hits += 1
                    return found
            self.misses += 1
        return None

    def add(self, inputs: list[Message], encoded: bytes, validated: bool, replaces: EncodedList | None) -> None:
        """Keep ``inputs``' entries ``encoded``, in place of ``replaces`` (a list they extend)."""
        if len(inputs) < MIN_MESSAGES:
            return
        entry = EncodedList(tuple(map(id, inputs)), list(inputs), encoded, validated)
        if 4 * entry.cost > self.budget:  # one conversation may not take more than a quarter
            return
        with self._lock:
            if replaces is not None and self._entries.get(replaces.key) is replaces:
                self._drop(replaces.key)
            if entry.key in self._entries:
                self._drop(entry.key)
            self._entries[entry.key] = entry
            self.size += entry.cost
            while self.size > self.budget:
                self._drop(next(iter(self._entries)))

    def _drop(self, key: tuple[int, ...]) -> Any:
        dropped = self._entries.pop(key)
        self.size -= dropped.cost
        return dropped
