"""The index of message lists by their beginning: a list is found only by one it begins with exactly (same
values, same types), the mapping is the same with and without it, and it holds one list per conversation
within its budget."""

from __future__ import annotations

import copy
import json
import marshal
import sys
import zlib
from typing import Any

import pytest

from bench.conversations import conversation
from sigil_sdk_litellm.mapping import chat
from sigil_sdk_litellm.mapping.conversation_memo import (
    MIN_MESSAGES,
    PER_KEY,
    PrefixIndex,
    list_bytes,
    mapped_list,
    one_event,
)
from sigil_sdk_litellm.mapping.message_memo import Mapped, MessageMemo


@pytest.fixture(autouse=True)
def _fresh_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chat, "MEMO", MessageMemo())


def parsed(value: Any) -> Any:
    """A request body's messages as the proxy gets them: parsed anew, nothing shared."""
    return json.loads(json.dumps(value))


def mapped_anew(items: list[Any]) -> list[Mapped]:
    return [chat._mapped(item) for item in items]


def test_the_lookup_key_is_the_lists_first_two_messages() -> None:
    items = parsed(conversation(12))
    seen = list_bytes(items)
    assert seen is not None
    head, crc = seen.key
    assert seen.data[5:head] == marshal.dumps(items[:2], 2)[5:]
    assert crc == zlib.crc32(marshal.dumps(items[:2], 2)[5:])
    assert seen.data == marshal.dumps(items, 2)


def test_an_agent_chat_turn_by_turn_maps_as_anew_and_is_held_once() -> None:
    index: PrefixIndex[list[Mapped]] = PrefixIndex()
    chat_42 = conversation(42)
    for n in range(MIN_MESSAGES, 43):
        items = parsed(chat_42[:n])
        assert mapped_list(index, items, chat._map_item) == mapped_anew(items)
        assert len(index) == 1  # each turn's list replaced the one it extends
    assert index.hits == 42 - MIN_MESSAGES and index.known == sum(range(MIN_MESSAGES, 42))
    again = mapped_list(index, parsed(chat_42), chat._map_item)
    assert again == mapped_anew(chat_42) and index.known == sum(range(MIN_MESSAGES, 43))


@pytest.mark.parametrize("other", [True, 1.0, "1", None, [1], {"n": 1}])
def test_values_equal_in_python_but_of_another_type_are_not_the_same_beginning(other: Any) -> None:
    """``1 == 1.0 == True``, but a tool call's arguments render differently: the list is not found."""
    base = parsed(conversation(12))
    call = base[2]["tool_calls"][0]
    call["function"]["arguments"] = {"query": "rollout", "limit": 1}
    index: PrefixIndex[list[Mapped]] = PrefixIndex()
    mapped_list(index, base, chat._map_item)
    changed = copy.deepcopy(base)
    changed[2]["tool_calls"][0]["function"]["arguments"]["limit"] = other
    assert index.longest(list_bytes(parsed(base))) is not None  # the same list parsed anew is found
    assert index.longest(list_bytes(changed)) is None  # type: ignore[arg-type]
    assert mapped_list(index, changed, chat._map_item) == mapped_anew(changed)


def test_a_list_that_branches_off_or_holds_other_types_maps_as_anew() -> None:
    index: PrefixIndex[list[Mapped]] = PrefixIndex()
    chat_12 = parsed(conversation(12))
    mapped_list(index, chat_12, chat._map_item)
    edited = copy.deepcopy(chat_12)
    edited[5]["content"] = "a different answer"  # an edited message, and the rest resent
    assert mapped_list(index, edited, chat._map_item) == mapped_anew(edited)
    assert index.longest(list_bytes(edited)) == (12, mapped_anew(edited))  # type: ignore[arg-type]
    with_tuple = [*copy.deepcopy(chat_12), {"role": "user", "content": ("a", "tuple")}]
    assert mapped_list(index, with_tuple, chat._map_item) == mapped_anew(with_tuple)
    assert len(index) == 2  # the edited list held, the one with a tuple not
    subclass = type("Text", (str,), {})
    assert mapped_list(index, [*chat_12[:3], {"role": "user", "content": subclass("hi")}], chat._map_item) is None
    assert mapped_list(index, chat_12[: MIN_MESSAGES - 1], chat._map_item) is None


def test_interned_strings_may_miss_but_never_match_wrongly() -> None:
    index: PrefixIndex[list[Mapped]] = PrefixIndex()
    items = parsed(conversation(12))
    mapped_list(index, items, chat._map_item)
    interned = [{sys.intern(key): value for key, value in message.items()} for message in items]
    assert mapped_list(index, interned, chat._map_item) == mapped_anew(items)


def test_the_index_stays_within_its_budget_and_holds_a_few_lists_per_beginning() -> None:
    budget = 200_000
    index: PrefixIndex[list[Mapped]] = PrefixIndex(budget=budget)
    base = parsed(conversation(12))
    for number in range(300):
        items = copy.deepcopy(base)
        items[1]["content"] = f"task {number}: " + items[1]["content"]  # 300 conversations, alike but the task
        items[-1]["content"] = f"turn of {number}"
        assert mapped_list(index, items, chat._map_item) == mapped_anew(items)
        assert index.size <= budget
    assert 0 < len(index) < 300
    same_start = [copy.deepcopy(base) for _ in range(PER_KEY + 2)]
    for number, items in enumerate(same_start):
        items[-1]["content"] = f"only the last message differs {number}"
        mapped_list(index, items, chat._map_item)
    (found,) = {len(held) for held in [index._by_key[list_bytes(same_start[0]).key]]}  # type: ignore[union-attr]
    assert found == PER_KEY


def test_within_one_event_a_lists_bytes_are_worked_out_once() -> None:
    items = parsed(conversation(12))
    assert list_bytes(items) is not list_bytes(items)  # outside an event: each time anew
    with one_event:
        first = list_bytes(items)
        assert first is not None and list_bytes(items) is first
        assert list_bytes(list(items)) is not first  # another list (equal content) is its own
    items[3]["content"] = "changed after the event"
    after = list_bytes(items)
    assert after is not None and after.data != first.data
