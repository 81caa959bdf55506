"""Who and what one event is about: the model, the generation id, the conversation, the user, the agent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sigil_sdk import ModelRef

from sigil_sdk_litellm.mapping.coerce import as_dict, as_str
from sigil_sdk_litellm.mapping.event import UNKNOWN, MappingOptions, first_metadata_value

# set by LiteLLM's router in the request metadata before each try of a call (0, 1, …)
ATTEMPT_METADATA_KEY = "attempted_retries"
DEFAULT_USER_PLACEHOLDER = "default_user_id"  # LiteLLM's user of the master key: no one in particular


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


def router_attempt(kwargs: Mapping[str, Any]) -> int | None:
    """The router's attempt number of the call (``attempted_retries``, 0 for the first try, in the
    request metadata), or None when LiteLLM's router did not handle the call."""
    litellm_params = as_dict(kwargs.get("litellm_params"))
    for holder in ("metadata", "litellm_metadata"):  # the router writes to the one the request has
        value = as_dict(litellm_params.get(holder)).get(ATTEMPT_METADATA_KEY)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def generation_id_of(kwargs: Mapping[str, Any], slo: Mapping[str, Any], *, failed: bool = False) -> str:
    """LiteLLM's call id: unique per call (a provider's response id repeats on cache hits, and Sigil
    refuses a duplicate id) and the key of LiteLLM's own logs. '' lets the SDK make a random id.

    A failure of a call the router handled gets ``<call id>-attempt-<n>``: the router may retry it or
    fall back under the same call id, and the success that follows must keep the call id — with it,
    Sigil would refuse the success as a duplicate and keep only the failure. (The router's key stays in
    the metadata after it returns, so a post-call refusal is named after the try it refused.)
    """
    call_id = as_str(slo.get("litellm_call_id")).strip() or as_str(kwargs.get("litellm_call_id")).strip()
    attempt = router_attempt(kwargs) if failed and call_id else None
    return call_id if attempt is None else f"{call_id}-attempt-{attempt}"


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
        first_metadata_value(sources, "conversation_id", "session_id", "thread_id")
        or as_str(slo.get("session_id")).strip()
        or as_str(litellm_params.get("litellm_session_id")).strip()
        or first_metadata_value(sources, "trace_id")
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


def resolve_agent(sources: list[dict[str, Any]], options: MappingOptions) -> tuple[str, str]:
    """The agent's name and version from the request metadata, else the handler's."""
    return (
        first_metadata_value(sources, *options.agent_name_metadata_keys) or options.agent_name,
        first_metadata_value(sources, "agent_version") or options.agent_version,
    )
