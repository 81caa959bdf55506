"""Sigil's hook rules as a LiteLLM guardrail: ``pre_call`` is preflight, ``post_call`` postflight.

Two ways to turn it on (docs/hooks.md):

- ``SIGIL_HOOKS_ENABLED=true``: the bootstrap registers one guardrail named ``sigil-hooks``, on by
  default (``default_on``) for the phases of ``SIGIL_HOOKS_PHASES``;
- ``guardrails:`` in config.yaml, which also allows per-request selection (``default_on: false`` and the
  request's ``guardrails: ["sigil"]``)::

      guardrails:
        - guardrail_name: sigil
          litellm_params:
            guardrail: sigil_sdk_litellm.guardrail.SigilGuardrail
            mode: [pre_call, post_call]
            default_on: false

Where and how rules are evaluated (endpoint, auth, timeouts, fail modes, concurrency per phase) comes
from the ``SIGIL_*`` settings in both cases. Streaming answers: see :meth:`SigilGuardrail.
async_post_call_streaming_iterator_hook`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from litellm.integrations.custom_guardrail import CustomGuardrail
from litellm.types.guardrails import GuardrailEventHooks

from ._guard import HookGuard, build_guard
from .settings import Settings

__all__ = ["HOOKS_GUARDRAIL_NAME", "SigilGuardrail", "hooks_guardrail"]

HOOKS_GUARDRAIL_NAME = "sigil-hooks"
_SUPPORTED = [GuardrailEventHooks.pre_call, GuardrailEventHooks.post_call]
_PHASE_HOOKS = {"preflight": GuardrailEventHooks.pre_call.value, "postflight": GuardrailEventHooks.post_call.value}


class SigilGuardrail(CustomGuardrail):  # type: ignore[misc]
    """A LiteLLM ``CustomGuardrail`` evaluating Sigil's preflight (``pre_call``) and postflight
    (``post_call``) rules with a :class:`~sigil_sdk_litellm._guard.HookGuard`."""

    def __init__(self, *, guard: HookGuard | None = None, **options: Any) -> None:
        options.setdefault("guardrail_name", "sigil")
        options.setdefault("event_hook", [hook.value for hook in _SUPPORTED])
        super().__init__(supported_event_hooks=list(_SUPPORTED), **options)
        if guard is None:  # built by LiteLLM from config.yaml: the SIGIL_* settings say where and how
            from ._factory import load_settings
            from .bootstrap import _exit
            from .settings import ConfigError

            try:
                settings = load_settings()
            except ConfigError as error:  # one line and the proxy stops, as for the callback
                _exit(error, None)
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
        if self.should_run_guardrail(data=data, event_type=GuardrailEventHooks.pre_call) is not True:
            return None
        return await self.guard.pre_call(data, call_type)

    async def async_post_call_success_hook(self, data: dict[str, Any], user_api_key_dict: Any, response: Any) -> Any:
        if self.should_run_guardrail(data=data, event_type=GuardrailEventHooks.post_call) is not True:
            return response
        return await self.guard.post_call(data, response)

    async def async_post_call_streaming_iterator_hook(
        self, user_api_key_dict: Any, response: Any, request_data: dict[str, Any]
    ) -> AsyncGenerator[Any, None]:
        """Postflight of a streamed answer: the chunks are held back until the stream ends, the whole answer
        is evaluated, then the chunks go out (a transform rewrites their text; a deny raises before the first
        chunk, so the client reads the error instead of the answer). Holding back is what makes a stream
        stoppable; it costs the stream its early tokens. (LiteLLM's ``stream_scope: non_streaming`` in the
        guardrail's config lets streams through unjudged instead.)"""
        if self.should_run_guardrail(data=request_data, event_type=GuardrailEventHooks.post_call) is not True:
            async for chunk in response:
                yield chunk
            return
        chunks = [chunk async for chunk in response]
        async for chunk in self.guard.post_call_stream(request_data, chunks):
            yield chunk


def hooks_guardrail(settings: Settings) -> SigilGuardrail:
    """The guardrail ``SIGIL_HOOKS_ENABLED=true`` registers: on by default for SIGIL_HOOKS_PHASES."""
    phases = [phase for phase in settings.hooks_phases.split(",") if phase]
    return SigilGuardrail(
        guard=build_guard(settings),
        guardrail_name=HOOKS_GUARDRAIL_NAME,
        event_hook=[_PHASE_HOOKS[phase] for phase in phases],
        default_on=True,
    )
