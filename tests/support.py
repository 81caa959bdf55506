"""Test doubles shared by the test tiers: a capturing exporter and LiteLLM payload builders."""

from __future__ import annotations

import copy
import threading
import time
from collections import Counter
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry
from sigil_sdk import Client, ClientConfig, GenerationExportConfig
from sigil_sdk.models import (
    ExportGenerationResult,
    ExportGenerationsRequest,
    ExportGenerationsResponse,
    ExportWorkflowStepResult,
    ExportWorkflowStepsRequest,
    ExportWorkflowStepsResponse,
    Generation,
)
from sigil_sdk.proto_mapping import generation_to_proto


class CapturingExporter:
    """A real exporter for ``ClientConfig(generation_exporter=...)`` that keeps what it was sent.

    It converts every generation to the wire proto, as the SDK's own exporters do, so a payload the
    SDK could not serialise fails here too.
    """

    def __init__(self) -> None:
        self.generations: list[Generation] = []
        self.protos: list[Any] = []
        self._lock = threading.Lock()

    def export_generations(self, request: ExportGenerationsRequest) -> ExportGenerationsResponse:
        protos = [generation_to_proto(g) for g in request.generations]
        with self._lock:
            self.generations.extend(request.generations)
            self.protos.extend(protos)
        return ExportGenerationsResponse(
            results=[ExportGenerationResult(generation_id=g.id, accepted=True) for g in request.generations]
        )

    def export_workflow_steps(self, request: ExportWorkflowStepsRequest) -> ExportWorkflowStepsResponse:
        return ExportWorkflowStepsResponse(
            results=[ExportWorkflowStepResult(step_id=s.id, accepted=True) for s in request.workflow_steps]
        )

    def shutdown(self) -> None:
        pass


def capturing_client(**export: Any) -> tuple[Client, CapturingExporter]:
    """A real sigil_sdk.Client whose exports land in a CapturingExporter (no background timer flush)."""
    exporter = CapturingExporter()
    settings: dict[str, Any] = {"batch_size": 1000, "queue_size": 100_000}
    settings.update(export)
    config = ClientConfig(
        generation_export=GenerationExportConfig(protocol="none", endpoint="localhost:1", **settings),
        generation_exporter=exporter,
    )
    return Client(config), exporter


def span_capturing_client() -> tuple[Client, CapturingExporter, InMemorySpanExporter]:
    """:func:`capturing_client` whose SDK spans (embeddings are only spans) land in memory too."""
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    exporter = CapturingExporter()
    config = ClientConfig(
        generation_export=GenerationExportConfig(protocol="none", endpoint="localhost:1", batch_size=1000),
        generation_exporter=exporter,
        tracer=provider.get_tracer("test"),
    )
    return Client(config), exporter, spans


def flushed(client: Client, exporter: CapturingExporter) -> list[Generation]:
    client.flush()
    return list(exporter.generations)


def wait_until(predicate: Any, timeout: float = 5.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


# ---------------------------------------------------------------------------------------------
# LiteLLM payload builders (the shape LiteLLM 1.108 hands to callbacks), each taking **overrides


def chat_response(**overrides: Any) -> dict[str, Any]:
    response: dict[str, Any] = {
        "id": "chatcmpl-123",
        "model": "gpt-4o-mini-2024-07-18",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "Hello there!", "tool_calls": None},
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
    }
    response.update(overrides)
    return response


def standard_logging_object(**overrides: Any) -> dict[str, Any]:
    slo: dict[str, Any] = {
        "id": "chatcmpl-123",
        "litellm_call_id": "call-1",
        "trace_id": "trace-1",
        "session_id": "",
        "call_type": "acompletion",
        "stream": False,
        "status": "success",
        "custom_llm_provider": "openai",
        "model": "gpt-4o-mini",
        "model_group": "",
        "model_id": "",
        "startTime": 1_700_000_000.0,
        "endTime": 1_700_000_001.5,
        "completionStartTime": 1_700_000_001.5,
        "prompt_tokens": 12,
        "completion_tokens": 5,
        "total_tokens": 17,
        "response_cost": 0.00042,
        "cache_hit": None,
        "request_tags": [],
        "end_user": None,
        "user_agent": None,
        "metadata": {"requester_metadata": None},
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hello"},
        ],
        "response": chat_response(),
        "model_parameters": {"temperature": 0.2, "max_tokens": 64},
        "hidden_params": {"model_id": None},
        "error_str": None,
        "error_information": None,
    }
    slo.update(overrides)
    return slo


