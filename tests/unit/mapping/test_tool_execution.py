"""An MCP tool call LiteLLM logged (``call_mcp_tool``) → one Sigil tool execution (mapping.tool_execution),
mapped from plain dicts; and recorded through a real ``sigil_sdk.Client`` as an ``execute_tool`` span."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from sigil_sdk import Client, ClientConfig, ContentCaptureMode, GenerationExportConfig

from sigil_sdk_litellm import SigilLiteLLMLogger
from sigil_sdk_litellm.mapping import classify_call, map_tool_execution
from sigil_sdk_litellm.mapping.event import MappingOptions
from sigil_sdk_litellm.mapping.tool_execution import TOOL_ERROR
from tests.support import mcp_tool_call_kwargs

OPTIONS = MappingOptions(agent_name="default-agent", conversation_id="default-conv")


def test_an_mcp_tool_call_is_recorded_as_a_tool_execution() -> None:
    assert classify_call("call_mcp_tool") == "tool_execution"
    assert classify_call("list_mcp_tools") is None  # listing executes no tool


def test_tool_server_arguments_result_and_identity() -> None:
    record = map_tool_execution(mcp_tool_call_kwargs(), None, OPTIONS)
    start, end = record.start, record.end
    assert (start.tool_name, start.tool_call_id, start.tool_type) == ("echo", "b545aa44", "extension")
    assert start.agent_name == "agent-x"  # the request's x-litellm-agent-id, before the handler's default
    assert start.conversation_id == "default-conv"
    assert start.include_content is True
    assert start.started_at == datetime.fromtimestamp(1_796_613_719.08789, tz=UTC)
    assert end.completed_at == datetime.fromtimestamp(1_796_613_719.213857, tz=UTC)
    assert end.arguments == {"text": "hi there"}
    assert end.result == {
        "content": [{"type": "text", "text": "echo: hi there", "annotations": None, "meta": None}],
        "structured_content": {"result": "echo: hi there"},
        "is_error": False,
    }
    assert record.call_error == ""
    attributes = record.attributes
    assert attributes["user.id"] == "user-7"
    assert attributes["litellm.team_id"] == "team-ml" and attributes["litellm.team_alias"] == "ml"
    assert attributes["litellm.mcp.server.name"] == "devstack"
    assert attributes["mcp.session.id"] == "2813f02949d9487e8d8068bbf3891b6d"
    assert attributes["mcp.method.name"] == "tools/call"
    assert attributes["litellm.call_type"] == "call_mcp_tool"


def test_a_tool_run_for_a_model_has_the_models_tool_call_id() -> None:
    """The Responses API's server-side MCP tools: the model's call id links the generation's tool call
    to the tool execution; LiteLLM's call id (the request's) stays in litellm.call_id."""
    record = map_tool_execution(mcp_tool_call_kwargs(model_tool_call_id="call_7b779416a1964e97"), None, OPTIONS)
    assert record.start.tool_call_id == "call_7b779416a1964e97"
    assert record.attributes["litellm.call_id"] == "b545aa44"


def test_conversation_from_the_request_metadata() -> None:
    kwargs = mcp_tool_call_kwargs()
    kwargs["litellm_params"]["metadata"]["conversation_id"] = "conv-42"
    assert map_tool_execution(kwargs, None, OPTIONS).start.conversation_id == "conv-42"


@pytest.mark.parametrize(
    ("options", "redacted", "arguments", "result"),
    [
        (MappingOptions(capture_inputs=False), False, False, True),
        (MappingOptions(capture_outputs=False), False, True, False),
        (MappingOptions(capture_inputs=False, capture_outputs=False), False, False, False),
        (MappingOptions(), True, False, False),  # LiteLLM's own message redaction
    ],
)
def test_arguments_and_result_only_as_captured(
    options: MappingOptions, redacted: bool, arguments: bool, result: bool
) -> None:
    record = map_tool_execution(mcp_tool_call_kwargs(), None, options, redacted=redacted)
    assert (record.end.arguments is not None, record.end.result is not None) == (arguments, result)
    assert record.start.include_content == (arguments or result)


def test_a_failed_call_carries_its_error_and_no_result() -> None:
    record = map_tool_execution(mcp_tool_call_kwargs(failed=True), None, OPTIONS, failed=True)
    assert record.call_error == "Error executing tool echo"
    assert record.end.result is None and record.end.arguments == {"text": "hi there"}


def test_a_result_flagged_as_an_error_is_a_failed_execution() -> None:
    kwargs = mcp_tool_call_kwargs()
    kwargs["standard_logging_object"]["response"]["is_error"] = True
    assert map_tool_execution(kwargs, None, OPTIONS).call_error == TOOL_ERROR


def test_the_tool_name_without_the_gateways_record_comes_from_the_logged_model() -> None:
    kwargs = mcp_tool_call_kwargs(mcp_tool_call_metadata=None)
    assert map_tool_execution(kwargs, None, OPTIONS).start.tool_name == "devstack-echo"


# --- recorded through a real sigil_sdk.Client ---


def tracing_client(mode: ContentCaptureMode = ContentCaptureMode.DEFAULT) -> tuple[Client, InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    config = ClientConfig(
        generation_export=GenerationExportConfig(protocol="none", endpoint="localhost:1"),
        tracer=provider.get_tracer("test"),
        content_capture=mode,
    )
    return Client(config), spans


def recorded(kwargs: dict[str, Any], *, failed: bool = False, **options: Any) -> Any:
    mode = options.pop("mode", ContentCaptureMode.DEFAULT)
    client, spans = tracing_client(mode)
    handler = SigilLiteLLMLogger(client=client, **options)
    handler.handle_event(kwargs, None, failed=failed)
    [span] = spans.get_finished_spans()
    assert handler.problems.counts == {}
    client.shutdown()
    return span


def test_the_handler_records_an_execute_tool_span() -> None:
    span = recorded(mcp_tool_call_kwargs())
    attributes = dict(span.attributes)
    assert span.name == "execute_tool echo"
    assert attributes["gen_ai.operation.name"] == "execute_tool"
    assert attributes["gen_ai.tool.name"] == "echo"
    assert attributes["gen_ai.agent.name"] == "agent-x"
    assert attributes["user.id"] == "user-7" and attributes["litellm.team_id"] == "team-ml"
    assert json.loads(attributes["gen_ai.tool.call.arguments"]) == {"text": "hi there"}
    assert "echo: hi there" in attributes["gen_ai.tool.call.result"]
    assert span.status.status_code is StatusCode.OK
    assert (span.end_time - span.start_time) == pytest.approx(125_967_000, abs=2_000)


def test_a_failed_tool_call_is_an_error_span() -> None:
    span = recorded(mcp_tool_call_kwargs(failed=True), failed=True)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "tool_execution_error"
    assert "Error executing tool echo" in (span.status.description or "")


@pytest.mark.parametrize(
    "options",
    [
        {"capture_inputs": False, "capture_outputs": False},
        {"capture_inputs": False, "capture_outputs": False, "mode": ContentCaptureMode.FULL},
        {"mode": ContentCaptureMode.METADATA_ONLY},
        {"mode": ContentCaptureMode.FULL_WITH_METADATA_SPANS},
    ],
    ids=["capture off", "capture off, mode full", "metadata_only", "full_with_metadata_spans"],
)
def test_no_argument_or_result_text_in_the_span_unless_captured(options: dict[str, Any]) -> None:
    span = recorded(mcp_tool_call_kwargs(), **options)
    assert span.attributes["gen_ai.tool.name"] == "echo"
    text = json.dumps(dict(span.attributes))
    assert "hi there" not in text
    assert "gen_ai.tool.call.arguments" not in text and "gen_ai.tool.call.result" not in text


def refused_by_the_proxy(model: str) -> dict[str, Any]:
    """An MCP request LiteLLM 1.108.5's proxy refused itself, as it logs it: by its body's shape (an
    ``input`` list) the call type is ``aembedding`` (captured from the real proxy: a key without access
    to the server asking the Responses API for ``litellm_proxy`` MCP tools; trimmed)."""
    kwargs = mcp_tool_call_kwargs(failed=True, mcp_tool_call_metadata=None, user_api_key_request_route="/v1/responses")
    slo = kwargs["standard_logging_object"]
    slo.update(call_type="aembedding", model=model)
    slo["error_str"] = "403: {'error': 'The key is not allowed to access the requested MCP servers: devstack'}"
    kwargs.update(call_type="aembedding", model=model, input=[{"role": "system", "content": {"mcp_operation": "x"}}])
    return kwargs


def test_an_mcp_listing_the_proxy_refused_is_not_an_embedding() -> None:
    client, spans = tracing_client(ContentCaptureMode.DEFAULT)
    handler = SigilLiteLLMLogger(client=client)
    handler.handle_event(refused_by_the_proxy("MCP: list_tools"), None, failed=True)
    client.shutdown()
    assert spans.get_finished_spans() == ()
    assert handler.problems.counts == {}


def test_an_mcp_tool_call_the_proxy_refused_is_a_failed_tool_execution() -> None:
    span = recorded(refused_by_the_proxy("MCP: devstack-echo"), failed=True)
    assert span.name == "execute_tool devstack-echo"  # LiteLLM's name: its own record is not in the event
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["litellm.team_id"] == "team-ml"
