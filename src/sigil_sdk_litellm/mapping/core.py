"""Pure mapping from LiteLLM callback payloads to Sigil SDK models.

Every function here takes plain data (LiteLLM's ``kwargs`` dict, its ``standard_logging_object``, the
response as a dict) and returns ``sigil_sdk`` models. Nothing here talks to the SDK client, so the
whole mapping is unit-tested with plain dicts.

The primary source is LiteLLM's ``standard_logging_object``: it is already plain JSON-like data, it is
built once per request by LiteLLM for every logger, and LiteLLM applies its own message redaction to
it. ``kwargs`` fills the gaps (model parameters, the raw exception, request metadata).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sigil_sdk import (
    EmbeddingResult,
    EmbeddingStart,
    Generation,
    GenerationMode,
    GenerationStart,
    Message,
    MessageRole,
    ModelRef,
    Part,
    PartKind,
    PartMetadata,
    TokenUsage,
    ToolCall,
    ToolDefinition,
    ToolResult,
)

from sigil_sdk_litellm.mapping.coerce import (
    as_bool,
    as_datetime,
    as_dict,
    as_int,
    as_list,
    as_opt_float,
    as_opt_int,
    as_str,
    json_bytes,
    json_value,
)

GENERATION_CALL_TYPES = frozenset({"completion", "acompletion", "text_completion", "atext_completion"})
# mapped by their own route module (sigil_sdk_litellm.mapping)
ROUTE_CALL_TYPES = frozenset({"responses", "aresponses", "anthropic_messages", "aanthropic_messages"})
EMBEDDING_CALL_TYPES = frozenset({"embedding", "aembedding"})

FRAMEWORK_TAGS: Mapping[str, str] = {
    "sigil.framework.name": "litellm",
    "sigil.framework.source": "handler",
    "sigil.framework.language": "python",
}
REQUEST_TAG_PREFIX = "litellm.tag."
UNKNOWN = "unknown"

# Metadata keys written by the mapping (documented in the README).
META_CALL_ID = "litellm.call_id"
META_TRACE_ID = "litellm.trace_id"
META_CALL_TYPE = "litellm.call_type"
META_MODEL_GROUP = "litellm.model_group"
META_MODEL_ID = "litellm.model_id"
META_RESPONSE_COST = "litellm.response_cost"
META_CACHE_HIT = "litellm.cache_hit"
META_TEAM_ID = "litellm.team_id"
META_TEAM_ALIAS = "litellm.team_alias"
META_KEY_ALIAS = "litellm.key_alias"
META_ORG_ID = "litellm.org_id"
META_KEY_USER_ID = "litellm.key_user_id"
META_END_USER = "litellm.end_user"
META_USER_AGENT = "litellm.user_agent"
META_ERROR_CLASS = "litellm.error_class"
META_ERROR_CODE = "litellm.error_code"
META_ERROR_PROVIDER = "litellm.error_provider"
TAG_MODEL_GROUP = "litellm.model_group"

# What the mapping reads from request metadata and from the proxy's logging metadata: the slim event
# (below) carries exactly these, so the two can never drift apart.
# The guardrail's decisions (rule id, action, phase), noted in the request's metadata by _guard.record_decision.
GUARD_DECISIONS_KEY = "sigil_guard_decisions"
META_GUARD_DECISIONS = "sigil.guard.decisions"
REQUEST_METADATA_KEYS = (
    "conversation_id",
    "session_id",
    "thread_id",
    "trace_id",
    "agent_name",
    "agent_version",
    GUARD_DECISIONS_KEY,
)
# Request metadata keys naming the agent, first found wins. ``agent_id`` is where LiteLLM's proxy puts
# the ``x-litellm-agent-id`` header and a virtual key's agent (``litellm_params.metadata`` /
# ``litellm_metadata``).
DEFAULT_AGENT_NAME_METADATA_KEYS = ("agent_name", "agent_id")
DEFAULT_USER_PLACEHOLDER = "default_user_id"  # LiteLLM's user of the master key: no one in particular
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
)
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
ERROR_INFORMATION_KEYS = ("error_code", "error_class", "llm_provider", "error_message")

_USER_AGENT_TAG_PREFIX = "user-agent:"
_IMAGE_TYPES = frozenset({"image_url", "input_image", "image"})
_AUDIO_TYPES = frozenset({"input_audio", "audio"})
_TEXT_TYPES = frozenset({"text", "input_text", "output_text"})


def _copy_model(model: ModelRef) -> ModelRef:
    return ModelRef(provider=model.provider, name=model.name)


def _copy_usage(usage: TokenUsage) -> TokenUsage:
    return TokenUsage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        cache_read_input_tokens=usage.cache_read_input_tokens,
        cache_write_input_tokens=usage.cache_write_input_tokens,
        reasoning_tokens=usage.reasoning_tokens,
    )


def _compile_copier(cls: type) -> Any:
    """Build ``copier(obj) -> clone`` for one SDK dataclass: containers (lists, dicts) and small
    value records (model, usage) are copied, everything else (scalars, shared content) is reused.

    Generated once per class, like ``dataclasses`` generates ``__init__``: a straight-line function
    is several times faster than looping over the 30-odd fields on every copy.
    """
    namespace: dict[str, Any] = {"new": object.__new__, "copy_model": _copy_model, "copy_usage": _copy_usage}
    lines = ["def copier(obj):", "    clone = new(type(obj))"]
    for f in dataclasses.fields(cls):
        factory = f.default_factory
        if factory is list:
            value = f"list(obj.{f.name})"
        elif factory is dict:
            value = f"dict(obj.{f.name})"
        elif factory is ModelRef or f.name == "model":
            value = f"copy_model(obj.{f.name})"
        elif factory is TokenUsage:
            value = f"copy_usage(obj.{f.name})"
        else:
            value = f"obj.{f.name}"
        lines.append(f"    clone.{f.name} = {value}")
    lines.append("    return clone")
    exec("\n".join(lines), namespace)
    return namespace["copier"]


class SharedMessage(Message):
    """A message built for exactly one event and never changed by this package afterwards.

    sigil-sdk deep-copies the whole generation several times while it records one event (defensive
    copies on start, ``set_result``, ``end``, normalisation, validation and enqueue): with the
    standard deep copy that is O(conversation size) each time, and it dominates the cost of a
    LiteLLM event. Nothing outside the SDK holds these objects, so Python's copy protocol lets them
    say how they are copied: a message is its own deep copy, and the generation and its seed copy
    their containers but share the messages. Nothing of the SDK is patched, and everything the SDK
    does to a copy (merging tags and metadata, filling the model, stripping content in
    metadata-only mode, sanitizers) still happens to objects that no one else sees.
    """

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, Any]) -> SharedMessage:
        return self

    def __copy__(self) -> SharedMessage:
        return self


class SharedGeneration(Generation):
    """A generation whose deep copy copies its containers and shares its content (see above)."""

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, Any]) -> SharedGeneration:
        clone: SharedGeneration = _copy_generation(self)
        return clone


class SharedGenerationStart(GenerationStart):
    """The recorder's seed, copied the same way as :class:`SharedGeneration`."""

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, Any]) -> SharedGenerationStart:
        clone: SharedGenerationStart = _copy_start(self)
        return clone


