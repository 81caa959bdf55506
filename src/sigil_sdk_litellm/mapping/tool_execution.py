"""One MCP tool call LiteLLM logged (``call_mcp_tool``) → the seed and end of one Sigil tool execution.

LiteLLM's MCP gateway keeps the call in ``standard_logging_object.metadata.mcp_tool_call_metadata``
(tool and server name, arguments, session) and the tool's ``CallToolResult`` as the response. The
conversation, agent, user and team are read as for generations; what a tool-execution seed has no
field for (the user, the team, the server) becomes span attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sigil_sdk import ToolExecutionEnd, ToolExecutionStart

from sigil_sdk_litellm.mapping.coerce import as_bool, as_dict, as_str, json_value
from sigil_sdk_litellm.mapping.event import (
    MCP_CALL_KEY,
    MCP_MODEL_PREFIX,
    MODEL_TOOL_CALL_ID_KEY,
    MappingOptions,
    error_text,
    event_times,
    first_metadata_value,
    request_metadata_sources,
    response_dict,
)
from sigil_sdk_litellm.mapping.identity import (
    generation_id_of,
    resolve_agent,
    resolve_conversation_id,
    resolve_user_id,
)
from sigil_sdk_litellm.mapping.metadata import build_metadata, build_tags
from sigil_sdk_litellm.mapping.trace_context import request_traceparent

# OpenTelemetry's gen_ai.tool.type for a tool the gateway calls on the agent's behalf over an API
TOOL_TYPE = "extension"
ATTR_USER_ID = "user.id"  # sigil-sdk's own name on generation spans
ATTR_SERVER_NAME = "litellm.mcp.server.name"  # LiteLLM's OpenTelemetry integration's name
ATTR_SESSION_ID = "mcp.session.id"  # OpenTelemetry's MCP semantic conventions
ATTR_METHOD = "mcp.method.name"
TOOL_ERROR = "the tool returned an error"
_RESULT_KEYS = ("content", "structured_content", "structuredContent", "is_error", "isError")


@dataclass(slots=True)
class ToolExecutionRecord:
    """What the recorder hands to ``Client.start_tool_execution`` for one event."""

    start: ToolExecutionStart
    end: ToolExecutionEnd
    attributes: dict[str, str | int | float | bool] = field(default_factory=dict)
    call_error: str = ""  # the failure's text; '' when the tool succeeded
    traceparent: str = ""  # the request's span, the parent of the tool's (mapping.trace_context)


def _tool_result(response: Mapping[str, Any]) -> dict[str, Any]:
    """The tool's answer (content, structured content, error flag), without the protocol's envelope."""
    return {key: json_value(response[key]) for key in _RESULT_KEYS if response.get(key) is not None}


def _span_attributes(
    kwargs: Mapping[str, Any], slo: Mapping[str, Any], call: Mapping[str, Any], options: MappingOptions, user: str
) -> dict[str, str | int | float | bool]:
    """The generation's LiteLLM metadata (call id, team, key alias, …) as span attributes, and the MCP call's."""
    _, user_agent = build_tags(slo, options)
    attributes: dict[str, str | int | float | bool] = {
        key: value
        for key, value in build_metadata(kwargs, slo, options, user_agent).items()
        if isinstance(value, str | int | float | bool) and value != ""
    }
    attributes[ATTR_METHOD] = "tools/call"
    for key, value in ((ATTR_USER_ID, user), (ATTR_SERVER_NAME, as_str(call.get("mcp_server_name")).strip())):
        if value:
            attributes[key] = value
    if session := as_str(call.get("mcp_session_id")).strip():
        attributes[ATTR_SESSION_ID] = session
    return attributes


def tool_name_of(slo: Mapping[str, Any], call: Mapping[str, Any]) -> str:
    """The tool's own name, else LiteLLM's namespaced one, else the logged model's ``MCP: <name>``."""
    for value in (call.get("name"), call.get("namespaced_tool_name")):
        if name := as_str(value).strip():
            return name
    return as_str(slo.get("model")).removeprefix(MCP_MODEL_PREFIX).strip()


def map_tool_execution(
    kwargs: Mapping[str, Any],
    response_obj: Any,
    options: MappingOptions,
    *,
    failed: bool = False,
    redacted: bool = False,
) -> ToolExecutionRecord:
    """One LiteLLM ``call_mcp_tool`` event → one tool execution. Arguments and result only as the capture
    options (and LiteLLM's own message redaction, ``redacted``) allow."""
    slo = as_dict(kwargs.get("standard_logging_object"))
    call = as_dict(as_dict(slo.get("metadata")).get(MCP_CALL_KEY))
    sources = request_metadata_sources(kwargs, slo)
    started_at, completed_at = event_times(kwargs, slo)
    response = {} if failed else response_dict(slo, response_obj)
    capture_inputs = options.capture_inputs and not redacted
    capture_outputs = options.capture_outputs and not redacted
    agent_name, agent_version = resolve_agent(sources, options)
    user = resolve_user_id(kwargs, slo)

    start = ToolExecutionStart(
        tool_name=tool_name_of(slo, call),
        # the model's id when LiteLLM ran the tool for a model (it links the generation's tool call), else the call's
        tool_call_id=first_metadata_value(sources, MODEL_TOOL_CALL_ID_KEY) or generation_id_of(kwargs, slo),
        tool_type=TOOL_TYPE,
        conversation_id=resolve_conversation_id(kwargs, slo, sources, options.conversation_id),
        agent_name=agent_name,
        agent_version=agent_version,
        include_content=capture_inputs or capture_outputs,
        started_at=started_at,
    )
    arguments = call.get("arguments")
    result = _tool_result(response)
    end = ToolExecutionEnd(
        arguments=json_value(arguments) if capture_inputs and arguments is not None else None,
        result=result if capture_outputs and result else None,
        completed_at=completed_at,
    )
    call_error = error_text(kwargs, slo) if failed else (TOOL_ERROR if as_bool(response.get("is_error")) else "")
    return ToolExecutionRecord(
        start=start,
        end=end,
        attributes=_span_attributes(kwargs, slo, call, options, user),
        call_error=call_error,
        traceparent=request_traceparent(kwargs),
    )
