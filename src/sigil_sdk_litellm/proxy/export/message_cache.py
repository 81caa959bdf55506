"""The gRPC encoding of a generation, its messages' and tools' bytes kept across events (bounded).

An agent chat resends its whole history every turn, so most messages of an event were encoded for an
earlier one. A message's protobuf bytes depend on its content alone, so the encoder keeps the bytes
of each message it encoded, keyed by that content, and splices them into the generation's bytes.
The result is byte for byte what ``generation_to_proto(generation).SerializeToString()`` gives
(sigil-sdk's own mapping stays the wire format: a message not in the cache is mapped by it, and
tests/unit/proxy/export/test_message_cache.py compares the two over the benchmark's conversations):
protobuf writes the fields of a message in field-number order, so the generation's bytes are its
fields before ``input`` (11), the ``input``, ``output`` (12) and ``tools`` (13) entries (an agent sends
the same tool definitions with every request), then its fields after. A message
the mapping's memo handed out is keyed by the raw message it was mapped from (its memo key), which
names the same content without reading it again.

The cache is least-recently-used and bounded by :data:`DEFAULT_BUDGET` bytes, counting each entry's
encoded bytes twice (the bytes, and the content its key holds) plus a fixed overhead per entry.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from sigil_sdk.models import Generation, Message, ToolDefinition
from sigil_sdk.proto_mapping import generation_to_proto

from sigil_sdk_litellm.mapping.message_memo import memo_key
from sigil_sdk_litellm.proxy.export.input_lists import EncodedList, InputLists

INPUT_FIELD = 11
OUTPUT_FIELD = 12
TOOLS_FIELD = 13
DEFAULT_BUDGET = 8 << 20  # bytes per encoder (one per tenant's transport)
ENTRY_OVERHEAD = 600  # the key's tuples, the entry list and the dict slot (bench/message_cache_memory.py)


def varint(value: int) -> bytes:
    """``value`` as a protobuf varint."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _part_key(part: Any) -> tuple[Hashable, ...]:
    call, result, meta = part.tool_call, part.tool_result, part.metadata
    return (
        part.kind,
        part.text,
        part.thinking,
        None if call is None else (call.id, call.name, bytes(call.input_json)),
        None
        if result is None
        else (result.tool_call_id, result.name, result.content, bytes(result.content_json), result.is_error),
        getattr(meta, "provider_type", "") if meta is not None else "",
    )


def message_key(message: Message) -> tuple[Hashable, ...]:
    """Everything sigil-sdk's mapping reads of a message: equal keys, equal bytes."""
    return (message.role, message.name, tuple(_part_key(part) for part in message.parts))


