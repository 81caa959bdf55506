"""Sigil's hook rules as a LiteLLM guardrail: ``pre_call`` is preflight, ``post_call`` postflight.

Two ways to turn it on (docs/hooks.md):

- ``SIGIL_HOOKS_ENABLED=true``: the bootstrap registers one guardrail named ``sigil-hooks``, on by
  default (``default_on``) for the phases of ``SIGIL_HOOKS_PHASES``;
- ``guardrails:`` in config.yaml, which also allows per-request selection (``default_on: false`` and the
  request's ``guardrails: ["sigil"]``)::

      guardrails:
        - guardrail_name: sigil
          litellm_params:
            guardrail: sigil_sdk_litellm.proxy.guardrail.SigilGuardrail
            mode: [pre_call, post_call]
            default_on: false

Where and how rules are evaluated (endpoint, auth, timeouts, fail modes, concurrency per phase) comes
from the ``SIGIL_*`` settings in both cases. Streaming answers: see :meth:`SigilGuardrail.
async_post_call_streaming_iterator_hook`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from litellm.integrations.custom_guardrail import CustomGuardrail
from litellm.types.guardrails import GuardrailEventHooks
from litellm.types.utils import ModelResponseStream

from sigil_sdk_litellm.mapping.coerce import as_dict, as_list
from sigil_sdk_litellm.mapping.metadata import GUARD_DECISIONS_KEY
from sigil_sdk_litellm.proxy.builders import auth_headers
from sigil_sdk_litellm.proxy.guard.evaluation import DENY_STATUS, HookGuard, PhasePolicy, StreamRefusal, metadata_key
from sigil_sdk_litellm.proxy.guard.mcp_tools import CALL_TYPE as MCP_CALL_TYPE
from sigil_sdk_litellm.proxy.guard.requests import HookDefaults
from sigil_sdk_litellm.proxy.guard.responses_api import error_frame, is_event
from sigil_sdk_litellm.proxy.metrics import pipeline_metrics
from sigil_sdk_litellm.proxy.settings import Settings

T = TypeVar("T")

__all__ = ["HOOKS_GUARDRAIL_NAME", "SigilGuardrail", "build_guard", "hooks_base_url", "hooks_guardrail"]

HOOKS_GUARDRAIL_NAME = "sigil-hooks"
_SUPPORTED = [
    GuardrailEventHooks.pre_call,
    GuardrailEventHooks.post_call,
    GuardrailEventHooks.pre_mcp_call,
    GuardrailEventHooks.post_mcp_call,
]
_END = object()
_DISABLED = (
    "SIGIL_ENABLED=false, yet config.yaml lists the guardrail sigil_sdk_litellm.proxy.guardrail.SigilGuardrail: "
    "remove it from guardrails: or set SIGIL_ENABLED=true"
)
# the LiteLLM event hooks of each phase: model calls, and tool calls through the MCP gateway
_PHASE_HOOKS = {
    "preflight": (GuardrailEventHooks.pre_call.value, GuardrailEventHooks.pre_mcp_call.value),
    "postflight": (GuardrailEventHooks.post_call.value, GuardrailEventHooks.post_mcp_call.value),
}


class SigilGuardrail(CustomGuardrail):  # type: ignore[misc]
    """A LiteLLM ``CustomGuardrail`` evaluating Sigil's preflight (``pre_call``) and postflight
    (``post_call``) rules with a :class:`~sigil_sdk_litellm.proxy.guard.evaluation.HookGuard`."""

    def __init__(self, *, guard: HookGuard | None = None, **options: Any) -> None:
        options.setdefault("guardrail_name", "sigil")
        options.setdefault("event_hook", [GuardrailEventHooks.pre_call.value, GuardrailEventHooks.post_call.value])
        super().__init__(supported_event_hooks=list(_SUPPORTED), **options)
        if guard is None:  # built by LiteLLM from config.yaml: the SIGIL_* settings say where and how
            from sigil_sdk_litellm.proxy.settings import ConfigError, SettingProblem
            from sigil_sdk_litellm.proxy.settings.loading import load_settings
            from sigil_sdk_litellm.proxy.startup_failure import exit_at_startup

            try:
                settings = load_settings()
                if not settings.enabled:  # nothing but SIGIL_ENABLED is read then: the guard would use defaults
                    raise ConfigError([SettingProblem("SIGIL_ENABLED", _DISABLED)])
            except ConfigError as error:  # one line and the proxy stops, as for the callback
                exit_at_startup(error, None)
            guard = build_guard(settings)
        self.guard = guard

    def __repr__(self) -> str:
        return (
            f"SigilGuardrail(name={self.guardrail_name!r}, event_hook={self.event_hook!r}, "
            f"default_on={self.default_on}, guard={self.guard!r})"
        )

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: str
    ) -> dict[str, Any] | None:
        event = GuardrailEventHooks.pre_mcp_call if call_type == MCP_CALL_TYPE else GuardrailEventHooks.pre_call
        if self.should_run_guardrail(data=data, event_type=event) is not True:
            return None
        return await self._logged(data, event, self.guard.pre_call(data, call_type))

    async def async_post_call_success_hook(self, data: dict[str, Any], user_api_key_dict: Any, response: Any) -> Any:
        if self.should_run_guardrail(data=data, event_type=GuardrailEventHooks.post_call) is not True:
            return response
        return await self._logged(data, GuardrailEventHooks.post_call, self.guard.post_call(data, response))

    async def async_post_mcp_tool_call_hook(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> Any:
        """Postflight of an MCP tool's result (``post_mcp_call``): its text blocks judged, rewritten in place
        by a transform. LiteLLM logs and drops what this hook raises, so a deny (or fail-closed) replaces the
        whole result with the refusal's text instead; LiteLLM marks a rewritten result as a tool error, so the
        MCP client reads an error naming the rule, never the tool's answer."""
        data = _mcp_call_data(kwargs)
        if self.should_run_guardrail(data=data, event_type=GuardrailEventHooks.post_mcp_call) is not True:
            return None
        content = getattr(response_obj, "mcp_tool_call_response", None)
        try:
            changed = await self._logged(
                data, GuardrailEventHooks.post_mcp_call, self.guard.post_mcp_result(data, content)
            )
        except Exception as exc:
            detail = getattr(exc, "detail", None)
            if not isinstance(detail, dict):
                raise
            from mcp.types import TextContent  # litellm[proxy]'s; only a refused tool result needs it

            response_obj.mcp_tool_call_response = [TextContent(type="text", text=f"Error: {detail.get('error')}")]
            return response_obj
        return response_obj if changed else None

    async def async_post_call_streaming_iterator_hook(
        self, user_api_key_dict: Any, response: Any, request_data: dict[str, Any]
    ) -> AsyncGenerator[Any, None]:
        """Postflight of a streamed answer: the chunks are held back until the stream ends, the whole answer
        is evaluated, then the chunks go out (a transform rewrites their text; a deny raises before the first
        chunk, so the client reads the error instead of the answer). Holding back is what makes a stream
        stoppable; it costs the stream its early tokens. (LiteLLM's ``stream_scope: non_streaming`` in the
        guardrail's config lets streams through unjudged instead.) Every model route's stream is judged:
        chat completion chunks, Responses events, ``/v1/messages`` SSE bytes; a stream of anything else
        passes through as it comes."""
        stream = aiter(response)
        if self.should_run_guardrail(data=request_data, event_type=GuardrailEventHooks.post_call) is not True:
            async for chunk in stream:
                yield chunk
            return
        first = await anext(stream, _END)
        if first is _END:
            return
        judge = _stream_judge(self.guard, first)
        if judge is None:  # not a model's answer we know: not judged, so not held back
            yield first
            async for chunk in stream:
                yield chunk
            return
        chunks = [first, *[chunk async for chunk in stream]]
        try:
            judged = await self._logged(request_data, GuardrailEventHooks.post_call, judge(request_data, chunks))
        except StreamRefusal as refusal:
            if not is_event(first):
                raise  # LiteLLM answers it as the route's error (an Anthropic error for /v1/messages)
            # a raise would become a `response.failed` event with no `response.created` before it
            yield error_frame(refusal.status_code, refusal.message, refusal.detail)
            return
        for chunk in judged:
            yield chunk

    async def _logged(self, data: dict[str, Any], event: GuardrailEventHooks, work: Awaitable[T]) -> T:
        """``await work``, then the outcome in LiteLLM's guardrail information of the request (what its own
        loggers, e.g. Langfuse or OTEL, report): the decisions taken, or allow."""
        started = time.time()
        before = len(_decisions(data))
        status = "success"
        try:
            return await work
        except Exception as exc:
            status = (
                "guardrail_intervened"
                if getattr(exc, "status_code", 0) == DENY_STATUS
                else "guardrail_failed_to_respond"
            )
            raise
        finally:
            taken = _decisions(data)[before:]
            if taken and status == "success":
                status = "guardrail_intervened"
            ended = time.time()
            with contextlib.suppress(Exception):  # LiteLLM's bookkeeping must never fail the request
                self.add_standard_logging_guardrail_information_to_request_data(
                    guardrail_json_response=taken or [{"action": "allow"}],
                    request_data=data,
                    guardrail_status=status,
                    start_time=started,
                    end_time=ended,
                    duration=ended - started,
                    guardrail_provider="sigil",
                    event_type=event,
                )


