"""One LiteLLM embedding event → the SDK's embedding recording (a span, not a generation)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sigil_sdk import EmbeddingResult, EmbeddingStart

from sigil_sdk_litellm.mapping.coerce import as_dict, as_int, as_list, as_opt_int, as_str
from sigil_sdk_litellm.mapping.event import (
    MappingOptions,
    error_text,
    event_times,
    model_parameters,
    request_metadata_sources,
    response_dict,
)
from sigil_sdk_litellm.mapping.identity import resolve_agent, resolve_model
from sigil_sdk_litellm.mapping.metadata import build_metadata, build_tags
from sigil_sdk_litellm.mapping.trace_context import request_traceparent


@dataclass(slots=True)
class EmbeddingRecord:
    """What the handler hands to ``Client.start_embedding`` for one event."""

    start: EmbeddingStart
    result: EmbeddingResult
    call_error: str = ""
    traceparent: str = ""  # the request's span, the parent of the embedding's (mapping.trace_context)


def _embedding_inputs(raw: Any) -> list[str]:
    """The input texts; LiteLLM empties the input to "" when message logging is off."""
    if isinstance(raw, str):
        return [raw] if raw else []
    return [item for item in as_list(raw) if isinstance(item, str)]


def vector_length(vector: Any) -> int:
    """The dimensions of one returned embedding: a list of floats, or (``encoding_format=base64``, what
    the official OpenAI client asks for by default) base64 of little-endian float32s, counted from the
    text's length without decoding it."""
    if isinstance(vector, list):
        return len(vector)
    if isinstance(vector, str):
        text = vector.strip()
        return (len(text) // 4 * 3 - text[-2:].count("=")) // 4
    return 0


def embedding_input_count(raw: Any) -> int:
    """A string is one input ("" none), a list of token ids one, any other list one per item."""
    if isinstance(raw, str):
        return 1 if raw else 0
    if isinstance(raw, (list, tuple)):
        if raw and all(isinstance(item, int) and not isinstance(item, bool) for item in raw):
            return 1
        return len(raw)
    return 0


def map_embedding(
    kwargs: Mapping[str, Any],
    response_obj: Any,
    options: MappingOptions,
    *,
    failed: bool = False,
    redacted: bool = False,
) -> EmbeddingRecord:
    """One LiteLLM embedding event → the SDK's embedding recording (a span, not a generation)."""
    slo = as_dict(kwargs.get("standard_logging_object"))
    response = {} if failed else response_dict(slo, response_obj)
    params = model_parameters(kwargs, slo)
    sources = request_metadata_sources(kwargs, slo)
    tags, user_agent = build_tags(slo, options)
    started_at, _ = event_times(kwargs, slo)
    model = resolve_model(kwargs, slo)
    agent_name, agent_version = resolve_agent(sources, options)
    raw_input = kwargs.get("input")
    data = as_list(response.get("data"))
    # the request's dimensions, else the length of the returned vector
    returned = vector_length(as_dict(data[0]).get("embedding")) if data else 0
    dimensions = as_opt_int(params.get("dimensions")) or returned or None
    start = EmbeddingStart(
        model=model,
        agent_name=agent_name,
        agent_version=agent_version,
        dimensions=dimensions,
        encoding_format=as_str(params.get("encoding_format")).strip(),
        tags=tags,
        metadata=build_metadata(kwargs, slo, options, user_agent),
        started_at=started_at,
    )
    result = EmbeddingResult(
        input_count=embedding_input_count(raw_input),
        input_tokens=as_int(as_dict(response.get("usage")).get("prompt_tokens")) or as_int(slo.get("prompt_tokens")),
        input_texts=_embedding_inputs(raw_input) if options.capture_inputs and not redacted else [],
        response_model=as_str(response.get("model")),
        dimensions=dimensions,
    )
    return EmbeddingRecord(
        start=start,
        result=result,
        call_error=error_text(kwargs, slo) if failed else "",
        traceparent=request_traceparent(kwargs),
    )
