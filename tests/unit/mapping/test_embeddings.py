"""One embedding event to the SDK's embedding recording."""

from __future__ import annotations

import base64
import struct

import pytest

from sigil_sdk_litellm.mapping.embeddings import map_embedding, vector_length
from sigil_sdk_litellm.mapping.event import MappingOptions
from tests.support import callback_kwargs, standard_logging_object


def test_embedding_mapping() -> None:
    slo = standard_logging_object(
        call_type="aembedding",
        model="text-embedding-3-small",
        model_parameters={"dimensions": 256, "encoding_format": "float"},
        response={
            "model": "text-embedding-3-small",
            "data": [{"embedding": [0.1] * 256}],
            "usage": {"prompt_tokens": 9},
        },
    )
    kwargs = callback_kwargs(slo, call_type="aembedding", input=["alpha", "beta"])
    record = map_embedding(kwargs, None, MappingOptions(agent_name="emb"))
    assert (record.start.model.provider, record.start.model.name) == ("openai", "text-embedding-3-small")
    assert (record.start.dimensions, record.start.encoding_format, record.start.agent_name) == (
        256,
        "float",
        "emb",
    )
    assert (record.result.input_count, record.result.input_tokens, record.result.dimensions) == (2, 9, 256)
    assert record.result.input_texts == ["alpha", "beta"]
    hidden = map_embedding(kwargs, None, MappingOptions(capture_inputs=False))
    assert hidden.result.input_texts == []


@pytest.mark.parametrize("dimensions", [1, 2, 3, 8, 1536])
def test_the_dimensions_of_a_base64_vector_are_counted(dimensions: int) -> None:
    """The official OpenAI client asks for encoding_format=base64 unless told otherwise: LiteLLM logs the
    vector as the base64 text of its float32s."""
    vector = base64.b64encode(struct.pack(f"<{dimensions}f", *range(dimensions))).decode()
    slo = standard_logging_object(
        call_type="aembedding",
        response={"model": "e", "data": [{"embedding": vector, "index": 0}], "usage": {}},
        model_parameters={"encoding_format": "base64"},
    )
    record = map_embedding(callback_kwargs(slo, call_type="aembedding", input="x"), None, MappingOptions())
    assert record.start.dimensions == record.result.dimensions == dimensions
    assert vector_length([0.0] * dimensions) == dimensions
