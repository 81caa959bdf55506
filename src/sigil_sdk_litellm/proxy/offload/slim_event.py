"""The recorder hand-off: the part of LiteLLM's callback ``kwargs`` the mapping reads, as plain data.

:func:`slim_event` runs in the proxy's callback; the recorder process maps what it returns with the
library's mapping. ``map_generation(slim_event(kw), None, ...)`` equals ``map_generation(kw, response,
...)`` (tested, for every route): the keys it copies, declared in
:mod:`sigil_sdk_litellm.mapping.read_fields`, are exactly what the mapping reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sigil_sdk_litellm.mapping.chat import SYSTEM_ROLES
from sigil_sdk_litellm.mapping.coerce import as_dict, as_list, as_str
from sigil_sdk_litellm.mapping.event import (
    DEFAULT_AGENT_NAME_METADATA_KEYS,
    MCP_CALL_KEY,
    ApiFamily,
    api_family,
    call_type_of,
    classify_call,
)
from sigil_sdk_litellm.mapping.read_fields import (
    CONTENT_PARAMETERS,
    ERROR_INFORMATION_KEYS,
    KWARGS_KEYS,
    MCP_CALL_KEYS,
    MODEL_PARAMETER_KEYS,
    PROXY_METADATA_KEYS,
    REQUEST_METADATA_KEYS,
    SLO_KEYS,
)
from sigil_sdk_litellm.mapping.trace_context import TRACEPARENT_KEY, request_traceparent
from sigil_sdk_litellm.mapping.usage import response_object_usage


def _responses_extras(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """What the Responses route reads beyond the usual slim event: the system messages of ``input`` —
    or all of it when LiteLLM logged no messages (then the input items come from there)."""
    raw = kwargs.get("input")
    logged = as_dict(kwargs.get("standard_logging_object")).get("messages")
    if raw is not None and (logged is None or logged == []):
        return {"input": raw}
    if not isinstance(raw, list):
        return {}
    system = [i for i in raw if isinstance(i, dict) and as_str(i.get("role")).lower() in SYSTEM_ROLES]
    return {"input": system} if system else {}


def _anthropic_messages_extras(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """What the Anthropic Messages route reads beyond the usual slim event: ``system``, which LiteLLM
    keeps only here."""
    system = as_dict(kwargs.get("optional_params")).get("system")
    if system is None:
        system = as_dict(kwargs.get("litellm_params")).get("system")
    return {"optional_params": {"system": system}} if system is not None else {}


# what each route of mapping.generation.ROUTES reads beyond the usual slim event, by API family
ROUTE_EXTRAS: Mapping[ApiFamily, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "responses": _responses_extras,
    "anthropic_messages": _anthropic_messages_extras,
}


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
    headers (the request's trace only, as one ``traceparent``), API keys and key hashes, tracebacks,
    LiteLLM's model map. With ``redacted``, message content is left out here already (map the slim
    event with ``redacted=True`` too). The agent keys must be the recorder's ``agent_name_metadata_keys``.
    """
    metadata_keys = tuple(dict.fromkeys((*REQUEST_METADATA_KEYS, *agent_name_metadata_keys)))
    slo = as_dict(kwargs.get("standard_logging_object"))
    litellm_params = as_dict(kwargs.get("litellm_params"))
    slim_slo = _pick(slo, SLO_KEYS)
    proxy = as_dict(slo.get("metadata"))
    slim_slo["metadata"] = _pick(proxy, PROXY_METADATA_KEYS)
    if MCP_CALL_KEY in slim_slo["metadata"]:
        slim_slo["metadata"][MCP_CALL_KEY] = _pick(proxy[MCP_CALL_KEY], MCP_CALL_KEYS)
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
        response_usage = as_dict(response_object_usage(kwargs, response_obj))
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
    if traceparent := request_traceparent(kwargs):  # the request's span (a live object) as W3C text
        event[TRACEPARENT_KEY] = traceparent
    event["litellm_params"] = {
        "metadata": _request_metadata(litellm_params.get("metadata"), metadata_keys),
        "litellm_metadata": _request_metadata(litellm_params.get("litellm_metadata"), metadata_keys),
        **_pick(litellm_params, ("custom_llm_provider", "litellm_session_id", "litellm_trace_id")),
    }
    if response_usage:  # the cache / reasoning details the payload may lack (see mapping.usage.map_usage)
        event["response_usage"] = response_usage
    if not slim_slo.get("messages"):
        event.update(_pick(kwargs, ("messages",)))
    call_type = call_type_of(kwargs)
    if classify_call(call_type) == "embedding":
        event.update(_pick(kwargs, ("input",)))
    if not slim_slo.get("model_parameters"):
        event["optional_params"] = _pick(kwargs.get("optional_params"), MODEL_PARAMETER_KEYS)
    extras = ROUTE_EXTRAS.get(family) if (family := api_family(call_type)) is not None else None
    if extras is not None:
        for key, value in extras(kwargs).items():
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
        for key in CONTENT_PARAMETERS:
            params.pop(key, None)
        parameters = as_dict(slim_slo.get("model_parameters"))
        if any(key in parameters for key in CONTENT_PARAMETERS):  # a copy: LiteLLM's payload stays as is
            slim_slo["model_parameters"] = {k: v for k, v in parameters.items() if k not in CONTENT_PARAMETERS}
        response = as_dict(slim_slo.get("response"))
        kept = ("id", "model", "usage", "status", "incomplete_details", "stop_reason", "is_error")
        slim_slo["response"] = _pick(response, kept)
        as_dict(as_dict(slim_slo["metadata"]).get(MCP_CALL_KEY)).pop("arguments", None)
        if "choices" in response:  # a Responses object has none, and its route tells the shapes apart by it
            slim_slo["response"]["choices"] = [
                _pick(choice, ("finish_reason",)) for choice in as_list(response.get("choices"))
            ]
    return event
