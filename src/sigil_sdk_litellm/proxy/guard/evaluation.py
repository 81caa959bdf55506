"""Sigil hooks at the gateway: the evaluation behind :class:`~sigil_sdk_litellm.proxy.guardrail.SigilGuardrail`.

:class:`HookGuard` judges a chat request before the model is called (preflight: deny, or transform the
messages) and the model's answer before the client gets it (postflight: deny, or transform the text).
Evaluations are blocking urllib I/O (the SDK's ``evaluate_hook`` for preflight, :mod:`.postflight_client`
for postflight): they run in a bounded thread pool per phase, never on the event loop, and the wait
(queueing for a thread included) is bounded by the phase's timeout. Every failure is seen here:
fail-open lets the request or answer through and logs once per interval (``sigil:`` prefix,
:class:`ProblemLog`); fail-closed answers 503. Decisions (deny, transform) are noted in the request's
metadata (:func:`record_decision`) so the recorded generation carries them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sigil_sdk.config import HooksConfig
from sigil_sdk.errors import HookTransportError
from sigil_sdk.hooks import HookEvaluateRequest, HookEvaluateResponse
from sigil_sdk.hooks import evaluate_hook as sdk_evaluate_hook

from sigil_sdk_litellm.mapping.coerce import as_dict
from sigil_sdk_litellm.mapping.event import CALL_TYPES
from sigil_sdk_litellm.mapping.metadata import GUARD_DECISIONS_KEY
from sigil_sdk_litellm.problem_log import ProblemLog
from sigil_sdk_litellm.proxy.guard import mcp_tools, messages_api, prompts, responses_api
from sigil_sdk_litellm.proxy.guard.answers import assembled_answer, response_body, rewrite_answer_stream
from sigil_sdk_litellm.proxy.guard.postflight_client import PostflightAnswer, evaluate_postflight
from sigil_sdk_litellm.proxy.guard.requests import (
    HookDefaults,
    answer_output,
    apply_output_transform,
    apply_transform,
    deny_message,
    postflight_request,
    preflight_request,
)
from sigil_sdk_litellm.proxy.guard.route_text import RouteMapped, postflight_of
from sigil_sdk_litellm.proxy.metrics import HookMetrics
from sigil_sdk_litellm.proxy.tls import tls_context

__all__ = [
    "DENY_STATUS",
    "JUDGED_CALL_TYPES",
    "UNAVAILABLE_STATUS",
    "HookGuard",
    "PhasePolicy",
    "StreamRefusal",
    "record_decision",
]

logger = logging.getLogger("sigil_sdk_litellm.hooks")

DENY_STATUS = 400  # what LiteLLM's own guardrails answer, and OpenAI for a content-policy refusal
UNAVAILABLE_STATUS = 503
UNAVAILABLE_KEY = "hooks-unavailable"
UNPLACED_KEY = "hooks-transform-unplaced"
_MAX_DETAIL = 300
Evaluate = Callable[[HookEvaluateRequest], HookEvaluateResponse]
EvaluatePostflight = Callable[[HookEvaluateRequest], PostflightAnswer]
T = TypeVar("T")


class _Failed:
    """A step of :meth:`HookGuard._attempt` that failed (and was reported)."""


_FAILED = _Failed()


# The call types the hooks judge, by the request shape their preflight reads: every model route recorded
# (mapping.event.CALL_TYPES, embeddings aside), and image generations (judged, not recorded).
JUDGED_CALL_TYPES: Mapping[str, str] = {
    **{
        name: "prompt" if family == "text_completion" else family
        for name, family in CALL_TYPES.items()
        if family != "embedding"
    },
    "image_generation": "prompt",
    "aimage_generation": "prompt",
}


def metadata_key(data: Mapping[str, Any]) -> str:
    """Where the proxy keeps a request's metadata: ``litellm_metadata`` on the routes whose API has a
    ``metadata`` parameter of its own (Responses, Messages), which goes to the provider; else ``metadata``."""
    return "litellm_metadata" if isinstance(data.get("litellm_metadata"), dict) else "metadata"


def record_decision(data: dict[str, Any], phase: str, action: str, rule_id: str) -> None:
    """Note a deny or transform in the request's metadata (:func:`metadata_key`, what LiteLLM logs): the
    mapping copies the decisions into the recorded generation's metadata (``sigil.guard.decisions``)."""
    key = metadata_key(data)
    metadata = data.get(key)
    if not isinstance(metadata, dict):
        metadata = data[key] = {} if metadata is None else metadata
    if not isinstance(metadata, dict):
        return
    decisions = metadata.setdefault(GUARD_DECISIONS_KEY, [])
    if isinstance(decisions, list):
        decisions.append({"phase": phase, "action": action, "rule_id": rule_id})