_copy_generation = _compile_copier(Generation)
_copy_start = _compile_copier(GenerationStart)


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


@dataclass(slots=True)
class GenerationRecord:
    """What the handler hands to ``Client.start_generation`` / the recorder for one event."""

    start: GenerationStart
    generation: Generation
    first_token_at: datetime | None = None
    call_error: str = ""


@dataclass(slots=True)
class EmbeddingRecord:
    start: EmbeddingStart
    result: EmbeddingResult
    call_error: str = ""


def classify_call(call_type: Any) -> Literal["generation", "embedding"] | None:
    """What one call type is recorded as; a payload without a call type (older LiteLLM) is a chat."""
    if not call_type:
        return "generation"
    name = as_str(call_type)
    if name in GENERATION_CALL_TYPES or name in ROUTE_CALL_TYPES:
        return "generation"
    if name in EMBEDDING_CALL_TYPES:
        return "embedding"
    return None


def call_type_of(kwargs: Mapping[str, Any]) -> str:
    slo = as_dict(kwargs.get("standard_logging_object"))
    return as_str(slo.get("call_type")) or as_str(kwargs.get("call_type"))


# --------------------------------------------------------------------------------------------------
# model identity


def resolve_model(kwargs: Mapping[str, Any], slo: Mapping[str, Any]) -> ModelRef:
    """Provider from ``custom_llm_provider``; model name without a ``provider/`` prefix."""
    litellm_params = as_dict(kwargs.get("litellm_params"))
    error_info = as_dict(slo.get("error_information"))
    name = as_str(slo.get("model")) or as_str(kwargs.get("model"))
    provider = (
        as_str(slo.get("custom_llm_provider"))
        or as_str(kwargs.get("custom_llm_provider"))
        or as_str(litellm_params.get("custom_llm_provider"))
        or as_str(error_info.get("llm_provider"))
    )
    name = name.strip()
    provider = provider.strip()
    if "/" in name:
        prefix, rest = name.split("/", 1)
        if not provider:
            provider = prefix
        if prefix == provider and rest:
            name = rest
    return ModelRef(provider=provider or UNKNOWN, name=name or UNKNOWN)


