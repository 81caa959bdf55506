"""SigilLiteLLMLogger driving a real sigil_sdk.Client whose exporter captures what would be sent."""

from __future__ import annotations

import inspect
import logging
from datetime import timedelta
from typing import Any

import pytest
from sigil_sdk import Client, ClientConfig, ContentCaptureMode, GenerationExportConfig, GenerationMode

import sigil_sdk_litellm
from sigil_sdk_litellm import SigilLiteLLMLogger, create_sigil_litellm_logger
from tests.support import (
    CapturingExporter,
    callback_kwargs,
    capturing_client,
    failure_slo,
    flushed,
    span_capturing_client,
    standard_logging_object,
)

SPEC_OPTIONS = {
    "capture_inputs": True,
    "capture_outputs": True,
    "agent_name": "",
    "agent_version": "",
    "conversation_id": "",
    "extra_tags": None,
    "extra_metadata": None,
}


def test_public_names() -> None:
    assert sigil_sdk_litellm.__all__ == ["SigilLiteLLMLogger", "__version__", "create_sigil_litellm_logger"]
    for name in sigil_sdk_litellm.__all__:
        assert hasattr(sigil_sdk_litellm, name)


@pytest.mark.parametrize("factory", [SigilLiteLLMLogger, create_sigil_litellm_logger])
def test_options_are_keyword_only_with_the_spec_defaults(factory: Any) -> None:
    params = inspect.signature(factory).parameters
    params = {k: v for k, v in params.items() if k not in ("self",)}
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
    assert params["client"].default is inspect.Parameter.empty
    assert {k: params[k].default for k in SPEC_OPTIONS} == SPEC_OPTIONS
    with pytest.raises(TypeError):
        factory(Client(ClientConfig(generation_export=GenerationExportConfig(protocol="none"))), True)


def test_factory_builds_a_configured_handler() -> None:
    client, _ = capturing_client()
    handler = create_sigil_litellm_logger(client=client, agent_name="a", capture_outputs=False)
    assert isinstance(handler, SigilLiteLLMLogger)
    assert handler.client is client
    assert handler.options.agent_name == "a" and handler.options.capture_outputs is False


async def test_options_given_as_one_value_are_used_as_is() -> None:
    from sigil_sdk_litellm.mapping import MappingOptions

    client, exporter = capturing_client()
    options = MappingOptions(agent_name="bot", extra_tags={"env": "test"}, capture_outputs=False)
    handler = SigilLiteLLMLogger(client=client, options=options)
    assert handler.options is options
    await handler.async_log_success_event(callback_kwargs(), None, None, None)
    [g] = flushed(client, exporter)
    assert (g.agent_name, g.tags["env"], g.output) == ("bot", "test", [])
    with pytest.raises(TypeError, match="options= or the option keywords, not both"):
        SigilLiteLLMLogger(client=client, options=options, agent_name="other")


async def test_callback_return_then_flush_exports_the_generation() -> None:
    client, exporter = capturing_client()
    handler = SigilLiteLLMLogger(client=client, agent_name="bot", extra_tags={"env": "test"})
    await handler.async_log_success_event(callback_kwargs(), None, None, None)
    assert exporter.generations == []  # queued, not yet sent
    [g] = flushed(client, exporter)
    assert g.mode is GenerationMode.SYNC
    assert (g.model.provider, g.model.name, g.agent_name) == ("openai", "gpt-4o-mini", "bot")
    assert [p.text for msg in g.input for p in msg.parts] == ["Say hello"]
    assert g.system_prompt == "You are terse."
    assert [p.text for msg in g.output for p in msg.parts] == ["Hello there!"]
    assert (g.usage.input_tokens, g.usage.output_tokens, g.usage.total_tokens) == (12, 5, 17)
    assert g.tags["env"] == "test" and g.tags["sigil.framework.source"] == "handler"
    assert g.started_at.timestamp() == 1_700_000_000.0
    assert g.id  # the SDK assigned one
    assert exporter.protos[0].model.name == "gpt-4o-mini"  # serialisable to the wire format


async def test_shutdown_exports_what_was_recorded() -> None:
    client, exporter = capturing_client()
    handler = SigilLiteLLMLogger(client=client)
    handler.log_success_event(callback_kwargs(), None, None, None)
    client.shutdown()
    assert len(exporter.generations) == 1


async def test_stream_event_records_first_token_time() -> None:
    client, exporter = capturing_client()
    slo = standard_logging_object(stream=True, completionStartTime=1_700_000_000.4)
    await SigilLiteLLMLogger(client=client).async_log_success_event(callback_kwargs(slo), None, None, None)
    [g] = flushed(client, exporter)
    assert g.mode is GenerationMode.STREAM
    assert g.operation_name == "streamText"


