"""Input message lists encoded before: found only by the same message objects, a few messages back at most,
holding what they name, within their budget; the encoder's bytes and validation stay sigil-sdk's."""

from __future__ import annotations

import gc

from sigil_sdk import Generation, Message, MessageRole, Part, PartKind
from sigil_sdk.proto_mapping import generation_to_proto

from sigil_sdk_litellm.proxy.export.input_lists import LOOK_BACK, MIN_MESSAGES, InputLists
from sigil_sdk_litellm.proxy.export.message_cache import CachingEncoder


def message(text: str) -> Message:
    return Message(role=MessageRole.USER, parts=[Part(kind=PartKind.TEXT, text=text)])


def history(count: int, tag: str = "m") -> list[Message]:
    return [message(f"{tag} {index} " * 20) for index in range(count)]


def test_a_list_is_found_by_the_same_objects_only_a_few_messages_back() -> None:
    lists = InputLists()
    kept = history(10)
    lists.add(kept, b"encoded", True, None)
    assert lists.longest(history(10)) is None  # equal messages, other objects
    for added in range(LOOK_BACK + 2):
        found = lists.longest([*kept, *history(added, "new")])
        assert (found is not None) == (added <= LOOK_BACK), added
        assert found is None or (found.messages == kept and found.encoded == b"encoded")
    assert lists.longest(kept[: MIN_MESSAGES - 1]) is None
    assert lists.longest(kept[:9]) is None  # a list kept is not found by a shorter one


def test_a_kept_list_holds_its_messages_and_one_it_extends_is_replaced() -> None:
    lists = InputLists()
    first = history(6)
    lists.add(first, b"six", True, None)
    ids = [id(one) for one in first]
    del first
    gc.collect()
    found = lists.longest
    assert all(id(one) in ids for one in next(iter(lists._entries.values())).messages)  # still alive: ids unique
    kept = next(iter(lists._entries.values())).messages
    longer = [*kept, message("seven")]
    lists.add(longer, b"seven", True, replaces=found(longer))
    assert len(lists) == 1 and found(longer) is not None and found(longer).encoded == b"seven"  # type: ignore[union-attr]


def test_the_lists_stay_within_their_budget() -> None:
    lists = InputLists(budget=40_000)
    for number in range(100):
        lists.add(history(8, f"c{number}"), b"x" * 2_000, True, None)
        assert lists.size <= lists.budget
    assert 0 < len(lists) < 100
    lists.add(history(8, "huge"), b"x" * 20_000, True, None)  # more than a quarter: not kept
    assert all(entry.encoded != b"x" * 20_000 for entry in lists._entries.values())


def test_the_encoder_splices_a_kept_list_and_validates_what_was_not() -> None:
    encoder = CachingEncoder()
    inputs = history(8)
    turns = [Generation(id=f"g{n}", input=inputs[:n], output=[message("answer")]) for n in (6, 8, 8)]
    for turn, generation in enumerate(turns):
        keys = encoder.keys(generation)
        assert (keys.known is not None) == (turn > 0)
        assert encoder.encode(generation, keys) == generation_to_proto(generation).SerializeToString()
    keys = encoder.keys(turns[2])
    assert keys.known is not None and not keys.known.validated  # encoded, never validated
    assert encoder.unvalidated(turns[2], keys)[0] == inputs
    encoder.encode(turns[2], keys, validated=True)
    assert encoder.unvalidated(turns[2], encoder.keys(turns[2])) == ([], [])
    grown = Generation(id="g9", input=[*inputs, message("new")], output=[])
    assert encoder.unvalidated(grown, encoder.keys(grown))[0] == [grown.input[-1]]  # only the new one
