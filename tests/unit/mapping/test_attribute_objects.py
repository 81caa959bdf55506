"""Response objects read by attribute as well as by key (a custom provider's response, a test double):
what LiteLLM hands a callback is not always a dict or a pydantic model (issue #24)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sigil_sdk_litellm.mapping.coerce import as_dict
from sigil_sdk_litellm.mapping.embeddings import map_embedding
from sigil_sdk_litellm.mapping.event import MappingOptions
from sigil_sdk_litellm.mapping.generation import map_generation
from sigil_sdk_litellm.proxy.offload.slim_event import slim_event
from tests.support import callback_kwargs, standard_logging_object

OPTIONS = MappingOptions(agent_name="a")


def plain_data(value: Any) -> bool:
    """Only dicts, lists and scalars all the way down (what the recorder hand-off pickles cheaply)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain_data(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain_data(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


class Usage:
    """Attributes only: no ``model_dump``, no ``__getitem__``."""

    def __init__(self) -> None:
        self.prompt_tokens = 12
        self.completion_tokens = 5
        self.total_tokens = 17
        self.prompt_tokens_details = SimpleNamespace(cached_tokens=7)
        self.completion_tokens_details = SimpleNamespace(reasoning_tokens=3)
        self._private = object()


def chat_object() -> Any:
    message = SimpleNamespace(role="assistant", content="Sunny.", tool_calls=None)
    choice = SimpleNamespace(index=0, finish_reason="stop", message=message)
    return SimpleNamespace(id="chatcmpl-9", model="gpt-4o", choices=[choice], usage=Usage())


def test_a_chat_response_read_by_attribute() -> None:
    kwargs = callback_kwargs(standard_logging_object(response=None, prompt_tokens=0, completion_tokens=0))
    for event, response in ((kwargs, chat_object()), (slim_event(kwargs, chat_object()), None)):
        g = map_generation(event, response, OPTIONS).generation
        assert (g.response_id, g.response_model, g.stop_reason) == ("chatcmpl-9", "gpt-4o", "stop")
        assert [p.text for p in g.output[0].parts] == ["Sunny."]
        u = g.usage
        assert (u.input_tokens, u.output_tokens, u.cache_read_input_tokens, u.reasoning_tokens) == (12, 5, 7, 3)


def test_usage_details_read_by_attribute_beside_a_logged_response() -> None:
    """The payload's response lacks the details; ``response_obj.usage`` has them as attributes."""
    kwargs = callback_kwargs(standard_logging_object())
    response = SimpleNamespace(usage=Usage())
    for event, obj in ((kwargs, response), (slim_event(kwargs, response), None)):
        u = map_generation(event, obj, OPTIONS).generation.usage
        assert (u.cache_read_input_tokens, u.reasoning_tokens) == (7, 3)


def test_embedding_dimensions_read_by_attribute() -> None:
    slo = standard_logging_object(call_type="aembedding", response=None, model_parameters={})
    kwargs = callback_kwargs(slo, call_type="aembedding", input=["x"])
    response = SimpleNamespace(model="e", data=[{"embedding": [0.5] * 12}], usage=SimpleNamespace(prompt_tokens=2))
    record = map_embedding(kwargs, response, OPTIONS)
    assert (record.start.dimensions, record.result.input_tokens, record.result.response_model) == (12, 2, "e")


def test_attribute_objects_become_plain_data() -> None:
    plain = as_dict(chat_object())
    assert plain["choices"][0]["message"]["content"] == "Sunny."
    assert plain["usage"]["prompt_tokens_details"] == {"cached_tokens": 7}
    assert "_private" not in plain["usage"]
    assert plain_data(plain)
    assert plain_data(slim_event(callback_kwargs(standard_logging_object(response=None)), chat_object()))
    for not_an_object in (None, "text", 3, [1], (1,), len, int):
        assert as_dict(not_an_object) == {}