def callback_kwargs(slo: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "call_type": "acompletion",
        "stream": False,
        "litellm_call_id": "call-1",
        "litellm_params": {"metadata": {}, "custom_llm_provider": "openai"},
        "optional_params": {},
        "standard_logging_object": slo if slo is not None else standard_logging_object(),
    }
    kwargs.update(overrides)
    return kwargs


def failure_slo(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "status": "failure",
        "response": {},
        "model_parameters": {},
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "total_tokens": 0,
        "error_str": "litellm.RateLimitError: slow down",
        "error_information": {
            "error_code": "429",
            "error_class": "RateLimitError",
            "llm_provider": "openai",
            "error_message": "litellm.RateLimitError: slow down",
        },
    }
    values.update(overrides)
    return standard_logging_object(**values)


def deep(value: Any) -> Any:
    return copy.deepcopy(value)


def hook_counts(registry: CollectorRegistry, tenant: str = "default") -> Counter[tuple[str, str]]:
    """The hook metrics in ``registry``: (phase, outcome) → evaluations counted, (phase, "observed") →
    latency observations (none of the zeros). Every hook sample must be ``tenant``'s."""
    out: Counter[tuple[str, str]] = Counter()
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == "sigil_litellm_hook_evaluations_total":
                out[(sample.labels["phase"], sample.labels["outcome"])] += int(sample.value)
            elif sample.name == "sigil_litellm_hook_evaluation_duration_seconds_count":
                out[(sample.labels["phase"], "observed")] += int(sample.value)
            else:
                continue
            assert sample.labels["tenant"] == tenant, sample
    return +out


def mcp_tool_call_kwargs(*, failed: bool = False, model_tool_call_id: str = "", **metadata: Any) -> dict[str, Any]:
    """A ``call_mcp_tool`` event as LiteLLM 1.108.5's MCP gateway logs it (captured from the real proxy
    calling the dev stack's ``echo`` tool over ``/mcp``, trimmed); ``metadata`` adds to the proxy's.
    ``model_tool_call_id``: the tool was run for a model (the Responses API's server-side MCP tools), whose
    call id LiteLLM puts in the request metadata."""
    call = {
        "name": "echo",
        "arguments": {"text": "hi there"},
        "mcp_server_name": "devstack",
        "mcp_server_logo_url": None,
        "namespaced_tool_name": "devstack/echo",
        "mcp_session_id": "2813f02949d9487e8d8068bbf3891b6d",
        "mcp_auth_mode": None,
        "mcp_server_resource": "http://127.0.0.1:59711",
        "mcp_server_cost_info": None,
    }
    requester = {"agent_id": "agent-x", "headers": {"x-litellm-agent-id": "agent-x"}}
    proxy_metadata = {
        "user_api_key_hash": "0123abcd",
        "user_api_key_user_id": "user-7",
        "user_api_key_team_id": "team-ml",
        "user_api_key_team_alias": "ml",
        "user_api_key_request_route": "/mcp/",
        "user_agent": "python-httpx2/2.17.0",
        "requester_metadata": requester,
        "mcp_tool_call_metadata": call,
        **metadata,
    }
    response = {
        "meta": None,
        "content": [{"type": "text", "text": "echo: hi there", "annotations": None, "meta": None}],
        "structured_content": {"result": "echo: hi there"},
        "is_error": False,
        "result_type": "complete",
    }
    slo = standard_logging_object(
        id="b545aa44",
        litellm_call_id="b545aa44",
        trace_id="46936f91",
        call_type="call_mcp_tool",
        stream=None,
        custom_llm_provider=None,
        model="MCP: devstack-echo",
        startTime=1_796_613_719.08789,
        endTime=1_796_613_719.213857,
        completionStartTime=1_796_613_719.213857,
        prompt_tokens=0,
        completion_tokens=0,
        total_tokens=0,
        response_cost=0.0,
        request_tags=["User-Agent: python-httpx2"],
        user_agent="python-httpx2/2.17.0",
        metadata=proxy_metadata,
        messages=[{"role": "user", "content": "default-message-value"}],
        response=response,
        model_parameters={},
    )
    kwargs = callback_kwargs(
        slo,
        model="MCP: devstack-echo",
        call_type="call_mcp_tool",
        litellm_call_id="b545aa44",
        litellm_params={"metadata": dict(requester), "litellm_call_id": "b545aa44"},
    )
    if model_tool_call_id:
        kwargs["litellm_params"]["metadata"].update(tool_call_id=model_tool_call_id, tool_name="echo")
    if failed:
        slo.update(status="failure", response={}, error_str="Error executing tool echo")
        kwargs["exception"] = RuntimeError("Error executing tool echo")
    return kwargs
