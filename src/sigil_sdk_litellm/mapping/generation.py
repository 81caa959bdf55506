"""One LiteLLM completion event → the seed and result of one Sigil generation.

Chat and text completions are mapped here (their messages by :mod:`.chat`); the call types with an
API of their own return their content from their route module (:data:`ROUTES`), and the generation
is built around it the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sigil_sdk import Generation, GenerationMode, GenerationStart, Message, ModelRef, ToolDefinition

from sigil_sdk_litellm.mapping import anthropic_messages, responses
from sigil_sdk_litellm.mapping.chat import map_input_messages, map_output
from sigil_sdk_litellm.mapping.cheap_copies import SharedGeneration, SharedGenerationStart
from sigil_sdk_litellm.mapping.coerce import as_bool, as_datetime, as_dict, as_opt_float, as_opt_int, as_str
from sigil_sdk_litellm.mapping.event import (
    ApiFamily,
    MappingOptions,
    api_family,
    call_type_of,
    error_text,
    event_times,
    model_parameters,
    request_metadata_sources,
    response_dict,
)
from sigil_sdk_litellm.mapping.identity import (
    generation_id_of,
    resolve_agent,
    resolve_conversation_id,
    resolve_model,
    resolve_user_id,
)
from sigil_sdk_litellm.mapping.metadata import build_metadata, build_tags
from sigil_sdk_litellm.mapping.parameters import map_thinking_enabled, map_tool_choice, map_tools
from sigil_sdk_litellm.mapping.route_content import RouteContent
from sigil_sdk_litellm.mapping.trace_context import request_traceparent
from sigil_sdk_litellm.mapping.usage import map_usage, response_object_usage

RouteMapper = Callable[[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any], Mapping[str, Any], bool], RouteContent]

# the route module of each API family with content of its own (event.CALL_TYPES); the others map as chat
ROUTES: Mapping[ApiFamily, RouteMapper] = {
    "responses": responses.map_content,
    "anthropic_messages": anthropic_messages.map_content,
}


@dataclass(slots=True)
class GenerationRecord:
    """What the handler hands to ``Client.start_generation`` / the recorder for one event."""

    start: GenerationStart
    generation: Generation
    first_token_at: datetime | None = None
    call_error: str = ""
    traceparent: str = ""  # the request's span, the parent of the generation's (mapping.trace_context)


def map_generation(
    kwargs: Mapping[str, Any],
    response_obj: Any,
    options: MappingOptions,
    *,
    failed: bool = False,
    redacted: bool = False,
) -> GenerationRecord:
    """One LiteLLM completion event → the seed and result of one Sigil generation.

    ``redacted`` is LiteLLM's own message-logging switch: when on, no content is taken whatever
    the handler's capture options say.
    """
    slo = as_dict(kwargs.get("standard_logging_object"))
    response = {} if failed else response_dict(slo, response_obj)
    params = model_parameters(kwargs, slo)
    sources = request_metadata_sources(kwargs, slo)
    stream = bool(as_bool(slo.get("stream")) or as_bool(kwargs.get("stream")))
    mode = GenerationMode.STREAM if stream else GenerationMode.SYNC
    started_at, completed_at = event_times(kwargs, slo)
    capture_inputs = options.capture_inputs and not redacted
    capture_outputs = options.capture_outputs and not redacted

    call_type = call_type_of(kwargs)
    family = api_family(call_type)
    route = ROUTES.get(family) if family is not None else None
    tools: list[ToolDefinition] | None = None
    thinking_enabled: bool | None = None
    input_messages: list[Message]
    if route is not None:
        content = route(kwargs, slo, response, params, capture_inputs)
        system_prompt, input_messages = content.system_prompt, content.input
        output_messages, stop_reason, usage = content.output, content.stop_reason, content.usage
        max_tokens, tools, thinking_enabled = content.max_tokens, content.tools, content.thinking_enabled
    else:
        system_prompt = ""
        input_messages = []
        if capture_inputs:
            raw_messages = slo.get("messages")
            if raw_messages is None or raw_messages == []:
                raw_messages = kwargs.get("messages") or kwargs.get("input")
            system_prompt, input_messages = map_input_messages(raw_messages)
        output_messages, stop_reason = map_output(response)
        usage = map_usage(response, slo, None if failed else response_object_usage(kwargs, response_obj))
        max_tokens = params.get("max_tokens")
        if max_tokens is None:
            max_tokens = params.get("max_completion_tokens")
    if not capture_outputs:
        output_messages = []

    tags, user_agent = build_tags(slo, options)
    model = resolve_model(kwargs, slo)
    agent_name, agent_version = resolve_agent(sources, options)

    generation_id = generation_id_of(kwargs, slo, failed=failed)
    generation = SharedGeneration(
        id=generation_id,
        conversation_id=resolve_conversation_id(kwargs, slo, sources, options.conversation_id),
        user_id=resolve_user_id(kwargs, slo),
        agent_name=agent_name,
        agent_version=agent_version,
        mode=mode,
        model=model,
        response_id=as_str(response.get("id")),
        response_model=as_str(response.get("model")),
        system_prompt=system_prompt,
        max_tokens=as_opt_int(max_tokens),
        temperature=as_opt_float(params.get("temperature")),
        top_p=as_opt_float(params.get("top_p")),
        tool_choice=map_tool_choice(params.get("tool_choice")),
        thinking_enabled=map_thinking_enabled(params) if thinking_enabled is None else thinking_enabled,
        input=input_messages,
        output=output_messages,
        tools=map_tools(params.get("tools"), with_content=capture_inputs) if tools is None else tools,
        usage=usage,
        stop_reason=stop_reason,
        started_at=started_at,
        completed_at=completed_at,
        tags=tags,
        metadata=build_metadata(kwargs, slo, options, user_agent),
    )
    start = SharedGenerationStart(
        id=generation_id,
        model=ModelRef(provider=model.provider, name=model.name),
        conversation_id=generation.conversation_id,
        user_id=generation.user_id,
        agent_name=generation.agent_name,
        agent_version=generation.agent_version,
        mode=mode,
        started_at=started_at,
    )
    first_token_at = as_datetime(slo.get("completionStartTime")) if stream and not failed else None
    return GenerationRecord(
        start=start,
        generation=generation,
        first_token_at=first_token_at,
        call_error=error_text(kwargs, slo) if failed else "",
        traceparent=request_traceparent(kwargs),
    )
