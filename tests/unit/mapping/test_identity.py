"""Who and what an event is about: model, agent, conversation, user."""

from __future__ import annotations

import pytest

from sigil_sdk_litellm.mapping.event import MappingOptions
from tests.support import failure_slo, standard_logging_object
from tests.unit.mapping.support import generation


@pytest.mark.parametrize(
    ("model", "provider", "expected"),
    [
        ("gpt-4o-mini", "openai", ("openai", "gpt-4o-mini")),
        ("openai/gpt-4o-mini", "openai", ("openai", "gpt-4o-mini")),
        ("anthropic/claude-3-5-sonnet", "", ("anthropic", "claude-3-5-sonnet")),
        ("openrouter/meta/llama-3", "openrouter", ("openrouter", "meta/llama-3")),
        ("meta/llama-3", "together_ai", ("together_ai", "meta/llama-3")),
        ("", "", ("unknown", "unknown")),
        (None, None, ("unknown", "unknown")),
    ],
)
def test_model_name_without_provider_prefix(model: object, provider: object, expected: tuple[str, str]) -> None:
    slo = standard_logging_object(model=model, custom_llm_provider=provider)
    record = generation(slo, model=model, litellm_params={"metadata": {}})
    assert (record.generation.model.provider, record.generation.model.name) == expected


def test_provider_falls_back_to_the_error_information() -> None:
    slo = failure_slo(custom_llm_provider=None, model="claude-x")
    g = generation(slo, litellm_params={}, failed=True).generation
    assert g.model.provider == "openai"


def test_agent_and_conversation_from_request_metadata_then_defaults() -> None:
    options = MappingOptions(agent_name="default-agent", agent_version="1", conversation_id="default-conv")
    plain = generation(options=options).generation
    assert (plain.agent_name, plain.agent_version, plain.conversation_id) == (
        "default-agent",
        "1",
        "default-conv",
    )
    meta = {"agent_name": "search", "agent_version": "v2", "conversation_id": "conv-9"}
    g = generation(options=options, litellm_params={"metadata": meta}).generation
    assert (g.agent_name, g.agent_version, g.conversation_id) == ("search", "v2", "conv-9")


def test_proxy_requester_metadata_is_read() -> None:
    slo = standard_logging_object(metadata={"requester_metadata": {"agent_name": "via-proxy", "thread_id": "t-1"}})
    g = generation(slo, litellm_params={"metadata": {}}).generation
    assert (g.agent_name, g.conversation_id) == ("via-proxy", "t-1")


@pytest.mark.parametrize(
    ("metadata", "slo_session", "params", "expected"),
    [
        ({"conversation_id": "c", "session_id": "s", "thread_id": "t"}, "ls", {}, "c"),
        ({"session_id": "s", "thread_id": "t"}, "ls", {}, "s"),
        ({"thread_id": "t"}, "ls", {}, "t"),
        ({}, "litellm-session", {}, "litellm-session"),
        ({}, "", {"litellm_session_id": "ls-param"}, "ls-param"),
        ({"trace_id": "my-trace"}, "", {}, "my-trace"),
        ({}, "", {"litellm_trace_id": "generated-per-request"}, "handler-default"),
        ({}, "", {}, "handler-default"),
    ],
)
def test_conversation_id_fallbacks(metadata: dict, slo_session: str, params: dict, expected: str) -> None:
    slo = standard_logging_object(session_id=slo_session)
    options = MappingOptions(conversation_id="handler-default")
    g = generation(slo, options, litellm_params={"metadata": metadata, **params}).generation
    assert g.conversation_id == expected


def test_user_id_prefers_the_end_user_then_the_key_user() -> None:
    meta = {"user_api_key_user_id": "key-owner", "user_api_key_end_user_id": None, "requester_metadata": None}
    assert generation(standard_logging_object(metadata=meta)).generation.user_id == "key-owner"
    slo = standard_logging_object(metadata=meta, end_user="customer-7")
    assert generation(slo).generation.user_id == "customer-7"
    assert generation(standard_logging_object(metadata=meta), user="openai-user").generation.user_id == "openai-user"