async def _collect(stream: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in stream]


def _stream_judge(guard: HookGuard, first: Any) -> Callable[[dict[str, Any], list[Any]], Awaitable[list[Any]]] | None:
    """How a stream starting with ``first`` is judged: chat chunks, Responses events, Messages SSE bytes."""
    if isinstance(first, ModelResponseStream):
        return lambda data, chunks: _collect(guard.post_call_stream(data, chunks))
    if is_event(first):
        return guard.post_call_events
    if isinstance(first, (bytes, str)):
        return guard.post_call_sse
    return None


def _mcp_call_data(kwargs: Any) -> dict[str, Any]:
    """The request view of a finished MCP tool call (LiteLLM's logging kwargs): the tool's name and
    arguments, the request metadata the guardrail selection reads."""
    data = dict(kwargs) if isinstance(kwargs, dict) else {}
    call = as_dict(data.get("mcp_tool_call_metadata"))
    data.setdefault("mcp_tool_name", call.get("name"))
    data.setdefault("mcp_arguments", call.get("arguments"))
    data.setdefault("metadata", as_dict(as_dict(data.get("litellm_params")).get("metadata")))
    return data


def _decisions(data: dict[str, Any]) -> list[Any]:
    return as_list(as_dict(data.get(metadata_key(data))).get(GUARD_DECISIONS_KEY))


