"""Sigil hooks at the gateway: the proxy's pre-call hook evaluates Sigil's preflight rules.

Only built when ``SIGIL_HOOKS_ENABLED=true``. Then the proxy's callback is one of the ``Guarded*``
classes below, the only ones that define ``async_pre_call_hook``: LiteLLM's proxy looks the hook
up on the callback's own class and skips its pre-call walk when no callback defines one, so with
hooks off nothing at all is added to the request path.

The SDK's evaluation (``sigil_sdk.hooks.evaluate_hook``, what ``Client.evaluate_hook`` calls) is
blocking urllib I/O: it runs in a bounded thread pool, never on the event loop, and the wait for it
(queueing for a thread included) is bounded by ``SIGIL_HOOKS_TIMEOUT``. The SDK is always called
fail-closed so that every failure is seen here: fail-open lets the request through and logs once
per interval (``sigil:`` prefix, :class:`ProblemLog`); fail-closed answers 503.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sigil_sdk.config import HooksConfig
from sigil_sdk.errors import HookTransportError
from sigil_sdk.hooks import HookEvaluateRequest, HookEvaluateResponse
from sigil_sdk.hooks import evaluate_hook as sdk_evaluate_hook

from ._factory import auth_headers
from ._hooks import CHAT_CALL_TYPES, HookDefaults, apply_transform, deny_message, preflight_request
from ._problems import ProblemLog
from .handler import SigilLiteLLMLogger
from .offload import OffloadingSigilLogger, RecorderLink
from .settings import Settings

__all__ = [
    "DENY_STATUS",
    "UNAVAILABLE_STATUS",
    "GuardedOffloadingSigilLogger",
    "GuardedSigilLiteLLMLogger",
    "HookGuard",
    "build_guard",
    "guarded",
]

logger = logging.getLogger("sigil_sdk_litellm.hooks")

DENY_STATUS = 400  # what LiteLLM's own guardrails answer, and OpenAI for a content-policy refusal
UNAVAILABLE_STATUS = 503
UNAVAILABLE_KEY = "hooks-unavailable"
_MAX_DETAIL = 300
Evaluate = Callable[[HookEvaluateRequest], HookEvaluateResponse]


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


def export_headers(settings: Settings) -> dict[str, str]:
    """The headers of an export (SIGIL_HEADERS plus the auth mode's): the exporter's own, so hooks
    authenticate exactly as the export does."""
    return auth_headers(settings)


class HookGuard:
    """Evaluates the preflight rules of one request; what the pre-call hook delegates to."""

    def __init__(
        self,
        *,
        api_endpoint: str,
        insecure: bool = False,
        headers: Mapping[str, str] | None = None,
        timeout: float = 2.0,
        fail_open: bool = True,
        max_concurrency: int = 32,
        defaults: HookDefaults | None = None,
        evaluate: Evaluate | None = None,
        problems: ProblemLog | None = None,
    ) -> None:
        self.api_endpoint = api_endpoint
        self.insecure = insecure
        self.timeout = timeout
        self.fail_open = fail_open
        self.defaults = defaults or HookDefaults()
        self.problems = problems or ProblemLog()
        self._headers = dict(headers or {})  # credentials: never shown (see __repr__)
        self._config = HooksConfig(enabled=True, phases=["preflight"], timeout_seconds=timeout, fail_open=False)
        self._evaluate: Evaluate = evaluate or self._evaluate_with_sdk
        self._executor = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="sigil-hooks")

    def __repr__(self) -> str:
        return (
            f"HookGuard(api_endpoint={self.api_endpoint!r}, timeout={self.timeout:g}, fail_open={self.fail_open}, "
            f"headers=[{', '.join(sorted(self._headers))}])"
        )

    def _evaluate_with_sdk(self, request: HookEvaluateRequest) -> HookEvaluateResponse:
        return sdk_evaluate_hook(
            api_endpoint=self.api_endpoint,
            insecure=self.insecure,
            extra_headers=self._headers,
            hooks=self._config,
            request=request,
        )

    async def pre_call(self, data: dict[str, Any], call_type: str) -> dict[str, Any] | None:
        """None to let ``data`` through unchanged, the transformed ``data``, or an HTTPException."""
        if call_type not in CHAT_CALL_TYPES or not isinstance(data, dict):
            return None
        try:
            mapped = preflight_request(data, self.defaults)
        except Exception as exc:  # noqa: BLE001 - an odd request the mapping does not expect
            self._unavailable(f"cannot map the request ({type(exc).__name__}: {exc})")
            return None
        if mapped is None:
            return None
        loop = asyncio.get_running_loop()
        try:
            response = await asyncio.wait_for(
                loop.run_in_executor(self._executor, self._evaluate, mapped.request), self.timeout
            )
        except asyncio.TimeoutError:
            self._unavailable(f"no answer within SIGIL_HOOKS_TIMEOUT={self.timeout:g}s")
            return None
        except HookTransportError as exc:
            self._unavailable(str(exc).removeprefix("sigil hook evaluation failed: "))
            return None
        except Exception as exc:  # noqa: BLE001 - a bug or an odd answer must not take the request down silently
            self._unavailable(f"{type(exc).__name__}: {exc}")
            return None
        if response.is_deny:
            raise _http_error(
                DENY_STATUS,
                deny_message(response),
                "sigil_hook_denied",
                rule_id=response.rule_id,
                reason=response.reason,
            )
        if response.transformed_input is not None:
            try:
                return apply_transform(data, mapped, response.transformed_input)
            except Exception as exc:  # noqa: BLE001 - the transformed input could not be put back
                self._unavailable(f"cannot apply the transformed input ({type(exc).__name__}: {exc})")
        return None

    def _unavailable(self, detail: str) -> None:
        """Fail open (log, once per interval, and let the request through) or closed (503)."""
        detail = " ".join(detail.split())
        if len(detail) > _MAX_DETAIL:  # an error page quoted by the SDK, say
            detail = detail[: _MAX_DETAIL - 1] + "…"
        if self.fail_open:
            self.problems.report(
                UNAVAILABLE_KEY,
                f"hook evaluation failed, request let through (SIGIL_HOOKS_FAIL_OPEN=true): {detail}",
            )
            return None
        self.problems.report(UNAVAILABLE_KEY, f"hook evaluation failed, request refused with 503: {detail}")
        raise _http_error(
            UNAVAILABLE_STATUS,
            "sigil hooks unavailable: the request was not evaluated against Sigil's guard rules and is refused "
            "(SIGIL_HOOKS_FAIL_OPEN=false)",
            "sigil_hooks_unavailable",
        )

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _http_error(status: int, message: str, code: str, **fields: str) -> Exception:
    """What the client gets, through LiteLLM's error handling: an OpenAI-style error whose ``message`` is
    ``message``; the whole detail (``code``, and for a deny ``rule_id`` and ``reason``) is kept in its
    ``provider_specific_fields``."""
    from fastapi import HTTPException  # the proxy's; imported only when a request is refused

    error = HTTPException(status_code=status, detail={"error": message, "code": code, **fields})
    return error


def build_guard(settings: Settings) -> HookGuard:
    """The guard configured by ``settings`` (``SIGIL_HOOKS_*``, the export's auth and headers)."""
    return HookGuard(
        api_endpoint=hooks_base_url(settings),
        insecure=settings.insecure,
        headers=export_headers(settings),
        timeout=settings.hooks_timeout,
        fail_open=settings.hooks_fail_open,
        max_concurrency=settings.hooks_max_concurrency,
        defaults=HookDefaults(
            agent_name=settings.agent_name, agent_version=settings.agent_version, tags=dict(settings.tags)
        ),
    )


# The callbacks with the hook. LiteLLM checks for ``async_pre_call_hook`` in the callback's own class
# (``vars(type(callback))``), so each class defines it itself rather than inheriting it from a mixin.
# (A refusal reaches both failure hooks; the base classes record a call's failure once.)


class GuardedOffloadingSigilLogger(OffloadingSigilLogger):
    """:class:`OffloadingSigilLogger` (``SIGIL_RECORDER=process``) plus Sigil's preflight hooks."""

    def __init__(self, *, link: RecorderLink, guard: HookGuard) -> None:
        super().__init__(link=link)
        self.guard = guard

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: str
    ) -> dict[str, Any] | None:
        return await self.guard.pre_call(data, call_type)


class GuardedSigilLiteLLMLogger(SigilLiteLLMLogger):
    """:class:`SigilLiteLLMLogger` (``SIGIL_RECORDER=inprocess``) plus Sigil's preflight hooks."""

    def __init__(self, *, guard: HookGuard, **options: Any) -> None:
        super().__init__(**options)
        self.guard = guard

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: str
    ) -> dict[str, Any] | None:
        return await self.guard.pre_call(data, call_type)


def guarded(handler: Any, guard: HookGuard) -> GuardedOffloadingSigilLogger | GuardedSigilLiteLLMLogger:
    """The counterpart of ``handler`` (the bootstrap's callback) that evaluates hooks with ``guard``."""
    if isinstance(handler, OffloadingSigilLogger):
        return GuardedOffloadingSigilLogger(link=handler.link, guard=guard)
    if isinstance(handler, SigilLiteLLMLogger):
        o = handler.options
        return GuardedSigilLiteLLMLogger(
            client=handler.client,
            guard=guard,
            capture_inputs=o.capture_inputs,
            capture_outputs=o.capture_outputs,
            agent_name=o.agent_name,
            agent_version=o.agent_version,
            conversation_id=o.conversation_id,
            extra_tags=dict(o.extra_tags),
            extra_metadata=dict(o.extra_metadata),
        )
    raise TypeError(f"no hooks for a {type(handler).__name__}")