# --------------------------------------------------------------------------------------------------
# messages


def _has_text(text: str) -> bool:
    """Non-blank, without copying the string (``strip()`` would, for every long message)."""
    return bool(text) and not text.isspace()


def _text_part(text: str, provider_type: str = "") -> Part:
    if provider_type:
        return Part(kind=PartKind.TEXT, text=text, metadata=PartMetadata(provider_type=provider_type))
    return Part(kind=PartKind.TEXT, text=text)


def content_parts(content: Any) -> list[Part]:
    """Text parts of an OpenAI ``content`` value: a string or an array of typed parts.

    Non-text parts (images, audio, files) become a short marker such as ``[image]`` with the part's
    type in ``metadata.provider_type``; their payload (often a large data URL) is never copied.
    """
    if isinstance(content, str):
        return [Part(kind=PartKind.TEXT, text=content)] if _has_text(content) else []
    if isinstance(content, dict):
        content = [content]
    parts: list[Part] = []
    for item in as_list(content):
        if isinstance(item, str):
            if _has_text(item):
                parts.append(_text_part(item))
            continue
        data = as_dict(item)
        kind = as_str(data.get("type"))
        text = as_str(data.get("text"))
        if kind in _TEXT_TYPES or (not kind and text):
            if _has_text(text):
                parts.append(_text_part(text))
        elif kind in _IMAGE_TYPES:
            parts.append(_text_part("[image]", kind))
        elif kind in _AUDIO_TYPES:
            parts.append(_text_part("[audio]", kind))
        elif kind:
            parts.append(_text_part(f"[{kind}]", kind))
    return parts


def content_text(content: Any) -> str:
    """All text of a ``content`` value joined by blank lines (system prompts, tool results)."""
    return "\n\n".join(p.text for p in content_parts(content) if not p.metadata.provider_type)


def redacted_thinking_part(block: Mapping[str, Any]) -> Part:
    """A ``redacted_thinking`` block: its opaque ``data`` (ciphertext) is the thinking text, as both
    incumbent packages record it, marked by its provider type."""
    return Part(
        kind=PartKind.THINKING,
        thinking=as_str(block.get("data")) or "[redacted thinking]",
        metadata=PartMetadata(provider_type="redacted_thinking"),
    )


def _thinking_parts(message: Mapping[str, Any]) -> list[Part]:
    parts: list[Part] = []
    for block in as_list(message.get("thinking_blocks")):
        data = as_dict(block)
        if as_str(data.get("type")) == "redacted_thinking":
            parts.append(redacted_thinking_part(data))
            continue
        thinking = as_str(data.get("thinking"))
        if thinking.strip():
            parts.append(Part(kind=PartKind.THINKING, thinking=thinking))
    if not parts:
        reasoning = as_str(message.get("reasoning_content"))
        if reasoning.strip():
            parts.append(Part(kind=PartKind.THINKING, thinking=reasoning))
    return parts


def _tool_call_parts(message: Mapping[str, Any]) -> list[Part]:
    parts: list[Part] = []
    for call in as_list(message.get("tool_calls")):
        data = as_dict(call)
        function = as_dict(data.get("function"))
        name = as_str(function.get("name")) or as_str(data.get("name")) or UNKNOWN
        arguments = function.get("arguments") if function else data.get("arguments")
        parts.append(
            Part(
                kind=PartKind.TOOL_CALL,
                tool_call=ToolCall(name=name, id=as_str(data.get("id")), input_json=json_bytes(arguments)),
            )
        )
    legacy = as_dict(message.get("function_call"))
    if legacy:
        parts.append(
            Part(
                kind=PartKind.TOOL_CALL,
                tool_call=ToolCall(
                    name=as_str(legacy.get("name")) or UNKNOWN,
                    input_json=json_bytes(legacy.get("arguments")),
                ),
            )
        )
    return parts


def assistant_parts(message: Mapping[str, Any]) -> list[Part]:
    """Thinking first, then text, then tool calls — the order a model produces them in."""
    return [*_thinking_parts(message), *content_parts(message.get("content")), *_tool_call_parts(message)]


def _tool_result_message(message: Mapping[str, Any]) -> SharedMessage:
    name = as_str(message.get("name"))
    result = ToolResult(
        tool_call_id=as_str(message.get("tool_call_id")),
        name=name,
        content=content_text(message.get("content")),
    )
    return SharedMessage(role=MessageRole.TOOL, parts=[Part(kind=PartKind.TOOL_RESULT, tool_result=result)], name=name)


