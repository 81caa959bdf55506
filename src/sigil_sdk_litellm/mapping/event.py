"""The one view of a LiteLLM callback event the mappers share: its call type, where its data is.

The primary source is LiteLLM's ``standard_logging_object``: it is already plain JSON-like data, it is
built once per request by LiteLLM for every logger, and LiteLLM applies its own message redaction to
it. ``kwargs`` fills the gaps (model parameters, the raw exception, request metadata).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sigil_sdk_litellm.mapping.coerce import as_datetime, as_dict, as_str

# The API family of every LiteLLM call type recorded, the one table of them: what is recorded (a generation
# or an embedding, an MCP tool call a tool execution), which route module maps it (mapping.generation.ROUTES),
# what the recorder hand-off copies for it (proxy.offload.slim_event.ROUTE_EXTRAS), which requests the hooks
# judge (proxy.guard.evaluation.JUDGED_CALL_TYPES: all but embeddings).
# A call type not listed (images, audio, files, batches, rerank, passthrough, …) is not recorded.
ApiFamily = Literal["chat", "text_completion", "responses", "anthropic_messages", "embedding", "mcp"]
RecordKind = Literal["generation", "embedding", "tool_execution"]
CALL_TYPES: Mapping[str, ApiFamily] = {
    "completion": "chat",
    "acompletion": "chat",
    "text_completion": "text_completion",
    "atext_completion": "text_completion",
    "responses": "responses",
    "aresponses": "responses",
    "anthropic_messages": "anthropic_messages",
    "aanthropic_messages": "anthropic_messages",
    "embedding": "embedding",
    "aembedding": "embedding",
    # a tool called through LiteLLM's MCP gateway (`/mcp`, or `/mcp`-backed tool use): a tool execution
    "call_mcp_tool": "mcp",
}
# what each family is recorded as (the others: a generation)
_RECORD_KINDS: Mapping[ApiFamily, RecordKind] = {"embedding": "embedding", "mcp": "tool_execution"}

MCP_CALL_KEY = "mcp_tool_call_metadata"  # an MCP tool call's own record, in standard_logging_object.metadata
# the model's id of a tool call LiteLLM ran for it (the Responses API's server-side MCP tools), in the request metadata
MODEL_TOOL_CALL_ID_KEY = "tool_call_id"
# LiteLLM logs the model of an MCP tool call as "MCP: <server>-<tool>", of a tool listing "MCP: list_tools"
MCP_MODEL_PREFIX = "MCP: "
_MCP_LISTING_MODEL = "MCP: list_tools"
UNKNOWN = "unknown"  # a model, provider or tool without a name

# Request metadata keys naming the agent, first found wins. ``agent_id`` is where LiteLLM's proxy puts
# the ``x-litellm-agent-id`` header and a virtual key's agent (``litellm_params.metadata`` /
# ``litellm_metadata``).
DEFAULT_AGENT_NAME_METADATA_KEYS = ("agent_name", "agent_id")


@dataclass(frozen=True, slots=True)
class MappingOptions:
    """The handler's options, as the mapping needs them."""

    capture_inputs: bool = True
    capture_outputs: bool = True
    agent_name: str = ""
    agent_version: str = ""
    conversation_id: str = ""
    extra_tags: Mapping[str, str] = field(default_factory=dict)
    extra_metadata: Mapping[str, Any] = field(default_factory=dict)
    agent_name_metadata_keys: tuple[str, ...] = DEFAULT_AGENT_NAME_METADATA_KEYS


def classify_call(call_type: Any) -> RecordKind | None:
    """What one call type is recorded as; a payload without a call type (older LiteLLM) is a chat."""
    if not call_type:
        return "generation"
    family = CALL_TYPES.get(as_str(call_type))
    if family is None:
        return None
    return _RECORD_KINDS.get(family, "generation")


def carries_nothing(kwargs: Mapping[str, Any], response_obj: Any) -> bool:
    """An event with nothing to record: no logging payload, no request (model, messages, input) and no
    response — recording it would make an empty generation."""
    if as_dict(kwargs.get("standard_logging_object")) or as_dict(response_obj):
        return False
    return not any(kwargs.get(key) for key in ("model", "messages", "input", "exception"))