def hooks_guardrail(settings: Settings) -> SigilGuardrail:
    """The guardrail ``SIGIL_HOOKS_ENABLED=true`` registers: on by default for SIGIL_HOOKS_PHASES."""
    phases = [phase for phase in settings.hooks_phases.split(",") if phase]
    return SigilGuardrail(
        guard=build_guard(settings),
        guardrail_name=HOOKS_GUARDRAIL_NAME,
        event_hook=[hook for phase in phases for hook in _PHASE_HOOKS[phase]],
        default_on=True,
    )


def hooks_base_url(settings: Settings) -> str:
    """Where hooks are evaluated, as a URL (the SDK keeps its scheme, host and port).

    SIGIL_HOOKS_ENDPOINT if set, else SIGIL_ENDPOINT. A ``host:port`` is read the way the export reads
    it: ``http://`` for SIGIL_ENDPOINT with ``SIGIL_PROTOCOL=http``, otherwise https, or http with
    SIGIL_INSECURE.
    """
    endpoint = settings.hooks_endpoint or settings.endpoint
    if "://" in endpoint:
        return endpoint
    plaintext = settings.insecure or (not settings.hooks_endpoint and settings.protocol == "http")
    return ("http://" if plaintext else "https://") + endpoint


def build_guard(settings: Settings) -> HookGuard:
    """The guard configured by ``settings`` (``SIGIL_HOOKS_*``, the export's auth and headers)."""
    post_timeout, post_fail_open = settings.hooks_postflight_timeout, settings.hooks_postflight_fail_open
    postflight = PhasePolicy(
        timeout=settings.hooks_timeout if post_timeout is None else post_timeout,
        fail_open=settings.hooks_fail_open if post_fail_open is None else post_fail_open,
        max_concurrency=settings.hooks_postflight_max_concurrency or settings.hooks_max_concurrency,
    )
    return HookGuard(
        api_endpoint=hooks_base_url(settings),
        insecure=settings.insecure,
        headers=auth_headers(settings),  # the export's: hooks authenticate exactly as the export does
        timeout=settings.hooks_timeout,
        fail_open=settings.hooks_fail_open,
        max_concurrency=settings.hooks_max_concurrency,
        postflight=postflight,
        ca_file=str(settings.tls_ca_file) if settings.tls_ca_file is not None else None,
        metrics=metrics.hooks() if (metrics := pipeline_metrics(settings.metrics)) is not None else None,
        defaults=HookDefaults(
            agent_name=settings.agent_name,
            agent_version=settings.agent_version,
            tags=dict(settings.tags),
            agent_name_metadata_keys=settings.agent_name_metadata_keys,
        ),
    )