def map_input_messages(raw: Any) -> tuple[str, list[Message]]:
    """OpenAI-style chat messages → (system prompt, Sigil messages).

    System and developer messages become the system prompt; messages without any content are
    dropped (Sigil requires at least one part); unknown roles are treated as user input. A bare
    string or list of strings (text completion prompts) is user input.
    """
    if isinstance(raw, str):
        raw = [{"role": "user", "content": raw}]
    elif isinstance(raw, dict):
        raw = [raw]
    system: list[str] = []
    messages: list[Message] = []
    for item in as_list(raw):
        data = (
            item
            if type(item) is dict
            else {"role": "user", "content": item}
            if isinstance(item, str)
            else as_dict(item)
        )
        role = data.get("role")
        name = data.get("name")
        name = name if type(name) is str else ""
        if role == "user" or role is None:  # the common case first: plain user text
            content = data.get("content")
            if type(content) is str:
                if _has_text(content):
                    messages.append(
                        SharedMessage(role=MessageRole.USER, parts=[Part(kind=PartKind.TEXT, text=content)], name=name)
                    )
                continue
        role = as_str(role).lower()
        if role in ("system", "developer"):
            text = content_text(data.get("content"))
            if text.strip():
                system.append(text)
            continue
        if role in ("tool", "function"):
            messages.append(_tool_result_message(data))
            continue
        if role == "assistant":
            parts = assistant_parts(data)
            if parts:
                messages.append(SharedMessage(role=MessageRole.ASSISTANT, parts=parts, name=name))
            continue
        parts = content_parts(data.get("content"))
        if parts:
            messages.append(SharedMessage(role=MessageRole.USER, parts=parts, name=name))
    return "\n\n".join(system), messages


def map_output(response: Mapping[str, Any]) -> tuple[list[Message], str]:
    """Assistant messages of every choice and the first choice's finish reason."""
    messages: list[Message] = []
    stop_reason = ""
    for index, choice in enumerate(as_list(response.get("choices"))):
        data = as_dict(choice)
        if index == 0:
            stop_reason = as_str(data.get("finish_reason"))
        message = as_dict(data.get("message")) or as_dict(data.get("delta"))
        parts = assistant_parts(message) if message else content_parts(data.get("text"))
        if parts:
            messages.append(SharedMessage(role=MessageRole.ASSISTANT, parts=parts))
    return messages, stop_reason


# --------------------------------------------------------------------------------------------------
# request parameters, tools, usage


def map_tools(raw: Any, *, with_content: bool = True) -> list[ToolDefinition]:
    tools: list[ToolDefinition] = []
    for item in as_list(raw):
        data = as_dict(item)
        function = as_dict(data.get("function")) or data
        name = as_str(function.get("name"))
        if not name.strip():
            continue
        tools.append(
            ToolDefinition(
                name=name,
                description=as_str(function.get("description")) if with_content else "",
                type=as_str(data.get("type")) or "function",
                input_schema_json=json_bytes(function.get("parameters")) if with_content else b"",
            )
        )
    return tools


def map_tool_choice(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    data = as_dict(value)
    name = as_str(as_dict(data.get("function")).get("name")) or as_str(data.get("name"))
    if name:
        return name
    kind = as_str(data.get("type"))
    return kind or None


def map_thinking_enabled(params: Mapping[str, Any]) -> bool | None:
    thinking = params.get("thinking")
    if isinstance(thinking, Mapping):
        kind = as_str(thinking.get("type")).lower()
        if kind in ("enabled", "adaptive"):
            return True
        if kind == "disabled":
            return False
    flag = as_bool(thinking)
    if flag is not None:
        return flag
    effort = as_str(params.get("reasoning_effort")).lower()
    if effort:
        return effort not in ("none", "disable", "disabled")
    return None


def _usage_details(usage: Mapping[str, Any]) -> tuple[int, int, int]:
    """(cache read, cache write, reasoning) tokens of one OpenAI-style ``usage`` value."""
    prompt_details = as_dict(usage.get("prompt_tokens_details"))
    completion_details = as_dict(usage.get("completion_tokens_details"))
    return (
        as_int(prompt_details.get("cached_tokens")) or as_int(usage.get("cache_read_input_tokens")),
        as_int(usage.get("cache_creation_input_tokens")) or as_int(prompt_details.get("cache_creation_tokens")),
        as_int(completion_details.get("reasoning_tokens")),
    )


def map_usage(response: Mapping[str, Any], slo: Mapping[str, Any], fallback_usage: Any = None) -> TokenUsage:
    """Token counts of the response, else of the logging payload; the cache and reasoning details
    of the response, else of ``fallback_usage`` (``response_obj.usage`` when the payload lacks them)."""
    usage = as_dict(response.get("usage"))
    input_tokens = as_int(usage.get("prompt_tokens")) or as_int(slo.get("prompt_tokens"))
    output_tokens = as_int(usage.get("completion_tokens")) or as_int(slo.get("completion_tokens"))
    total = as_int(usage.get("total_tokens")) or as_int(slo.get("total_tokens"))
    cache_read, cache_write, reasoning = _usage_details(usage)
    if fallback_usage is not None and not (cache_read or cache_write or reasoning):
        cache_read, cache_write, reasoning = _usage_details(as_dict(fallback_usage))
    return TokenUsage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=max(total, input_tokens + output_tokens) if total else 0,
        cache_read_input_tokens=cache_read,
        cache_write_input_tokens=cache_write,
        reasoning_tokens=reasoning,
    )


