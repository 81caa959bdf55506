"""The mapping rules taken over from the incumbent package (docs/compatibility.md), with plain dicts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from sigil_sdk_litellm import SigilLiteLLMLogger
from sigil_sdk_litellm.callback_methods import with_callback_times
from sigil_sdk_litellm.mapping.embeddings import map_embedding
from sigil_sdk_litellm.mapping.event import MappingOptions
from sigil_sdk_litellm.mapping.generation import map_generation
from sigil_sdk_litellm.proxy.offload.slim_event import slim_event
from tests.support import callback_kwargs, capturing_client, chat_response, failure_slo, standard_logging_object

OPTIONS = MappingOptions()


def generation(kwargs: dict[str, Any], response_obj: Any = None, options: MappingOptions = OPTIONS) -> Any:
    return map_generation(kwargs, response_obj, options).generation


def with_metadata(**metadata: Any) -> dict[str, Any]:
    return callback_kwargs(litellm_params={"metadata": metadata, "custom_llm_provider": "openai"})


def test_agent_id_names_the_agent_after_agent_name() -> None:
    assert generation(with_metadata(agent_id="support-bot")).agent_name == "support-bot"
    assert generation(with_metadata(agent_id="key-agent", agent_name="named")).agent_name == "named"
    only_id = MappingOptions(agent_name_metadata_keys=("agent_id",), agent_name="fallback")
    assert generation(with_metadata(agent_name="named"), options=only_id).agent_name == "fallback"
    proxy = callback_kwargs(litellm_params={"litellm_metadata": {"agent_id": "from-header"}})
    assert generation(proxy).agent_name == "from-header"  # /v1/responses and /v1/messages keep it here


def test_the_slim_event_carries_the_configured_agent_keys() -> None:
    kwargs = with_metadata(bot="b-1", agent_id="a-1", api_key="sk-secret")
    keys = ("bot", "agent_id")
    slim = slim_event(kwargs, None, agent_name_metadata_keys=keys)
    assert slim["litellm_params"]["metadata"] == {"bot": "b-1", "agent_id": "a-1"}
    options = MappingOptions(agent_name_metadata_keys=keys)
    assert generation(slim, options=options).agent_name == generation(kwargs, options=options).agent_name == "b-1"


def test_the_handler_option_takes_any_iterable_of_keys() -> None:
    client, _ = capturing_client()
    handler = SigilLiteLLMLogger(client=client, agent_name_metadata_keys=["bot", " bot ", "agent_id"])
    assert handler.options.agent_name_metadata_keys == ("bot", "agent_id")
    assert SigilLiteLLMLogger(client=client, agent_name_metadata_keys="bot").options.agent_name_metadata_keys == (
        "bot",
    )
    with pytest.raises(ValueError, match="agent_name_metadata_keys"):
        SigilLiteLLMLogger(client=client, agent_name_metadata_keys=[" "])


def test_the_generation_id_is_the_litellm_call_id() -> None:
    record = map_generation(callback_kwargs(standard_logging_object(litellm_call_id="c-42")), None, OPTIONS)
    assert record.generation.id == record.start.id == "c-42"
    assert generation(callback_kwargs(standard_logging_object(litellm_call_id=None), litellm_call_id="c-7")).id == "c-7"
    assert generation(callback_kwargs(standard_logging_object(litellm_call_id=None), litellm_call_id=None)).id == ""


def test_a_failed_router_try_has_its_own_id() -> None:
    """Outside the router's retry loop a failure keeps the call id (nothing can succeed after it under
    that id); inside it, the try's number tells it from the call's success (and the slim event keeps it)."""
    outside = callback_kwargs(failure_slo(litellm_call_id="c-9"))
    assert map_generation(outside, None, OPTIONS, failed=True).generation.id == "c-9"
    inside = callback_kwargs(
        failure_slo(litellm_call_id="c-9"),
        litellm_params={"metadata": {"attempted_retries": 2}, "custom_llm_provider": "openai"},
    )
    record = map_generation(inside, None, OPTIONS, failed=True)
    assert record.generation.id == record.start.id == "c-9-attempt-2"
    assert map_generation(slim_event(inside), None, OPTIONS, failed=True).generation.id == "c-9-attempt-2"
    assert generation(inside).id == "c-9"  # the same event as a success: the call's own id


def test_default_user_id_is_no_user() -> None:
    slo = standard_logging_object(metadata={"user_api_key_user_id": "default_user_id"})
    assert generation(callback_kwargs(slo)).user_id == ""
    slo = standard_logging_object(metadata={"user_api_key_user_id": "default_user_id", "user_api_key_end_user_id": "u"})
    assert generation(callback_kwargs(slo)).user_id == "u"


def test_litellm_trace_id_is_the_last_conversation_fallback() -> None:
    kwargs = callback_kwargs(litellm_params={"metadata": {}, "litellm_trace_id": "trace-9"})
    assert generation(kwargs).conversation_id == "trace-9"
    assert generation(kwargs, options=MappingOptions(conversation_id="default")).conversation_id == "default"
    kwargs["litellm_params"]["litellm_session_id"] = "session-1"
    assert generation(kwargs).conversation_id == "session-1"


def test_a_plain_string_response_is_the_output_text() -> None:
    gen = generation(callback_kwargs(standard_logging_object(response="Plain answer.")))
    assert [p.text for p in gen.output[0].parts] == ["Plain answer."]
    slim = slim_event(callback_kwargs(standard_logging_object(response="Plain answer.")), None)
    assert [p.text for p in generation(slim).output[0].parts] == ["Plain answer."]


def test_cache_and_reasoning_tokens_fall_back_to_the_response_object() -> None:
    details = {
        "prompt_tokens": 12,
        "completion_tokens": 5,
        "total_tokens": 17,
        "prompt_tokens_details": {"cached_tokens": 4, "cache_creation_tokens": 2},
        "completion_tokens_details": {"reasoning_tokens": 3},
    }
    kwargs = callback_kwargs()
    response_obj = chat_response(usage=details)
    for event, obj in ((kwargs, response_obj), (slim_event(kwargs, response_obj), None)):
        usage = generation(event, obj).usage
        assert (usage.cache_read_input_tokens, usage.cache_write_input_tokens, usage.reasoning_tokens) == (4, 2, 3)
        assert usage.input_tokens == 12


@pytest.fixture
def berlin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("berlin")
def test_callback_times_win_and_naive_ones_are_local_time() -> None:
    naive = datetime(2026, 1, 15, 12, 0, 0)
    kwargs = with_callback_times(callback_kwargs(), naive, naive + timedelta(seconds=2))
    gen = generation(kwargs)
    assert gen.started_at == datetime(2026, 1, 15, 11, 0, 0, tzinfo=timezone.utc)  # CET = UTC+1
    assert gen.completed_at == datetime(2026, 1, 15, 11, 0, 2, tzinfo=timezone.utc)
    aware = datetime(2026, 1, 15, 12, 0, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert generation(with_callback_times(callback_kwargs(), aware, aware)).started_at == datetime(
        2026, 1, 15, 6, 30, tzinfo=timezone.utc
    )
    assert generation(slim_event(kwargs)).started_at == gen.started_at


def test_callback_times_never_change_litellms_kwargs() -> None:
    kwargs = callback_kwargs()
    moment = datetime.now(timezone.utc)
    timed = with_callback_times(kwargs, moment, moment)
    assert "start_time" not in kwargs and timed["start_time"] is moment
    assert with_callback_times(kwargs, None, None) is kwargs


@pytest.mark.parametrize(
    ("raw", "count", "texts"),
    [("one", 1, ["one"]), ("", 0, []), (["a", "b"], 2, ["a", "b"]), ([101, 102, 103], 1, []), ([[1, 2], [3]], 2, [])],
)
def test_embedding_input_count(raw: Any, count: int, texts: list[str]) -> None:
    slo = standard_logging_object(call_type="aembedding", response={"data": [{"embedding": [0.1] * 6}]})
    record = map_embedding(callback_kwargs(slo, call_type="aembedding", input=raw), None, OPTIONS)
    assert (record.result.input_count, record.result.input_texts) == (count, texts)
    assert record.start.dimensions == record.result.dimensions == 6  # no dimensions asked: the vector's


def test_embedding_dimensions_of_the_request_win() -> None:
    slo = standard_logging_object(
        call_type="aembedding", model_parameters={"dimensions": 4}, response={"data": [{"embedding": [0.1] * 6}]}
    )
    record = map_embedding(callback_kwargs(slo, call_type="aembedding", input="x"), None, OPTIONS)
    assert record.start.dimensions == record.result.dimensions == 4