def api_family(call_type: str) -> ApiFamily | None:
    """The API family of a call type (:data:`CALL_TYPES`), None when it is not recorded."""
    return CALL_TYPES.get(call_type)


def call_type_of(kwargs: Mapping[str, Any]) -> str:
    """The event's call type. An MCP tool call or listing that LiteLLM's proxy refused itself (a 403, a
    guard's deny on the Responses API's server-side tools) is logged by its body's shape: its ``input``
    list makes it ``aembedding`` (1.108.5 ``proxy/utils.py`` ``_handle_logging_proxy_only_error``). Its
    model keeps the MCP label, which names the call type back."""
    slo = as_dict(kwargs.get("standard_logging_object"))
    call_type = as_str(slo.get("call_type")) or as_str(kwargs.get("call_type"))
    if CALL_TYPES.get(call_type) == "embedding":
        model = as_str(slo.get("model")) or as_str(kwargs.get("model"))
        if model.startswith(MCP_MODEL_PREFIX):
            return "list_mcp_tools" if model == _MCP_LISTING_MODEL else "call_mcp_tool"
    return call_type


def request_metadata_sources(kwargs: Mapping[str, Any], slo: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Where per-request metadata can be: the caller's ``metadata`` (SDK), the proxy's copy of it."""
    litellm_params = as_dict(kwargs.get("litellm_params"))
    slo_metadata = as_dict(slo.get("metadata"))
    return [
        as_dict(litellm_params.get("metadata")),
        as_dict(litellm_params.get("litellm_metadata")),
        as_dict(slo_metadata.get("requester_metadata")),
        as_dict(as_dict(litellm_params.get("metadata")).get("requester_metadata")),
    ]


def first_metadata_value(sources: list[dict[str, Any]], *keys: str) -> str:
    """The first non-blank value of ``keys`` (in their order) in any of the request metadata ``sources``."""
    for key in keys:
        for source in sources:
            value = as_str(source.get(key)).strip()
            if value:
                return value
    return ""


def event_times(kwargs: Mapping[str, Any], slo: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    """The callback's ``start_time`` / ``end_time`` (LiteLLM passes the same values in ``kwargs``),
    else the logging payload's epoch times."""
    started = as_datetime(kwargs.get("start_time")) or as_datetime(slo.get("startTime"))
    completed = as_datetime(kwargs.get("end_time")) or as_datetime(slo.get("endTime"))
    if started is not None and completed is not None and completed < started:
        completed = started
    return started, completed


def response_dict(slo: Mapping[str, Any], response_obj: Any) -> dict[str, Any]:
    """The response as LiteLLM logged it, else the callback's response object."""
    response = slo.get("response")
    if isinstance(response, dict) and response:
        return response
    from_object = as_dict(response_obj)
    if not from_object and isinstance(response, str) and response:
        # a plain-string response (some providers, older LiteLLM) is the output text
        return {"choices": [{"message": {"role": "assistant", "content": response}}]}
    return from_object


def model_parameters(kwargs: Mapping[str, Any], slo: Mapping[str, Any]) -> dict[str, Any]:
    """The request's model parameters as LiteLLM logged them, else its ``optional_params``."""
    params = as_dict(slo.get("model_parameters"))
    return params or as_dict(kwargs.get("optional_params"))


def error_text(kwargs: Mapping[str, Any], slo: Mapping[str, Any]) -> str:
    """What a failed call said: LiteLLM's error message, else the exception, never empty."""
    error_info = as_dict(slo.get("error_information"))
    text = as_str(error_info.get("error_message")) or as_str(slo.get("error_str"))
    if not text:
        exception = kwargs.get("exception")
        if exception is not None:
            try:
                text = str(exception) or type(exception).__name__
            except Exception:  # noqa: BLE001 - a broken __str__ must not hide the failure itself
                text = type(exception).__name__
    return text or "LiteLLM call failed"