def _object_usage(kwargs: Mapping[str, Any], response_obj: Any) -> Any:
    """``response_obj.usage`` (or the slim event's copy of it)."""
    if "response_usage" in kwargs:
        return kwargs["response_usage"]
    if isinstance(response_obj, dict):
        return response_obj.get("usage")
    return getattr(response_obj, "usage", None)


# --------------------------------------------------------------------------------------------------
# identity, tags, metadata


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


def _first(sources: list[dict[str, Any]], *keys: str) -> str:
    for key in keys:
        for source in sources:
            value = as_str(source.get(key)).strip()
            if value:
                return value
    return ""


def resolve_conversation_id(
    kwargs: Mapping[str, Any], slo: Mapping[str, Any], sources: list[dict[str, Any]], default: str
) -> str:
    """Request metadata (``conversation_id``, ``session_id``, ``thread_id``), then LiteLLM's session id
    (``litellm_session_id``), then a ``trace_id`` the caller put in the request metadata, then the
    handler default, then LiteLLM's ``litellm_trace_id`` (as the incumbent package; the proxy makes
    one per request unless the caller sends one, so a configured default comes before it).
    """
    litellm_params = as_dict(kwargs.get("litellm_params"))
    return (
        _first(sources, "conversation_id", "session_id", "thread_id")
        or as_str(slo.get("session_id")).strip()
        or as_str(litellm_params.get("litellm_session_id")).strip()
        or _first(sources, "trace_id")
        or default
        or as_str(litellm_params.get("litellm_trace_id")).strip()
        or as_str(kwargs.get("litellm_trace_id")).strip()
    )


def resolve_user_id(kwargs: Mapping[str, Any], slo: Mapping[str, Any]) -> str:
    """The end user (OpenAI ``user`` / proxy end-user id), else the user owning the proxy key; never
    LiteLLM's ``default_user_id`` placeholder (the master key's user)."""
    metadata = as_dict(slo.get("metadata"))
    for value in (
        slo.get("end_user"),
        kwargs.get("user"),
        metadata.get("user_api_key_end_user_id"),
        metadata.get("user_api_key_user_id"),
    ):
        text = as_str(value).strip()
        if text and text != DEFAULT_USER_PLACEHOLDER:
            return text
    return ""


def split_request_tags(raw: Any) -> tuple[dict[str, str], str]:
    """``request_tags`` → ``litellm.tag.<value> = <value>`` tags (the incumbent's representation, the
    proxy's ``User-Agent: …`` tags included), plus the user agent read from those."""
    tags: dict[str, str] = {}
    user_agent = ""
    for item in as_list(raw):
        value = as_str(item).strip()
        if not value:
            continue
        if value.lower().startswith(_USER_AGENT_TAG_PREFIX):
            user_agent = user_agent or value[len(_USER_AGENT_TAG_PREFIX) :].strip()
        tags[REQUEST_TAG_PREFIX + value] = value
    return tags, user_agent


def build_tags(slo: Mapping[str, Any], options: MappingOptions) -> tuple[dict[str, str], str]:
    request_tags, user_agent = split_request_tags(slo.get("request_tags"))
    tags: dict[str, str] = {str(k): as_str(v) for k, v in options.extra_tags.items()}
    tags.update(request_tags)
    model_group = as_str(slo.get("model_group")).strip()
    if model_group:
        tags[TAG_MODEL_GROUP] = model_group
    tags.update(FRAMEWORK_TAGS)
    return tags, user_agent


