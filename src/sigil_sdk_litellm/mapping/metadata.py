"""The tags and metadata of one recording: the framework's, the request's tags, the proxy's identity."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sigil_sdk_litellm.mapping.coerce import as_dict, as_list, as_opt_float, as_str, json_value
from sigil_sdk_litellm.mapping.event import MappingOptions, call_type_of, request_metadata_sources

FRAMEWORK_TAGS: Mapping[str, str] = {
    "sigil.framework.name": "litellm",
    "sigil.framework.source": "handler",
    "sigil.framework.language": "python",
}
REQUEST_TAG_PREFIX = "litellm.tag."
TAG_MODEL_GROUP = "litellm.model_group"
_USER_AGENT_TAG_PREFIX = "user-agent:"

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

# The guardrail's decisions (rule id, action, phase), noted in the request's metadata by the proxy's
# guard (sigil_sdk_litellm.proxy.guard.evaluation.record_decision).
GUARD_DECISIONS_KEY = "sigil_guard_decisions"
META_GUARD_DECISIONS = "sigil.guard.decisions"


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