async def test_failure_is_recorded_with_the_call_error() -> None:
    client, exporter = capturing_client()
    kwargs = callback_kwargs(failure_slo())
    kwargs["exception"] = RuntimeError("upstream said 429")
    await SigilLiteLLMLogger(client=client).async_log_failure_event(kwargs, None, None, None)
    [g] = flushed(client, exporter)
    assert g.call_error == "litellm.RateLimitError: slow down"
    assert g.metadata["litellm.error_class"] == "RateLimitError"
    assert g.metadata["litellm.error_code"] == "429"
    assert g.output == []


async def test_failure_without_model_is_still_recorded() -> None:
    client, exporter = capturing_client()
    kwargs = {"call_type": "acompletion", "exception": PermissionError("Authentication Error, invalid key")}
    await SigilLiteLLMLogger(client=client).async_log_failure_event(kwargs, None, None, None)
    [g] = flushed(client, exporter)
    assert (g.model.provider, g.model.name) == ("unknown", "unknown")
    assert "invalid key" in g.call_error


@pytest.mark.parametrize("call_type", ["image_generation", "atranscription", "arerank", "pass_through_endpoint"])
async def test_other_call_types_are_skipped(call_type: str) -> None:
    client, exporter = capturing_client()
    slo = standard_logging_object(call_type=call_type)
    handler = SigilLiteLLMLogger(client=client)
    await handler.async_log_success_event(callback_kwargs(slo, call_type=call_type), None, None, None)
    assert flushed(client, exporter) == []
    assert handler.problems.counts == {}


async def test_embeddings_become_embedding_spans_not_generations() -> None:
    client, exporter, spans = span_capturing_client()
    slo = standard_logging_object(
        call_type="aembedding",
        model="text-embedding-3-small",
        response={
            "model": "text-embedding-3-small",
            "data": [{"embedding": [0.0] * 8}],
            "usage": {"prompt_tokens": 3},
        },
        model_parameters={},
    )
    handler = SigilLiteLLMLogger(client=client, agent_name="emb")
    await handler.async_log_success_event(callback_kwargs(slo, call_type="aembedding", input=["x"]), None, None, None)
    assert flushed(client, exporter) == []
    [span] = spans.get_finished_spans()
    assert span.name == "embeddings text-embedding-3-small"
    assert span.attributes["gen_ai.request.model"] == "text-embedding-3-small"
    assert span.attributes["gen_ai.usage.input_tokens"] == 3
    assert handler.problems.counts == {}


@pytest.mark.parametrize(
    "kwargs",
    [
        None,
        "not a dict",
        {},
        {"call_type": "acompletion", "standard_logging_object": "garbage"},
        {
            "call_type": "acompletion",
            "standard_logging_object": {"messages": 7, "response": [1, 2], "metadata": 3},
        },
        callback_kwargs(standard_logging_object(startTime="yesterday", model_parameters=None, request_tags="x")),
    ],
)
async def test_odd_payloads_never_raise_into_litellm(kwargs: Any) -> None:
    client, exporter = capturing_client()
    handler = SigilLiteLLMLogger(client=client)
    await handler.async_log_success_event(kwargs, object(), None, None)
    await handler.async_log_failure_event(kwargs, object(), None, None)
    for g in flushed(client, exporter):
        assert g.model.provider and g.model.name


async def test_problems_are_logged_once_with_the_sigil_prefix(caplog: pytest.LogCaptureFixture) -> None:
    client, exporter = capturing_client(queue_size=1, batch_size=1000, flush_interval=timedelta(hours=1))
    handler = SigilLiteLLMLogger(client=client)
    with caplog.at_level(logging.WARNING, logger="sigil_sdk_litellm"):
        for _ in range(5):
            await handler.async_log_success_event(callback_kwargs(), None, None, None)
    lines = [r.getMessage() for r in caplog.records if r.name == "sigil_sdk_litellm"]
    assert len(lines) == 1
    assert lines[0].startswith("sigil: generation not queued for export") and "queue is full" in lines[0]
    assert handler.problems.count("sdk:QueueFullError") == 4
    assert len(flushed(client, exporter)) == 1


