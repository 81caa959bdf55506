"""Token usage of a response, in LiteLLM's chat shape or a route's own (Responses, Anthropic)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sigil_sdk import TokenUsage

from sigil_sdk_litellm.mapping.coerce import as_dict, as_int


def _usage_details(usage: Mapping[str, Any]) -> tuple[int, int, int]:
    """(cache read, cache write, reasoning) tokens of one OpenAI-style ``usage`` value."""
    prompt_details = as_dict(usage.get("prompt_tokens_details"))
    completion_details = as_dict(usage.get("completion_tokens_details"))
    return (
        as_int(prompt_details.get("cached_tokens")) or as_int(usage.get("cache_read_input_tokens")),
        as_int(usage.get("cache_creation_input_tokens")) or as_int(prompt_details.get("cache_creation_tokens")),
        as_int(completion_details.get("reasoning_tokens")),
    )


def map_usage(response: Mapping[str, Any], slo: Mapping[str, Any], fallback_usage: Any = None) -> TokenUsage:
    """Token counts of the response, else of the logging payload; the cache and reasoning details
    of the response, else of ``fallback_usage`` (``response_obj.usage`` when the payload lacks them)."""
    usage = as_dict(response.get("usage"))
    input_tokens = as_int(usage.get("prompt_tokens")) or as_int(slo.get("prompt_tokens"))
    output_tokens = as_int(usage.get("completion_tokens")) or as_int(slo.get("completion_tokens"))
    total = as_int(usage.get("total_tokens")) or as_int(slo.get("total_tokens"))
    cache_read, cache_write, reasoning = _usage_details(usage)
    if fallback_usage is not None and not (cache_read or cache_write or reasoning):
        cache_read, cache_write, reasoning = _usage_details(as_dict(fallback_usage))
    return TokenUsage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=max(total, input_tokens + output_tokens) if total else 0,
        cache_read_input_tokens=cache_read,
        cache_write_input_tokens=cache_write,
        reasoning_tokens=reasoning,
    )


def response_object_usage(kwargs: Mapping[str, Any], response_obj: Any) -> Any:
    """``response_obj.usage`` (or the slim event's copy of it)."""
    if "response_usage" in kwargs:
        return kwargs["response_usage"]
    if isinstance(response_obj, dict):
        return response_obj.get("usage")
    return getattr(response_obj, "usage", None)


def route_usage(response: Mapping[str, Any], slo: Mapping[str, Any], *, cache_outside_input: bool) -> TokenUsage:
    """Usage of a response in the Responses or Anthropic shape (``input_tokens`` / ``output_tokens``),
    else LiteLLM's chat shape. With ``cache_outside_input`` (Anthropic), cache reads and writes are
    not part of ``input_tokens`` and are added to it, so input counts mean the same on every route."""
    usage = as_dict(response.get("usage"))
    if "prompt_tokens" in usage or "input_tokens" not in usage:
        return map_usage(response, slo)
    cache_read = as_int(as_dict(usage.get("input_tokens_details")).get("cached_tokens")) or as_int(
        usage.get("cache_read_input_tokens")
    )
    cache_write = as_int(usage.get("cache_creation_input_tokens"))
    input_tokens = as_int(usage.get("input_tokens"))
    if cache_outside_input:
        input_tokens += cache_read + cache_write
    output_tokens = as_int(usage.get("output_tokens"))
    total = max(as_int(usage.get("total_tokens")), input_tokens + output_tokens)
    return TokenUsage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=total,
        cache_read_input_tokens=cache_read,
        cache_write_input_tokens=cache_write,
        reasoning_tokens=as_int(as_dict(usage.get("output_tokens_details")).get("reasoning_tokens")),
    )