def _read_varint(encoded: bytes, at: int) -> tuple[int, int]:
    """The varint at ``at`` in ``encoded`` and the offset after it."""
    value = shift = 0
    while True:
        byte = encoded[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def fields_before(encoded: bytes, field: int) -> int:
    """The offset of the first top-level field numbered ``field`` or more in ``encoded``."""
    at, end = 0, len(encoded)
    while at < end:
        start = at
        tag, at = _read_varint(encoded, at)
        if tag >> 3 >= field:
            return start
        wire = tag & 7
        if wire == 0:
            _, at = _read_varint(encoded, at)
        elif wire == 2:
            size, at = _read_varint(encoded, at)
            at += size
        elif wire == 1:
            at += 8
        elif wire == 5:
            at += 4
        else:
            raise ValueError(f"unexpected wire type {wire} in an encoded generation")
    return end


Key = tuple[int, Hashable]


class MessageCache:
    """Encoded messages by content, least recently used dropped first past ``budget`` bytes.

    Each entry also remembers whether sigil-sdk's validation passed a generation holding it with its
    content kept (the direct writer's; :mod:`.direct`): such a message need not be validated again.
    """

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.budget = budget
        self.size = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Key, list[Any]] = OrderedDict()  # key -> [entry bytes, validated]
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def key(field: int, message: Message, *, by_memo: bool = False) -> Key | None:
        """The cache key of ``message`` in ``field``; None for content of an unexpected (unhashable) type.
        ``by_memo``: a message the mapping's memo handed out unchanged is keyed by what it was mapped from
        (:func:`~sigil_sdk_litellm.mapping.message_memo.memo_key`), without reading its content."""
        if by_memo and (mapped_from := memo_key(message)) is not None:
            return (field, mapped_from)
        try:
            key = (field, message_key(message))
            hash(key)
        except TypeError:
            return None
        return key

    @staticmethod
    def tool_key(tool: ToolDefinition) -> Key | None:
        """The cache key of a tool definition (field ``tools``): everything sigil-sdk's mapping reads of it."""
        try:
            key = (TOOLS_FIELD, (tool.name, tool.description, tool.type, bytes(tool.input_schema_json), tool.deferred))
            hash(key)
        except TypeError:
            return None
        return key

    def find(self, keys: list[Key | None]) -> list[list[Any] | None]:
        """The entries (``[entry bytes, validated]``) of ``keys``, None where there is none; one pass, one
        lock: each hit becomes the most recently used, as :meth:`entry` makes it."""
        with self._lock:
            get = self._entries.get
            found = [None if key is None else get(key) for key in keys]
            move = self._entries.move_to_end
            hits = 0
            for key, entry in zip(keys, found, strict=True):
                if entry is not None and key is not None:
                    move(key)
                    hits += 1
            self.hits += hits
        return found

    def put(self, key: Key | None, encoded: bytes, *, validated: bool = False) -> None:
        """Keep ``encoded``, the entry of a message (or tool) just encoded, under ``key`` (None: not kept);
        ``validated``: the generation holding it passed sigil-sdk's validation, content kept."""
        cost = 2 * len(encoded) + ENTRY_OVERHEAD
        if key is None or cost > self.budget:
            return
        with self._lock:
            self.misses += 1
            if key not in self._entries:
                self._entries[key] = [encoded, validated]
                self.size += cost
                while self.size > self.budget:
                    _, (dropped, _) = self._entries.popitem(last=False)
                    self.size -= 2 * len(dropped) + ENTRY_OVERHEAD

    @staticmethod
    def encode_entries(items: list[tuple[int, Message | ToolDefinition]]) -> list[bytes]:
        """Each ``(field, message or tool)`` as one entry (tag, length, bytes) of the generation's repeated
        field: sigil-sdk's own mapping through its public function, one call for all the messages and one
        for the tools (each call maps a whole generation around them: about 9 µs)."""
        messages: list[Message] = [item for field, item in items if field != TOOLS_FIELD]  # type: ignore[misc]
        tools: list[ToolDefinition] = [item for field, item in items if field == TOOLS_FIELD]  # type: ignore[misc]
        mapped_messages = iter(generation_to_proto(Generation(input=messages)).input if messages else ())
        mapped_tools = iter(generation_to_proto(Generation(tools=tools)).tools if tools else ())
        out = []
        for field, _ in items:
            body: bytes = next(mapped_tools if field == TOOLS_FIELD else mapped_messages).SerializeToString()
            out.append(varint(field << 3 | 2) + varint(len(body)) + body)
        return out


class Keys:
    """The cache keys of one generation's messages, worked out once for validation and encoding.

    ``by_memo`` only where nothing changed the messages since they were mapped (a copy made to be changed
    has no memo key): the direct writer's path. sigil-sdk changes the Client's copies in place in
    ``metadata_only`` mode and with sanitizers, and those copies have no key either. ``known``: the
    inputs' beginning encoded before as one piece (:mod:`.input_lists`, the same path only); the keys of
    ``inputs`` are those of the messages after it.
    """

    __slots__ = ("_found", "by_memo", "inputs", "known", "outputs", "tools")

    def __init__(self, generation: Generation, *, by_memo: bool = False, known: EncodedList | None = None) -> None:
        key = MessageCache.key
        self.by_memo = by_memo
        self.known = known
        after = generation.input[len(known.messages) :] if known is not None else generation.input
        self.inputs = [key(INPUT_FIELD, message, by_memo=by_memo) for message in after]
        self.outputs = [key(OUTPUT_FIELD, message, by_memo=by_memo) for message in generation.output]
        self.tools = [MessageCache.tool_key(tool) for tool in generation.tools]
        self._found: list[list[Any] | None] | None = None

    @property
    def known_count(self) -> int:
        return len(self.known.messages) if self.known is not None else 0

    def entries(self, cache: MessageCache) -> list[list[Any] | None]:
        """The cache's entries of the inputs, outputs then tools, looked up once for validation and encoding."""
        if self._found is None:
            self._found = cache.find([*self.inputs, *self.outputs, *self.tools])
        return self._found


