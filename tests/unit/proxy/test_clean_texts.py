"""The secret redaction's memory of clean texts: what it answers, and the bound it keeps."""

from __future__ import annotations

import sys

from sigil_sdk_litellm.proxy.clean_texts import SLOT_OVERHEAD, CleanTexts


def _cost(text: str) -> int:
    return sys.getsizeof(text) + SLOT_OVERHEAD


def test_unknown_texts_come_back_once_each_in_their_first_order() -> None:
    clean = CleanTexts()
    assert clean.unknown(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]
    clean.add(["a"])
    assert clean.unknown(["b", "a", "c"]) == ["b", "c"]
    clean.add(["b", "c"])
    assert clean.unknown(["c", "a", "b"]) == []
    assert len(clean) == 3


def test_the_recent_set_becomes_the_older_one_at_half_the_budget() -> None:
    texts = [f"message {i:04d} of a long agent conversation" for i in range(40)]
    budget = 2 * 10 * _cost(texts[0])  # ten texts a generation
    clean = CleanTexts(budget)
    for text in texts[:10]:
        clean.add([text])
    assert clean.size == 10 * _cost(texts[0]) and len(clean) == 10
    clean.add([texts[10]])  # the eleventh starts a new generation: the first ten are the older one
    assert clean.size == _cost(texts[10])
    assert clean.unknown(texts[:11]) == []
    for text in texts[11:]:
        clean.add([text])
    assert clean.size <= budget // 2
    assert len(clean) <= 20, "two generations at most"
    assert clean.unknown(texts[:11]) == texts[:11], "dropped with the generation before the older one"


def test_a_text_found_in_the_older_set_moves_back_to_the_recent_one() -> None:
    texts = [f"text number {i:03d}" for i in range(30)]
    clean = CleanTexts(2 * 10 * _cost(texts[0]))
    clean.add(texts[:10])
    clean.add(texts[10:11])  # rotation: texts[:10] are the older set
    assert clean.unknown([texts[0]]) == []  # known, and recent again (beside texts[10])
    clean.add(texts[11:20])  # rotation: {texts[10], texts[0]} older, texts[1:10] dropped with theirs
    assert clean.unknown([texts[0], texts[1]]) == [texts[1]]


def test_a_batch_larger_than_half_the_budget_is_not_kept() -> None:
    clean = CleanTexts(1000)
    clean.add(["x" * 600])
    assert clean.size == 0 and len(clean) == 0
    assert clean.unknown(["x" * 600]) == ["x" * 600]
