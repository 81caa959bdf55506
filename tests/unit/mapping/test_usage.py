"""Token usage of a chat response, else of the logging payload."""

from __future__ import annotations

from sigil_sdk_litellm.mapping.usage import map_usage


def test_usage_with_cache_and_reasoning_tokens() -> None:
    usage = map_usage(
        {
            "usage": {
                "prompt_tokens": 100,
                "completion_tokens": 40,
                "total_tokens": 140,
                "prompt_tokens_details": {"cached_tokens": 60},
                "completion_tokens_details": {"reasoning_tokens": 25},
                "cache_creation_input_tokens": 30,
            }
        },
        {},
    )
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (100, 40, 140)
    assert (usage.cache_read_input_tokens, usage.cache_write_input_tokens, usage.reasoning_tokens) == (
        60,
        30,
        25,
    )
    anthropic = map_usage({"usage": {"prompt_tokens": 5, "cache_read_input_tokens": 4}}, {})
    assert anthropic.cache_read_input_tokens == 4


def test_usage_falls_back_to_the_logging_payload_counts() -> None:
    usage = map_usage({}, {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10})
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (7, 3, 10)
