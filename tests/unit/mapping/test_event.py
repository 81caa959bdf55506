"""The call types of LiteLLM events and what each is recorded as."""

from __future__ import annotations

import pytest

from sigil_sdk_litellm.mapping.event import classify_call


@pytest.mark.parametrize(
    ("call_type", "kind"),
    [
        ("completion", "generation"),
        ("acompletion", "generation"),
        ("text_completion", "generation"),
        ("atext_completion", "generation"),
        ("embedding", "embedding"),
        ("aembedding", "embedding"),
        ("image_generation", None),
        ("arerank", None),
        ("", "generation"),  # no call type (older LiteLLM): a chat, as the incumbent records it
        (None, "generation"),
        (42, None),
    ],
)
def test_classify_call(call_type: object, kind: str | None) -> None:
    assert classify_call(call_type) == kind