class CachingEncoder:
    """``encode(generation)``: the generation's protobuf bytes, its messages from the cache."""

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.messages = MessageCache(budget)
        self.lists = InputLists()

    def keys(self, generation: Generation) -> Keys:
        """The keys of a generation whose messages nothing changed since they were mapped (the direct
        writer's), its inputs' beginning from the lists encoded before."""
        return Keys(generation, by_memo=True, known=self.lists.longest(generation.input))

    def unvalidated(self, generation: Generation, keys: Keys) -> tuple[list[Message], list[Message]]:
        """The input and output messages of ``generation`` that no validated generation held before."""
        found = keys.entries(self.messages)
        split, end = len(keys.inputs), len(keys.inputs) + len(keys.outputs)
        skip = keys.known_count
        inputs = [
            m for m, entry in zip(generation.input[skip:], found[:split], strict=True) if entry is None or not entry[1]
        ]
        if keys.known is not None and not keys.known.validated:
            inputs = [*generation.input[:skip], *inputs]
        return (
            inputs,
            [m for m, entry in zip(generation.output, found[split:end], strict=True) if entry is None or not entry[1]],
        )

    def encode(self, generation: Generation, keys: Keys | None = None, *, validated: bool = False) -> bytes:
        """``validated``: sigil-sdk's validation passed ``generation`` with its content kept."""
        inputs, outputs, tools = generation.input, generation.output, generation.tools
        if keys is None:
            keys = Keys(generation)
        # the other fields from sigil-sdk's mapping: the generation without its messages and tools
        generation.input, generation.output, generation.tools = [], [], []
        try:
            rest = generation_to_proto(generation).SerializeToString()
        finally:
            generation.input, generation.output, generation.tools = inputs, outputs, tools
        cut = fields_before(rest, INPUT_FIELD)  # fields 11, 12 and 13 follow one another
        pieces = [rest[:cut]]
        known, skip = keys.known, keys.known_count
        if known is not None:
            pieces.append(known.encoded)
            if validated:
                known.validated = True
        found = iter(keys.entries(self.messages))
        fields: tuple[tuple[int, list[Any], list[Key | None]], ...] = (
            (INPUT_FIELD, inputs[skip:], keys.inputs),
            (OUTPUT_FIELD, outputs, keys.outputs),
            (TOOLS_FIELD, tools, keys.tools),
        )
        misses: list[tuple[int, int, Any, Key | None]] = []  # (its piece, field, item, key): encoded below
        inputs_end = 0
        for field, items, item_keys in fields:
            for item, key in zip(items, item_keys, strict=True):
                hit = next(found)
                if hit is None:
                    misses.append((len(pieces), field, item, key))
                    pieces.append(b"")
                    continue
                if validated and field != TOOLS_FIELD:
                    hit[1] = True
                pieces.append(hit[0])
            if field == INPUT_FIELD:
                inputs_end = len(pieces)
        if misses:  # encoded now, and kept
            encoded = self.messages.encode_entries([(field, item) for _, field, item, _ in misses])
            for (index, field, _, key), one in zip(misses, encoded, strict=True):
                pieces[index] = one
                self.messages.put(key, one, validated=validated and field != TOOLS_FIELD)
        if keys.by_memo and len(inputs) > skip:
            self.lists.add(inputs, b"".join(pieces[1:inputs_end]), validated, replaces=known)
        pieces.append(rest[cut:])
        return b"".join(pieces)