@dataclass(frozen=True)
class PhasePolicy:
    """How one phase is evaluated: its timeout, fail mode and evaluations in flight (a thread pool)."""

    timeout: float = 2.0
    fail_open: bool = True
    max_concurrency: int = 32


# The variables named in log lines and errors, per phase.
_VARIABLES = {
    "preflight": ("SIGIL_HOOKS_TIMEOUT", "SIGIL_HOOKS_FAIL_OPEN"),
    "postflight": ("SIGIL_HOOKS_POSTFLIGHT_TIMEOUT", "SIGIL_HOOKS_POSTFLIGHT_FAIL_OPEN"),
}


class HookGuard:
    """Evaluates the preflight rules of a request and the postflight rules of its answer; what the
    guardrail's hooks delegate to. Each phase has its own :class:`PhasePolicy` and thread pool."""

    def __init__(
        self,
        *,
        api_endpoint: str,
        insecure: bool = False,
        headers: Mapping[str, str] | None = None,
        timeout: float = 2.0,
        fail_open: bool = True,
        max_concurrency: int = 32,
        postflight: PhasePolicy | None = None,
        defaults: HookDefaults | None = None,
        evaluate: Evaluate | None = None,
        evaluate_postflight: EvaluatePostflight | None = None,
        problems: ProblemLog | None = None,
        ca_file: str | None = None,
        metrics: HookMetrics | None = None,
    ) -> None:
        self.api_endpoint = api_endpoint
        self.metrics = metrics
        # SIGIL_TLS_CA_FILE: the SDK's evaluate_hook cannot take a CA, so with one both phases use our client
        self._tls = tls_context(ca_file) if ca_file else None
        self.insecure = insecure
        self.policies = {
            "preflight": PhasePolicy(timeout, fail_open, max_concurrency),
            "postflight": postflight or PhasePolicy(timeout, fail_open, max_concurrency),
        }
        self.defaults = defaults or HookDefaults()
        self.problems = problems or ProblemLog()
        self._headers = dict(headers or {})  # credentials: never shown (see __repr__)
        self._config = HooksConfig(enabled=True, phases=["preflight"], timeout_seconds=timeout, fail_open=False)
        self._evaluate: Evaluate = evaluate or self._evaluate_with_sdk
        self._evaluate_postflight: EvaluatePostflight = evaluate_postflight or self._evaluate_postflight_over_http
        self._executors = {
            phase: ThreadPoolExecutor(max_workers=policy.max_concurrency, thread_name_prefix=f"sigil-{phase}")
            for phase, policy in self.policies.items()
        }

    @property
    def timeout(self) -> float:
        return self.policies["preflight"].timeout

    @property
    def fail_open(self) -> bool:
        return self.policies["preflight"].fail_open

    def __repr__(self) -> str:
        post = self.policies["postflight"]
        return (
            f"HookGuard(api_endpoint={self.api_endpoint!r}, timeout={self.timeout:g}, fail_open={self.fail_open}, "
            f"postflight_timeout={post.timeout:g}, postflight_fail_open={post.fail_open}, "
            f"headers=[{', '.join(sorted(self._headers))}])"
        )

    def _evaluate_with_sdk(self, request: HookEvaluateRequest) -> HookEvaluateResponse:
        if self._tls is not None:
            return evaluate_postflight(
                base_url=self.api_endpoint,
                headers=self._headers,
                timeout=self.timeout,
                request=request,
                context=self._tls,
            ).response
        return sdk_evaluate_hook(
            api_endpoint=self.api_endpoint,
            insecure=self.insecure,
            extra_headers=self._headers,
            hooks=self._config,
            request=request,
        )

    def _evaluate_postflight_over_http(self, request: HookEvaluateRequest) -> PostflightAnswer:
        return evaluate_postflight(
            base_url=self.api_endpoint,
            headers=self._headers,
            timeout=self.policies["postflight"].timeout,
            request=request,
            context=self._tls,
        )

    async def _run(self, phase: str, call: Callable[[HookEvaluateRequest], Any], request: HookEvaluateRequest) -> Any:
        """``call(request)`` in the phase's pool within its timeout; None (fail-open) or an HTTPException
        (fail-closed) when it cannot answer."""
        policy = self.policies[phase]
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        too_late = f"no answer within {_VARIABLES[phase][0]}={policy.timeout:g}s"
        try:
            return await asyncio.wait_for(loop.run_in_executor(self._executors[phase], call, request), policy.timeout)
        except asyncio.TimeoutError:
            self._unavailable(too_late, phase)
        except HookTransportError as exc:
            # the HTTP client's own timeout is the phase's too: whichever timer fires first, one message
            late = time.perf_counter() - started >= policy.timeout
            self._unavailable(too_late if late else str(exc).removeprefix("sigil hook evaluation failed: "), phase)
        except Exception as exc:  # noqa: BLE001 - a bug or an odd answer must not take the request down silently
            self._unavailable(f"{type(exc).__name__}: {exc}", phase)
        finally:
            if self.metrics is not None:
                self.metrics.duration[phase].observe(time.perf_counter() - started)
        return None

    def _preflight_steps(self, call_type: str) -> tuple[Callable[..., Any], Callable[..., Any]] | None:
        """How a call type's request is mapped and a transform applied (None: not judged). The chat steps
        are looked up when called (tests replace them)."""
        kind = JUDGED_CALL_TYPES.get(call_type)
        if kind == "chat":
            return preflight_request, apply_transform
        route = _PREFLIGHT_ROUTES.get(kind or "")
        return (route.preflight, route.apply_transform) if route is not None else None

    async def pre_call(self, data: dict[str, Any], call_type: str) -> dict[str, Any] | None:
        """None to let ``data`` through unchanged, the transformed ``data``, or an HTTPException."""
        steps = self._preflight_steps(call_type)
        if steps is None or not isinstance(data, dict):
            return None
        mapper, applier = steps
        mapped = self._attempt("preflight", "cannot map the request", lambda: mapper(data, self.defaults))
        if mapped is None or isinstance(mapped, _Failed):
            return None
        response = await self._run("preflight", self._evaluate, mapped.request)
        if response is None:
            return None
        if response.is_deny or response.transformed_input is None:
            self._count("preflight", "deny" if response.is_deny else "allow")
        if response.is_deny:
            record_decision(data, "preflight", "deny", response.rule_id)
            raise _http_error(
                DENY_STATUS,
                deny_message(response),
                "sigil_hook_denied",
                rule_id=response.rule_id,
                reason=response.reason,
            )
        if (transformed := response.transformed_input) is not None:
            changed = self._attempt(
                "preflight", "cannot apply the transformed input", lambda: applier(data, mapped, transformed)
            )
            if isinstance(changed, _Failed):
                return None
            self._count("preflight", "transform")
            record_decision(changed, "preflight", "transform", _transforming_rule(response))
            return cast(dict[str, Any], changed)
        return None

    async def _judge_answer(
        self, data: dict[str, Any], body: Mapping[str, Any], route: Any = None
    ) -> PostflightAnswer | None:
        """The postflight answer for ``body`` (the model's answer as a dict; of ``route``'s API, chat when
        None), None when there is nothing to do (no output, or unavailable and fail-open); raises on deny
        (or unavailable and fail-closed)."""
        request = self._attempt(
            "postflight",
            "cannot map the response",
            lambda: (
                postflight_request(data, body, self.defaults)
                if route is None
                else self._route_postflight(data, body, route)
            ),
        )
        if request is None or isinstance(request, _Failed):
            return None
        answer: PostflightAnswer | None = await self._run("postflight", self._evaluate_postflight, request)
        if answer is not None and (answer.response.is_deny or answer.output is None):
            self._count("postflight", "deny" if answer.response.is_deny else "allow")
        if answer is not None and answer.response.is_deny:
            record_decision(data, "postflight", "deny", answer.response.rule_id)
            raise _http_error(
                DENY_STATUS,
                deny_message(answer.response),
                "sigil_hook_denied",
                rule_id=answer.response.rule_id,
                reason=answer.response.reason,
                phase="postflight",
            )
        return answer

    async def post_call(self, data: dict[str, Any], response: Any) -> Any:
        """Postflight: the model's answer judged before the client gets it. Returns ``response`` (its text
        rewritten in place by a transform) or raises an HTTPException (deny; fail-closed when unavailable)."""
        route = _answer_route(response)
        if route is not None:
            return await self._post_call_route(data, response, route)
        body = self._attempt("postflight", "cannot read the response", lambda: response_body(response))
        if isinstance(body, _Failed):
            return response
        answer = await self._judge_answer(data, body)
        if answer is None or (output := answer.output) is None:
            return response
        placed = self._attempt(
            "postflight",
            "cannot apply the transformed output",
            lambda: apply_output_transform(response, output, [position for position, _ in answer_output(body)]),
        )
        self._placed(data, answer, placed)
        return response

    async def post_call_stream(self, data: dict[str, Any], chunks: list[Any]) -> AsyncIterator[Any]:
        """Postflight of a whole stream (``chunks``, held back by the caller): assembled into one answer by
        LiteLLM's ``stream_chunk_builder`` and judged as :meth:`post_call` judges it (text and tool calls);
        the chunks to send, their text rewritten by a transform; a deny (or fail-closed) raises before the
        first one."""
        body = self._attempt("postflight", "cannot read the streamed answer", lambda: assembled_answer(chunks))
        if isinstance(body, _Failed):
            body = {}
        answer = await self._judge_answer(data, body) if body else None
        if answer is not None and (output := answer.output) is not None:
            done = self._attempt(
                "postflight", "cannot apply the transformed output", lambda: rewrite_answer_stream(chunks, body, output)
            )
            if not isinstance(done, _Failed):
                texts, rewritten = done
                self._count("postflight", "transform")
                if len(texts) > len(rewritten):
                    self._unplaced(len(texts) - len(rewritten))
                if rewritten:
                    record_decision(data, "postflight", "transform", _transforming_rule(answer.response))
        for chunk in chunks:
            yield chunk

    def _placed(self, data: dict[str, Any], answer: PostflightAnswer, placed: Any) -> None:
        """Count a postflight transform applied to a response (``placed``: changed, unplaced; or failed)."""
        if isinstance(placed, _Failed):
            return
        changed, unplaced = placed
        self._count("postflight", "transform")
        if unplaced:
            self._unplaced(unplaced)
        if changed:
            record_decision(data, "postflight", "transform", _transforming_rule(answer.response))

    def _route_postflight(self, data: dict[str, Any], body: Mapping[str, Any], route: Any) -> Any:
        mapped: RouteMapped | None = route.preflight(data, self.defaults)
        return postflight_of(data, self.defaults, mapped, [message for _, message in route.answer_output(body)])

    async def _post_call_route(self, data: dict[str, Any], response: Any, route: Any) -> Any:
        """Postflight of a Responses object or an Anthropic message, as :meth:`post_call` judges chat."""
        body = self._attempt("postflight", "cannot read the response", lambda: as_dict(response))
        if isinstance(body, _Failed):
            return response
        answer = await self._judge_answer(data, body, route)
        if answer is None or (output := answer.output) is None:
            return response
        positions = [position for position, _ in route.answer_output(body)]
        placed = self._attempt(
            "postflight",
            "cannot apply the transformed output",
            lambda: route.apply_output_transform(response, output, positions),
        )
        self._placed(data, answer, placed)
        return response

    async def post_call_events(self, data: dict[str, Any], events: list[Any]) -> list[Any]:
        """Postflight of a held-back Responses event stream: the events to send (a transform rewrites their
        text); a deny (or fail-closed) raises :class:`StreamRefusal`, which LiteLLM answers as a Responses
        error before the first event."""
        body = self._attempt(
            "postflight", "cannot read the streamed answer", lambda: responses_api.stream_answer(events)
        )
        if isinstance(body, _Failed) or not body:
            return events
        answer = await _refusing(self._judge_answer(data, body, responses_api))
        if answer is not None and (output := answer.output) is not None:
            texts = responses_api.changed_texts(body, output)
            self._apply_stream_texts(data, answer, texts, lambda: responses_api.rewrite_events(events, texts))
        return events

    async def post_call_sse(self, data: dict[str, Any], chunks: list[Any]) -> list[Any]:
        """Postflight of a held-back ``/v1/messages`` stream (SSE bytes): the chunks to send (the events,
        a transform's text in their deltas); a deny (or fail-closed) raises :class:`StreamRefusal`, which
        LiteLLM answers with an Anthropic error before the first byte."""
        events = self._attempt(
            "postflight", "cannot read the streamed answer", lambda: messages_api.parse_stream(chunks)
        )
        if isinstance(events, _Failed) or not events:
            return chunks
        body = messages_api.stream_answer(events)
        answer = await _refusing(self._judge_answer(data, body, messages_api))
        if answer is None or (output := answer.output) is None:
            return chunks
        texts = messages_api.changed_block_texts(body, output)
        done = self._apply_stream_texts(data, answer, texts, lambda: messages_api.rewrite_stream(events, texts))
        return [event.encode() for event in events] if done else chunks

    async def post_mcp_result(self, data: Mapping[str, Any], content: Any) -> bool:
        """Postflight of an MCP tool's result (its content blocks, rewritten in place by a transform):
        judged with the call's name and arguments as its input. Returns whether the text changed; raises
        on deny (or unavailable and fail-closed)."""
        output = mcp_tools.result_output(content)
        if not output:
            return False
        request = self._attempt(
            "postflight",
            "cannot map the tool result",
            lambda: postflight_of(data, self.defaults, mcp_tools.preflight(data, self.defaults), output),
        )
        if request is None or isinstance(request, _Failed):
            return False
        answer: PostflightAnswer | None = await self._run("postflight", self._evaluate_postflight, request)
        if answer is not None and (answer.response.is_deny or answer.output is None):
            self._count("postflight", "deny" if answer.response.is_deny else "allow")
        if answer is None:
            return False
        if answer.response.is_deny:
            raise _http_error(
                DENY_STATUS,
                deny_message(answer.response),
                "sigil_hook_denied",
                rule_id=answer.response.rule_id,
                reason=answer.response.reason,
                phase="postflight",
            )
        if (transformed := answer.output) is None:
            return False
        changed = self._attempt(
            "postflight", "cannot apply the transformed output", lambda: mcp_tools.rewrite_result(content, transformed)
        )
        if isinstance(changed, _Failed):
            return False
        self._count("postflight", "transform")
        return changed

    def _apply_stream_texts(
        self, data: dict[str, Any], answer: PostflightAnswer, texts: Mapping[int, str], rewrite: Callable[[], set[int]]
    ) -> bool:
        """Rewrite a held-back stream with a transform's ``texts``; counts and notes it as chat streams do."""
        rewritten = self._attempt("postflight", "cannot apply the transformed output", rewrite)
        if isinstance(rewritten, _Failed):
            return False
        self._count("postflight", "transform")
        if len(texts) > len(rewritten):
            self._unplaced(len(texts) - len(rewritten))
        if rewritten:
            record_decision(data, "postflight", "transform", _transforming_rule(answer.response))
        return bool(rewritten)

    def _count(self, phase: str, outcome: str) -> None:
        """One evaluation's outcome; a transform only once it is applied (else it counts as a failure)."""
        if self.metrics is not None:
            self.metrics.count(phase, outcome)

    def _unplaced(self, count: int) -> None:
        self.problems.report(
            UNPLACED_KEY,
            f"postflight transform not applied to {count} choice(s): the answer has no text there to replace, "
            "so that choice goes out as the model wrote it",
        )

    def _attempt(self, phase: str, what: str, step: Callable[[], T]) -> T | _Failed:
        """``step()`` (mapping or rewriting a payload), or :data:`_FAILED` once its error was handled as an
        unavailable evaluation (:meth:`_unavailable`): an odd payload never raises into LiteLLM."""
        try:
            return step()
        except Exception as exc:  # noqa: BLE001 - a payload the mapping does not expect
            self._unavailable(f"{what} ({type(exc).__name__}: {exc})", phase)
            return _FAILED

    def _unavailable(self, detail: str, phase: str = "preflight") -> None:
        """Fail open (log, once per interval, and let the request or answer through) or closed (503)."""
        detail = " ".join(detail.split())
        if len(detail) > _MAX_DETAIL:  # an error page quoted by the SDK, say
            detail = detail[: _MAX_DETAIL - 1] + "…"
        variable = _VARIABLES[phase][1]
        key = UNAVAILABLE_KEY if phase == "preflight" else f"{UNAVAILABLE_KEY}-{phase}"
        what = "request" if phase == "preflight" else "answer"
        where = "" if phase == "preflight" else " (postflight)"
        self._count(phase, "fail_open" if self.policies[phase].fail_open else "fail_closed")
        if self.policies[phase].fail_open:
            self.problems.report(
                key,
                f"hook evaluation failed{where}, {what} let through ({variable}=true): {detail}",
            )
            return None
        self.problems.report(key, f"hook evaluation failed{where}, {what} refused with 503: {detail}")
        if phase == "preflight":
            message = (
                "sigil hooks unavailable: the request was not evaluated against Sigil's guard rules and is refused "
                "(SIGIL_HOOKS_FAIL_OPEN=false)"
            )
        else:
            message = (
                "sigil hooks unavailable: the model's answer was not evaluated against Sigil's guard rules and is "
                "withheld (SIGIL_HOOKS_POSTFLIGHT_FAIL_OPEN=false)"
            )
        raise _http_error(UNAVAILABLE_STATUS, message, "sigil_hooks_unavailable")

    def close(self) -> None:
        for executor in self._executors.values():
            executor.shutdown(wait=False, cancel_futures=True)


