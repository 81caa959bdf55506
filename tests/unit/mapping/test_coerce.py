"""Numbers the proto cannot carry: Sigil's counts are int64, so a larger one reads as unknown, not as an
export that fails (hypothesis found ``max_tokens`` = 2**63 failing the whole generation)."""

from __future__ import annotations

from typing import Any

import pytest

from sigil_sdk_litellm.mapping.coerce import INT64_MAX, as_int, as_opt_int


@pytest.mark.parametrize(
    ("value", "expected"),
    [(7, 7), ("12", 12), (3.9, 3), (INT64_MAX, INT64_MAX), (INT64_MAX + 1, 0), ("1e30", 0), (1e300, 0), (-4, 0)],
)
def test_as_int_keeps_what_int64_holds(value: Any, expected: int) -> None:
    assert as_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (64, 64),
        ("64", 64),
        (INT64_MAX, INT64_MAX),  # exact: an int is not rounded through a float
        (2**63, None),
        (float(2**64), None),
        ("1e30", None),
        (-1, None),
        (True, None),
        (None, None),
    ],
)
def test_as_opt_int_is_none_beyond_int64(value: Any, expected: int | None) -> None:
    assert as_opt_int(value) == expected
