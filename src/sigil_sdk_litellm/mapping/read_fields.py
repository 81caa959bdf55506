"""The keys of a LiteLLM callback event the mapping reads, declared once.

The recorder hand-off (``proxy.offload.slim_event``) copies exactly these, so that an event mapped in a
recorder process gives the generation it gives in the worker. A key the mapping starts to read must be
added here, or the hand-off drops it: ``tests/unit/proxy/offload/test_slim_event.py`` records every key
the mapping reads of real events and fails on one the slim event lacks.
"""

from __future__ import annotations

from sigil_sdk_litellm.mapping.event import MCP_CALL_KEY, MODEL_TOOL_CALL_ID_KEY
from sigil_sdk_litellm.mapping.identity import ATTEMPT_METADATA_KEY
from sigil_sdk_litellm.mapping.metadata import GUARD_DECISIONS_KEY

# request metadata (the caller's, and the proxy's copy of it) — the agent name keys are added at run time
REQUEST_METADATA_KEYS = (
    "conversation_id",
    "session_id",
    "thread_id",
    "trace_id",
    "agent_name",
    "agent_version",
    GUARD_DECISIONS_KEY,
    ATTEMPT_METADATA_KEY,  # the router's try number: the id of a failed try (mapping.identity)
    MODEL_TOOL_CALL_ID_KEY,  # the model's id of a tool LiteLLM ran for it (mapping.tool_execution)
)
# the proxy's logging metadata (standard_logging_object.metadata)
PROXY_METADATA_KEYS = (
    "user_api_key_team_id",
    "user_api_key_team_alias",
    "team_id",
    "team_alias",
    "user_api_key_alias",
    "user_api_key_org_id",
    "user_api_key_user_id",
    "user_api_key_end_user_id",
    "user_agent",
    MCP_CALL_KEY,  # an MCP tool call's tool, server, arguments and session (mapping.tool_execution)
)
# an MCP tool call's record (standard_logging_object.metadata.mcp_tool_call_metadata)
MCP_CALL_KEYS = ("name", "namespaced_tool_name", "arguments", "mcp_server_name", "mcp_session_id")
# standard_logging_object
SLO_KEYS = (
    "id",
    "litellm_call_id",
    "trace_id",
    "session_id",
    "call_type",
    "stream",
    "custom_llm_provider",
    "model",
    "model_group",
    "model_id",
    "startTime",
    "endTime",
    "completionStartTime",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "response_cost",
    "cache_hit",
    "request_tags",
    "end_user",
    "user_agent",
    "messages",
    "response",
    "model_parameters",
    "error_str",
)
# the callback's kwargs
KWARGS_KEYS = (
    "model",
    "custom_llm_provider",
    "call_type",
    "stream",
    "user",
    "litellm_call_id",
    "litellm_trace_id",
    "start_time",
    "end_time",
)
# standard_logging_object.error_information
ERROR_INFORMATION_KEYS = ("error_code", "error_class", "llm_provider", "error_message")
# request parameters that are prompt text (Responses ``instructions``, Anthropic ``system``)
CONTENT_PARAMETERS = ("instructions", "system")
# optional_params, when LiteLLM logged no model_parameters
MODEL_PARAMETER_KEYS = (
    "temperature",
    "max_tokens",
    "max_completion_tokens",
    "top_p",
    "tools",
    "tool_choice",
    "thinking",
    "reasoning_effort",
    "dimensions",
    "encoding_format",
    # the Responses API's own names (mapping/responses.py reads them as it reads the chat ones)
    "instructions",
    "max_output_tokens",
    "reasoning",
)