# the request shapes with a guard module of their own (chat is requests.py)
_PREFLIGHT_ROUTES: Mapping[str, Any] = {
    "prompt": prompts,
    "responses": responses_api,
    "anthropic_messages": messages_api,
    "mcp": mcp_tools,
}


def _answer_route(response: Any) -> Any:
    """The guard module of an answer that is not a chat completion: a Responses object, an Anthropic
    message (a dict, as LiteLLM hands it over); None for chat and text completions."""
    kind = response.get("type") if isinstance(response, dict) else None
    if kind == "message" and "content" in response:
        return messages_api
    obj = response.get("object") if isinstance(response, dict) else getattr(response, "object", None)
    return responses_api if obj == "response" else None


class StreamRefusal(Exception):
    """A held-back Responses or Messages stream refused (deny, or fail-closed). Not an HTTPException:
    LiteLLM re-raises those from inside a stream, but turns any other error with a ``status_code`` into
    the route's own error (an Anthropic error for ``/v1/messages``, an OpenAI error object for
    ``/v1/responses``), answered before the first byte since the stream was held back."""

    def __init__(self, status_code: int, message: str, detail: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.detail = dict(detail)


async def _refusing(work: Awaitable[T]) -> T:
    """``await work``, an HTTPException (deny, fail-closed) turned into a :class:`StreamRefusal`."""
    try:
        return await work
    except Exception as exc:
        detail = getattr(exc, "detail", None)
        status = getattr(exc, "status_code", None)
        if isinstance(detail, dict) and isinstance(status, int):
            raise StreamRefusal(status, str(detail.get("error", "")), detail) from None
        raise


def _transforming_rule(response: HookEvaluateResponse) -> str:
    """The first rule that passed with an explanation (the one that rewrote the text), if the answer says."""
    for evaluation in response.evaluations:
        if evaluation.passed and evaluation.explanation:
            return evaluation.rule_id
    return response.rule_id


def _http_error(status: int, message: str, code: str, **fields: str) -> Exception:
    """What the client gets, through LiteLLM's error handling: an OpenAI-style error whose ``message`` is
    ``message``; the whole detail (``code``, and for a deny ``rule_id`` and ``reason``) is kept in its
    ``provider_specific_fields``."""
    from fastapi import HTTPException  # the proxy's; imported only when a request is refused

    error = HTTPException(status_code=status, detail={"error": message, "code": code, **fields})
    return error
