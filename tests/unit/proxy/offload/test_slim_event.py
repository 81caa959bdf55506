"""slim_event keeps exactly what the mapping reads: mapping the slim copy gives the same generation."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from sigil_sdk_litellm.mapping.embeddings import map_embedding
from sigil_sdk_litellm.mapping.event import MappingOptions
from sigil_sdk_litellm.mapping.generation import map_generation
from sigil_sdk_litellm.proxy.offload.slim_event import slim_event
from tests.support import callback_kwargs, chat_response, failure_slo, standard_logging_object
from tests.unit.mapping.test_routes import (
    TOOL,
    anthropic_chat_response,
    anthropic_event,
    responses_event,
    responses_object,
)

SECRET = "sk-live-secret-key-0123456789"


def proxy_kwargs(**slo_overrides: Any) -> dict[str, Any]:
    """A proxy-shaped event: request metadata, key identity, headers and keys that must not travel."""
    slo = standard_logging_object(
        request_tags=["team-a", "User-Agent: OpenAI/Python 1.0"],
        model_group="gpt-4o-mini",
        model_id="dep-1",
        end_user="customer-1",
        metadata={
            "user_api_key_team_id": "team-1",
            "user_api_key_alias": "ci",
            "user_api_key_hash": "hash-" + SECRET,
            "user_api_key_user_id": "u-1",
            "requester_metadata": {"agent_name": "bot", "conversation_id": "conv-1", "secret": SECRET},
        },
        hidden_params={"model_id": "dep-1", "api_key": SECRET},
        model_parameters={
            "temperature": 0.1,
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            "tool_choice": "auto",
        },
        **slo_overrides,
    )
    return callback_kwargs(
        slo,
        api_key=SECRET,
        litellm_params={
            "metadata": {
                "headers": {"authorization": f"Bearer {SECRET}"},
                "agent_version": "3",
                "requester_metadata": {"agent_name": "bot", "conversation_id": "conv-1"},
            },
            "api_key": SECRET,
            "custom_llm_provider": "openai",
        },
    )


CASES: dict[str, tuple[dict[str, Any], Any, bool]] = {
    "sdk chat": (callback_kwargs(), None, False),
    "proxy chat": (proxy_kwargs(), None, False),
    "stream": (proxy_kwargs(stream=True, completionStartTime=1_700_000_000.5), None, False),
    "failure": (
        callback_kwargs(failure_slo(), exception=RuntimeError("upstream said no")),
        None,
        True,
    ),
    "response only in response_obj": (callback_kwargs(standard_logging_object(response={})), chat_response(), False),
    "messages only in kwargs": (
        callback_kwargs(standard_logging_object(messages=None), messages=[{"role": "user", "content": "from kwargs"}]),
        None,
        False,
    ),
    "params only in kwargs": (
        callback_kwargs(standard_logging_object(model_parameters={}), optional_params={"temperature": 0.7, "x": 1}),
        None,
        False,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("redacted", [False, True])
def test_mapping_the_slim_event_gives_the_same_generation(name: str, redacted: bool) -> None:
    kwargs, response, failed = CASES[name]
    assert_slim_event_maps_the_same(kwargs, response, failed=failed, redacted=redacted)


def assert_slim_event_maps_the_same(kwargs: dict[str, Any], response: Any, *, failed: bool, redacted: bool) -> None:
    """Mapping the pickled slim event gives what mapping the whole event gives (for every route)."""
    options = MappingOptions(agent_name="default", conversation_id="default-conv")
    direct = map_generation(kwargs, response, options, failed=failed, redacted=redacted)
    slim = pickle.loads(pickle.dumps(slim_event(kwargs, response, redacted=redacted)))
    via_slim = map_generation(slim, None, options, failed=failed, redacted=redacted)
    assert via_slim.generation == direct.generation
    assert via_slim.start == direct.start
    assert via_slim.first_token_at == direct.first_token_at
    assert via_slim.call_error == direct.call_error


def test_embedding_slim_event_keeps_inputs_unless_redacted() -> None:
    slo = standard_logging_object(call_type="aembedding", response={"model": "e", "data": [], "usage": {}})
    kwargs = callback_kwargs(slo, call_type="aembedding", input=["alpha", "beta"])
    options = MappingOptions()
    direct = map_embedding(kwargs, None, options)
    via_slim = map_embedding(slim_event(kwargs), None, options)
    assert via_slim.result == direct.result and via_slim.start == direct.start
    assert "input" not in slim_event(kwargs, redacted=True)


def test_secrets_headers_and_unread_data_never_travel() -> None:
    data = pickle.dumps(slim_event(proxy_kwargs()))
    assert SECRET.encode() not in data
    assert b"authorization" not in data.lower()
    assert b"model_map_information" not in data


def test_redacted_slim_event_has_no_content() -> None:
    slim = slim_event(proxy_kwargs(), redacted=True)
    data = pickle.dumps(slim)
    assert b"Say hello" not in data and b"Hello there!" not in data and b"You are terse." not in data
    assert slim["standard_logging_object"]["response"]["usage"]["total_tokens"] == 17


# --- the routes with their own API (Responses, Anthropic Messages) ---

ROUTE_CASES = {
    "responses": (responses_event, None),
    "responses stream": (lambda: responses_event(stream=True, completionStartTime=1_700_000_000.5), None),
    "responses bridged": (
        lambda: {**responses_event(response=anthropic_chat_response()), "input": [{"role": "system", "content": "s"}]},
        None,
    ),
    "responses object only in response_obj": (lambda: responses_event(response={}), responses_object()),
    "responses input only in kwargs": (
        lambda: {**responses_event(messages=None), "input": [{"role": "developer", "content": "d"}, "question"]},
        None,
    ),
    "responses params only in kwargs": (
        lambda: {
            **responses_event(model_parameters={}),
            "optional_params": {
                "instructions": "Be terse.",
                "max_output_tokens": 50,
                "reasoning": {"effort": "low"},
                "tools": [TOOL],
            },
        },
        None,
    ),
    "anthropic": (anthropic_event, None),
    "anthropic system in litellm_params": (
        lambda: {**anthropic_event(system=None), "litellm_params": {"system": "from params", "metadata": {}}},
        None,
    ),
    "anthropic failure": (lambda: anthropic_event(**failure_slo()), None),
}


@pytest.mark.parametrize("name", list(ROUTE_CASES))
@pytest.mark.parametrize("redacted", [False, True])
def test_the_slim_event_of_a_route_maps_the_same(name: str, redacted: bool) -> None:
    make, response = ROUTE_CASES[name]
    assert_slim_event_maps_the_same(make(), response, failed="failure" in name, redacted=redacted)


def responses_event_params_in_kwargs() -> dict[str, Any]:
    return {**responses_event(model_parameters={}), "optional_params": {"instructions": "Be terse.", "system": "x"}}


@pytest.mark.parametrize("make", [responses_event, anthropic_event, responses_event_params_in_kwargs])
def test_redacted_slim_event_of_a_route_has_no_content(make: Any) -> None:
    kwargs = make()
    kwargs["input"] = [{"role": "system", "content": "You are a bot."}]
    kwargs["standard_logging_object"]["model_parameters"]["system"] = "You are a bot."
    before = pickle.dumps(kwargs)
    data = pickle.dumps(slim_event(kwargs, None, redacted=True))
    for secret in (b"You are a bot.", b"Be terse.", b"weather?", b"Sunny.", b"let me look", b"a cat"):
        assert secret not in data, secret
    assert pickle.dumps(kwargs) == before  # LiteLLM's own payload is left as it was