def build_metadata(
    kwargs: Mapping[str, Any], slo: Mapping[str, Any], options: MappingOptions, user_agent: str
) -> dict[str, Any]:
    metadata: dict[str, Any] = {str(k): json_value(v) for k, v in options.extra_metadata.items()}
    proxy = as_dict(slo.get("metadata"))
    hidden = as_dict(slo.get("hidden_params"))
    error_info = as_dict(slo.get("error_information"))
    candidates: dict[str, Any] = {
        META_CALL_ID: as_str(slo.get("litellm_call_id")) or as_str(kwargs.get("litellm_call_id")),
        META_TRACE_ID: as_str(slo.get("trace_id")) or as_str(kwargs.get("litellm_trace_id")),
        META_CALL_TYPE: call_type_of(kwargs),
        META_MODEL_GROUP: as_str(slo.get("model_group")),
        META_MODEL_ID: as_str(slo.get("model_id")) or as_str(hidden.get("model_id")),
        META_TEAM_ID: as_str(proxy.get("user_api_key_team_id")) or as_str(proxy.get("team_id")),
        META_TEAM_ALIAS: as_str(proxy.get("user_api_key_team_alias")) or as_str(proxy.get("team_alias")),
        META_KEY_ALIAS: as_str(proxy.get("user_api_key_alias")),
        META_ORG_ID: as_str(proxy.get("user_api_key_org_id")),
        META_KEY_USER_ID: as_str(proxy.get("user_api_key_user_id")),
        META_END_USER: as_str(slo.get("end_user")) or as_str(proxy.get("user_api_key_end_user_id")),
        META_USER_AGENT: as_str(slo.get("user_agent")) or as_str(proxy.get("user_agent")) or user_agent,
        META_ERROR_CLASS: as_str(error_info.get("error_class")),
        META_ERROR_CODE: as_str(error_info.get("error_code")),
        META_ERROR_PROVIDER: as_str(error_info.get("llm_provider")),
    }
    for key, value in candidates.items():
        if value:
            metadata[key] = value
    cost = as_opt_float(slo.get("response_cost"))
    if cost is not None:
        metadata[META_RESPONSE_COST] = cost
    cache_hit = slo.get("cache_hit")
    if isinstance(cache_hit, bool):
        metadata[META_CACHE_HIT] = cache_hit
    for source in request_metadata_sources(kwargs, slo):
        decisions = [
            {key: as_str(item.get(key)) for key in ("phase", "action", "rule_id")}
            for item in as_list(source.get(GUARD_DECISIONS_KEY))
            if isinstance(item, dict)
        ]
        if decisions:
            metadata[META_GUARD_DECISIONS] = decisions
            break
    return metadata


def error_text(kwargs: Mapping[str, Any], slo: Mapping[str, Any]) -> str:
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


# --------------------------------------------------------------------------------------------------
# whole events