async def test_a_crash_inside_the_handler_is_contained(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = capturing_client()
    handler = SigilLiteLLMLogger(client=client)

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("surprise")

    monkeypatch.setattr(client, "start_generation", explode)
    with caplog.at_level(logging.WARNING, logger="sigil_sdk_litellm"):
        await handler.async_log_success_event(callback_kwargs(), None, None, None)
        await handler.async_log_success_event(callback_kwargs(), None, None, None)
    lines = [r.getMessage() for r in caplog.records if r.name == "sigil_sdk_litellm"]
    assert len(lines) == 1 and lines[0].startswith("sigil: could not record a LiteLLM event (KeyError")
    assert handler.problems.count("handler:KeyError") == 2


async def test_capture_flags_and_sdk_metadata_only_mode() -> None:
    client, exporter = capturing_client()
    handler = SigilLiteLLMLogger(client=client, capture_inputs=False, capture_outputs=False)
    await handler.async_log_success_event(callback_kwargs(), None, None, None)
    [g] = flushed(client, exporter)
    assert (g.input, g.output, g.system_prompt) == ([], [], "")

    exporter = CapturingExporter()
    client = Client(
        ClientConfig(
            generation_export=GenerationExportConfig(protocol="none", endpoint="localhost:1"),
            generation_exporter=exporter,
            content_capture=ContentCaptureMode.METADATA_ONLY,
        )
    )
    await SigilLiteLLMLogger(client=client).async_log_success_event(callback_kwargs(), None, None, None)
    [g] = flushed(client, exporter)
    assert g.input and all(p.text == "" for msg in [*g.input, *g.output] for p in msg.parts)
    assert g.system_prompt == ""
    assert g.metadata["sigil.sdk.content_capture_mode"] == "metadata_only"


async def test_litellm_message_redaction_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    import litellm

    client, exporter = capturing_client()
    monkeypatch.setattr(litellm, "turn_off_message_logging", True)
    await SigilLiteLLMLogger(client=client).async_log_success_event(callback_kwargs(), None, None, None)
    [g] = flushed(client, exporter)
    assert (g.input, g.output, g.system_prompt) == ([], [], "")
    assert g.usage.total_tokens == 17


def test_repr_shows_options_not_the_client() -> None:
    client, _ = capturing_client()
    text = repr(SigilLiteLLMLogger(client=client, agent_name="bot"))
    assert "agent_name='bot'" in text and "Client" not in text


async def test_a_retried_call_keeps_its_id_for_the_success() -> None:
    """LiteLLM's router logs a failed try (a 5xx, a dropped connection) and then the retry's success under
    the same call id. Sigil refuses a second generation with an id it has: the failed try must not take
    the call id, or the successful generation (usage, output) is refused and only the failure stays."""
    client, exporter = capturing_client()
    handler = SigilLiteLLMLogger(client=client)
    router = {"model_group": "gpt-4o-mini", "max_retries": 2}
    failed_try = callback_kwargs(
        failure_slo(litellm_call_id="call-r"),
        litellm_call_id="call-r",
        litellm_params={"metadata": {**router, "attempted_retries": 0}, "custom_llm_provider": "openai"},
    )
    retry = callback_kwargs(
        standard_logging_object(litellm_call_id="call-r"),
        litellm_call_id="call-r",
        litellm_params={"metadata": {**router, "attempted_retries": 1}, "custom_llm_provider": "openai"},
    )
    await handler.async_log_failure_event(failed_try, None, None, None)
    await handler.async_log_success_event(retry, None, None, None)
    failure, success = flushed(client, exporter)
    assert len({failure.id, success.id}) == 2
    assert success.id == "call-r" and not success.call_error
    assert (success.usage.input_tokens, success.usage.output_tokens) == (12, 5)
    assert failure.id == "call-r-attempt-0" and failure.call_error
    assert failure.metadata["litellm.call_id"] == success.metadata["litellm.call_id"] == "call-r"
    client.shutdown()


async def test_a_failure_reported_to_both_hooks_is_recorded_once() -> None:
    """LiteLLM reports an error raised before the model call (unknown model, bad key) to the async and
    the sync failure hook with the same call id: one generation; another call still gets its own."""
    client, exporter = capturing_client()
    handler = SigilLiteLLMLogger(client=client)
    first = callback_kwargs(failure_slo(), litellm_call_id="call-a")
    await handler.async_log_failure_event(first, None, None, None)
    handler.log_failure_event(first, None, None, None)
    second = callback_kwargs(failure_slo(), litellm_call_id="call-b")
    handler.log_failure_event(second, None, None, None)
    await handler.async_log_failure_event(second, None, None, None)
    assert len(flushed(client, exporter)) == 2
    client.shutdown()


async def test_an_event_that_carries_nothing_records_nothing() -> None:
    """No logging payload, empty kwargs, no response: no empty generation (issue #24)."""
    client, exporter = capturing_client()
    handler = SigilLiteLLMLogger(client=client)
    for kwargs in ({}, {"standard_logging_object": None}, {"call_type": "acompletion", "standard_logging_object": {}}):
        await handler.async_log_success_event(kwargs, None, None, None)
        await handler.async_log_failure_event(kwargs, None, None, None)
        handler.log_success_event(kwargs, {}, None, None)
    assert flushed(client, exporter) == []
    assert handler.problems.counts == {}