def _times(kwargs: Mapping[str, Any], slo: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    """The callback's ``start_time`` / ``end_time`` (LiteLLM passes the same values in ``kwargs``),
    else the logging payload's epoch times."""
    started = as_datetime(kwargs.get("start_time")) or as_datetime(slo.get("startTime"))
    completed = as_datetime(kwargs.get("end_time")) or as_datetime(slo.get("endTime"))
    if started is not None and completed is not None and completed < started:
        completed = started
    return started, completed


def _response_dict(slo: Mapping[str, Any], response_obj: Any) -> dict[str, Any]:
    response = slo.get("response")
    if isinstance(response, dict) and response:
        return response
    from_object = as_dict(response_obj)
    if not from_object and isinstance(response, str) and response:
        # a plain-string response (some providers, older LiteLLM) is the output text
        return {"choices": [{"message": {"role": "assistant", "content": response}}]}
    return from_object


def _model_parameters(kwargs: Mapping[str, Any], slo: Mapping[str, Any]) -> dict[str, Any]:
    params = as_dict(slo.get("model_parameters"))
    return params or as_dict(kwargs.get("optional_params"))


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
    response = {} if failed else _response_dict(slo, response_obj)
    params = _model_parameters(kwargs, slo)
    sources = request_metadata_sources(kwargs, slo)
    stream = bool(as_bool(slo.get("stream")) or as_bool(kwargs.get("stream")))
    mode = GenerationMode.STREAM if stream else GenerationMode.SYNC
    started_at, completed_at = _times(kwargs, slo)
    capture_inputs = options.capture_inputs and not redacted
    capture_outputs = options.capture_outputs and not redacted

    call_type = call_type_of(kwargs)
    route = _route_mapper(call_type) if call_type in ROUTE_CALL_TYPES else None
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
        usage = map_usage(response, slo, None if failed else _object_usage(kwargs, response_obj))
        max_tokens = params.get("max_tokens")
        if max_tokens is None:
            max_tokens = params.get("max_completion_tokens")
    if not capture_outputs:
        output_messages = []

    tags, user_agent = build_tags(slo, options)
    model = resolve_model(kwargs, slo)

    generation_id = generation_id_of(kwargs, slo)
    generation = SharedGeneration(
        id=generation_id,
        conversation_id=resolve_conversation_id(kwargs, slo, sources, options.conversation_id),
        user_id=resolve_user_id(kwargs, slo),
        agent_name=_first(sources, *options.agent_name_metadata_keys) or options.agent_name,
        agent_version=_first(sources, "agent_version") or options.agent_version,
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
    )


def generation_id_of(kwargs: Mapping[str, Any], slo: Mapping[str, Any]) -> str:
    """LiteLLM's call id: unique per call (a provider's response id repeats on cache hits, and Sigil
    refuses a duplicate id) and the key of LiteLLM's own logs. '' lets the SDK make a random id."""
    return as_str(slo.get("litellm_call_id")).strip() or as_str(kwargs.get("litellm_call_id")).strip()


def _route_mapper(call_type: str) -> Any:
    from sigil_sdk_litellm.mapping import ROUTES  # the route modules build on this one

    return ROUTES.get(call_type)


def _embedding_inputs(raw: Any) -> list[str]:
    """The input texts; LiteLLM empties the input to "" when message logging is off."""
    if isinstance(raw, str):
        return [raw] if raw else []
    return [item for item in as_list(raw) if isinstance(item, str)]


def embedding_input_count(raw: Any) -> int:
    """A string is one input ("" none), a list of token ids one, any other list one per item."""
    if isinstance(raw, str):
        return 1 if raw else 0
    if isinstance(raw, (list, tuple)):
        if raw and all(isinstance(item, int) and not isinstance(item, bool) for item in raw):
            return 1
        return len(raw)
    return 0


def map_embedding(
    kwargs: Mapping[str, Any],
    response_obj: Any,
    options: MappingOptions,
    *,
    failed: bool = False,
    redacted: bool = False,
) -> EmbeddingRecord:
    """One LiteLLM embedding event → the SDK's embedding recording (a span, not a generation)."""
    slo = as_dict(kwargs.get("standard_logging_object"))
    response = {} if failed else _response_dict(slo, response_obj)
    params = _model_parameters(kwargs, slo)
    sources = request_metadata_sources(kwargs, slo)
    tags, user_agent = build_tags(slo, options)
    started_at, _ = _times(kwargs, slo)
    model = resolve_model(kwargs, slo)
    raw_input = kwargs.get("input")
    data = as_list(response.get("data"))
    first_vector = as_list(as_dict(data[0]).get("embedding")) if data else []
    # the request's dimensions, else the length of the returned vector
    dimensions = as_opt_int(params.get("dimensions")) or len(first_vector) or None
    start = EmbeddingStart(
        model=model,
        agent_name=_first(sources, *options.agent_name_metadata_keys) or options.agent_name,
        agent_version=_first(sources, "agent_version") or options.agent_version,
        dimensions=dimensions,
        encoding_format=as_str(params.get("encoding_format")).strip(),
        tags=tags,
        metadata=build_metadata(kwargs, slo, options, user_agent),
        started_at=started_at,
    )
    result = EmbeddingResult(
        input_count=embedding_input_count(raw_input),
        input_tokens=as_int(as_dict(response.get("usage")).get("prompt_tokens")) or as_int(slo.get("prompt_tokens")),
        input_texts=_embedding_inputs(raw_input) if options.capture_inputs and not redacted else [],
        response_model=as_str(response.get("model")),
        dimensions=dimensions,
    )
    return EmbeddingRecord(start=start, result=result, call_error=error_text(kwargs, slo) if failed else "")


# --------------------------------------------------------------------------------------------------
# slim events (for the out-of-process recorder)


def _pick(data: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    source = as_dict(data)
    return {key: source[key] for key in keys if key in source}


def _request_metadata(data: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    source = as_dict(data)
    slim = _pick(source, keys)
    requester = _pick(source.get("requester_metadata"), keys)
    if requester:
        slim["requester_metadata"] = requester
    return slim


def slim_event(
    kwargs: Mapping[str, Any],
    response_obj: Any = None,
    *,
    redacted: bool = False,
    agent_name_metadata_keys: tuple[str, ...] = DEFAULT_AGENT_NAME_METADATA_KEYS,
) -> dict[str, Any]:
    """The part of LiteLLM's callback ``kwargs`` the mapping reads, as plain picklable data.

    ``map_generation(slim_event(kw), None, ...)`` equals ``map_generation(kw, response, ...)`` (tested),
    so an event can be mapped in another process. What is never read is never copied: request
    headers, API keys and key hashes, tracebacks, LiteLLM's model map. With ``redacted``, message
    content is left out here already (map the slim event with ``redacted=True`` too). The agent keys
    must be the recorder's ``agent_name_metadata_keys``.
    """
    metadata_keys = tuple(dict.fromkeys((*REQUEST_METADATA_KEYS, *agent_name_metadata_keys)))
    slo = as_dict(kwargs.get("standard_logging_object"))
    litellm_params = as_dict(kwargs.get("litellm_params"))
    slim_slo = _pick(slo, SLO_KEYS)
    proxy = as_dict(slo.get("metadata"))
    slim_slo["metadata"] = _pick(proxy, PROXY_METADATA_KEYS)
    requester = _pick(proxy.get("requester_metadata"), metadata_keys)
    if requester:
        slim_slo["metadata"]["requester_metadata"] = requester
    hidden = as_dict(slo.get("hidden_params"))
    if "model_id" in hidden:
        slim_slo["hidden_params"] = {"model_id": hidden["model_id"]}
    if slo.get("error_information") is not None:
        slim_slo["error_information"] = _pick(slo.get("error_information"), ERROR_INFORMATION_KEYS)
    response_usage: dict[str, Any] = {}
    if isinstance(slo.get("response"), dict) and slo.get("response"):
        response_usage = as_dict(_object_usage(kwargs, response_obj))
    else:
        from_object = as_dict(response_obj)
        if from_object or not isinstance(slo.get("response"), str):
            slim_slo["response"] = from_object

    event = _pick(kwargs, KWARGS_KEYS)
    for key in ("start_time", "end_time"):  # epoch seconds pickle far cheaper than datetimes
        moment = event.get(key)
        if isinstance(moment, datetime):
            event[key] = moment.timestamp()
    event["standard_logging_object"] = slim_slo
    event["litellm_params"] = {
        "metadata": _request_metadata(litellm_params.get("metadata"), metadata_keys),
        "litellm_metadata": _request_metadata(litellm_params.get("litellm_metadata"), metadata_keys),
        **_pick(litellm_params, ("custom_llm_provider", "litellm_session_id", "litellm_trace_id")),
    }
    if response_usage:  # the cache / reasoning details the payload may lack (see map_usage)
        event["response_usage"] = response_usage
    if not slim_slo.get("messages"):
        event.update(_pick(kwargs, ("messages",)))
    call_type = call_type_of(kwargs)
    if classify_call(call_type) == "embedding":
        event.update(_pick(kwargs, ("input",)))
    if not slim_slo.get("model_parameters"):
        event["optional_params"] = _pick(kwargs.get("optional_params"), _MODEL_PARAMETER_KEYS)
    if call_type in ROUTE_CALL_TYPES:
        from sigil_sdk_litellm.mapping import SLIM_EXTRAS

        for key, value in SLIM_EXTRAS[call_type](kwargs).items():
            event[key] = {**event[key], **value} if isinstance(event.get(key), dict) else value
    exception = kwargs.get("exception")
    if exception is not None:
        try:
            event["exception"] = str(exception) or type(exception).__name__
        except Exception:  # noqa: BLE001
            event["exception"] = type(exception).__name__
    if redacted:
        for holder in (slim_slo, event):
            holder.pop("messages", None)
        event.pop("input", None)
        params = as_dict(event.get("optional_params"))
        for key in _CONTENT_PARAMETERS:
            params.pop(key, None)
        parameters = as_dict(slim_slo.get("model_parameters"))
        if any(key in parameters for key in _CONTENT_PARAMETERS):  # a copy: LiteLLM's payload stays as is
            slim_slo["model_parameters"] = {k: v for k, v in parameters.items() if k not in _CONTENT_PARAMETERS}
        response = as_dict(slim_slo.get("response"))
        slim_slo["response"] = _pick(response, ("id", "model", "usage", "status", "incomplete_details", "stop_reason"))
        if "choices" in response:  # a Responses object has none, and its route tells the shapes apart by it
            slim_slo["response"]["choices"] = [
                _pick(choice, ("finish_reason",)) for choice in as_list(response.get("choices"))
            ]
    return event


# request parameters that are prompt text (Responses ``instructions``, Anthropic ``system``)
_CONTENT_PARAMETERS = ("instructions", "system")
_MODEL_PARAMETER_KEYS = (
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
