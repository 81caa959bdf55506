"""The guard (proxy/guard/evaluation.py) behind the Sigil guardrail: preflight allow / deny / transform, timeouts and
failures in both fail modes, the event loop never blocked, nothing on the request path with hooks off,
no secret shown. (Postflight: tests/unit/proxy/guard/test_postflight.py.)"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import litellm
import pytest
from fastapi import HTTPException
from litellm.proxy.utils import ProxyLogging
from prometheus_client import CollectorRegistry
from sigil_sdk.errors import HookTransportError
from sigil_sdk.hooks import HookEvaluateRequest, HookEvaluateResponse, HookInput
from sigil_sdk.models import Message, MessageRole, Part, PartKind

from sigil_sdk_litellm.handler import SigilLiteLLMLogger
from sigil_sdk_litellm.problem_log import ProblemLog
from sigil_sdk_litellm.proxy.bootstrap import SigilDisabledLogger, build_handler, register_hooks_guardrail
from sigil_sdk_litellm.proxy.builders import auth_headers
from sigil_sdk_litellm.proxy.guard.evaluation import HookGuard
from sigil_sdk_litellm.proxy.guardrail import SigilGuardrail, build_guard, hooks_base_url
from sigil_sdk_litellm.proxy.metrics import PipelineMetrics
from sigil_sdk_litellm.proxy.offload.callback import OffloadingSigilLogger
from sigil_sdk_litellm.proxy.settings import Settings
from tests.support import capturing_client, hook_counts

TOKEN = "hooks-secret-token-9f8e7d"
DATA = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello 1234"}]}


def guard(evaluate: Any, **options: Any) -> HookGuard:
    return HookGuard(api_endpoint="http://sigil.invalid", evaluate=evaluate, problems=ProblemLog(), **options)


def allow(request: HookEvaluateRequest) -> HookEvaluateResponse:
    return HookEvaluateResponse(action="allow")


async def test_allow_lets_the_request_through_unchanged() -> None:
    seen: list[HookEvaluateRequest] = []

    def evaluate(request: HookEvaluateRequest) -> HookEvaluateResponse:
        seen.append(request)
        return allow(request)

    assert await guard(evaluate).pre_call(dict(DATA), "acompletion") is None
    [request] = seen
    assert request.phase == "preflight" and request.input.messages[0].parts[0].text == "hello 1234"


async def test_deny_is_a_400_with_rule_and_reason() -> None:
    def deny(request: HookEvaluateRequest) -> HookEvaluateResponse:
        return HookEvaluateResponse(action="deny", rule_id="no-numbers", reason="numbers are private")

    with pytest.raises(HTTPException) as raised:
        await guard(deny).pre_call(dict(DATA), "acompletion")
    assert raised.value.status_code == 400
    assert raised.value.detail == {
        "error": "sigil hook denied by rule no-numbers: numbers are private",
        "code": "sigil_hook_denied",
        "rule_id": "no-numbers",
        "reason": "numbers are private",
    }


async def test_transform_returns_the_changed_request() -> None:
    def transform(request: HookEvaluateRequest) -> HookEvaluateResponse:
        message = Message(role=MessageRole.USER, parts=[Part(kind=PartKind.TEXT, text="hello [N]")])
        return HookEvaluateResponse(action="allow", transformed_input=HookInput(messages=[message]))

    out = await guard(transform).pre_call(dict(DATA), "acompletion")
    assert out is not None and out["messages"] == [{"role": "user", "content": "hello [N]"}]


async def test_only_chat_completions_are_evaluated() -> None:
    def fail(request: HookEvaluateRequest) -> HookEvaluateResponse:
        raise AssertionError("not evaluated")

    g = guard(fail)
    assert await g.pre_call({"model": "e", "input": ["x"]}, "aembedding") is None
    assert await g.pre_call({"model": "m", "messages": []}, "acompletion") is None


def slow(request: HookEvaluateRequest) -> HookEvaluateResponse:
    time.sleep(0.5)
    return allow(request)


async def test_timeout_fail_open_lets_through_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    g = guard(slow, timeout=0.05)
    with caplog.at_level(logging.WARNING, logger="sigil_sdk_litellm"):
        for _ in range(3):
            assert await g.pre_call(dict(DATA), "acompletion") is None
    lines = [r.getMessage() for r in caplog.records if "hook evaluation failed" in r.getMessage()]
    assert len(lines) == 1 and lines[0].startswith("sigil: ")
    assert "SIGIL_HOOKS_TIMEOUT=0.05s" in lines[0]
    assert g.problems.count("hooks-unavailable") == 3


async def test_the_http_clients_own_timeout_names_the_phases_variable(caplog: pytest.LogCaptureFixture) -> None:
    def socket_timeout(request: HookEvaluateRequest) -> HookEvaluateResponse:
        time.sleep(0.06)  # the SDK's HTTP client times out at the phase's timeout too, racing wait_for
        raise HookTransportError("sigil hook evaluation failed: timed out")

    # a busy loop (0.01-0.11 s) lets the client's error arrive before wait_for's timer is handled
    asyncio.get_running_loop().call_later(0.01, time.sleep, 0.1)
    with caplog.at_level(logging.WARNING, logger="sigil_sdk_litellm"):
        assert await guard(socket_timeout, timeout=0.05).pre_call(dict(DATA), "acompletion") is None
    [line] = [r.getMessage() for r in caplog.records if "hook evaluation failed" in r.getMessage()]
    assert "no answer within SIGIL_HOOKS_TIMEOUT=0.05s" in line


async def test_timeout_fail_closed_is_a_503() -> None:
    with pytest.raises(HTTPException) as raised:
        await guard(slow, timeout=0.05, fail_open=False).pre_call(dict(DATA), "acompletion")
    assert raised.value.status_code == 503
    assert "sigil hooks unavailable" in raised.value.detail["error"]


async def test_a_long_error_is_logged_on_one_short_line(caplog: pytest.LogCaptureFixture) -> None:
    def broken(request: HookEvaluateRequest) -> HookEvaluateResponse:
        raise HookTransportError("sigil hook evaluation failed: status 502: <html>\n" + "x" * 5000)

    with caplog.at_level(logging.WARNING, logger="sigil_sdk_litellm"):
        await guard(broken).pre_call(dict(DATA), "acompletion")
    [line] = [r.getMessage() for r in caplog.records]
    assert "\n" not in line and len(line) < 500 and "status 502: <html> xxx" in line


@pytest.mark.parametrize("error", [HookTransportError("sigil hook evaluation failed: status 503"), ValueError("odd")])
async def test_failures_in_both_modes(error: Exception) -> None:
    def broken(request: HookEvaluateRequest) -> HookEvaluateResponse:
        raise error

    assert await guard(broken).pre_call(dict(DATA), "acompletion") is None
    with pytest.raises(HTTPException) as raised:
        await guard(broken, fail_open=False).pre_call(dict(DATA), "acompletion")
    assert raised.value.status_code == 503


async def test_mapping_and_transform_failures_follow_the_fail_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    import sigil_sdk_litellm.proxy.guard.evaluation as guard_module

    def boom(*args: Any) -> Any:
        raise RuntimeError("unexpected shape")

    def transform(request: HookEvaluateRequest) -> HookEvaluateResponse:
        return HookEvaluateResponse(action="allow", transformed_input=HookInput(system_prompt="x"))

    for target in ("preflight_request", "apply_transform"):
        with monkeypatch.context() as patch:
            patch.setattr(guard_module, target, boom)
            g = guard(transform)
            assert await g.pre_call(dict(DATA), "acompletion") is None
            assert g.problems.count("hooks-unavailable") == 1
            with pytest.raises(HTTPException) as raised:
                await guard(transform, fail_open=False).pre_call(dict(DATA), "acompletion")
            assert raised.value.status_code == 503


async def test_each_preflight_evaluation_counts_one_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    import sigil_sdk_litellm.proxy.guard.evaluation as guard_module

    def deny(request: HookEvaluateRequest) -> HookEvaluateResponse:
        return HookEvaluateResponse(action="deny", rule_id="r")

    def transform(request: HookEvaluateRequest) -> HookEvaluateResponse:
        message = Message(role=MessageRole.USER, parts=[Part(kind=PartKind.TEXT, text="hello [N]")])
        return HookEvaluateResponse(action="allow", transformed_input=HookInput(messages=[message]))

    def broken(request: HookEvaluateRequest) -> HookEvaluateResponse:
        raise HookTransportError("sigil hook evaluation failed: status 503")

    def boom(*args: Any) -> Any:
        raise RuntimeError("unexpected shape")

    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry).hooks()
    assert await guard(allow, metrics=metrics).pre_call(dict(DATA), "acompletion") is None
    with pytest.raises(HTTPException):
        await guard(deny, metrics=metrics).pre_call(dict(DATA), "acompletion")
    assert await guard(transform, metrics=metrics).pre_call(dict(DATA), "acompletion") is not None
    assert await guard(broken, metrics=metrics).pre_call(dict(DATA), "acompletion") is None
    with pytest.raises(HTTPException):
        await guard(broken, metrics=metrics, fail_open=False).pre_call(dict(DATA), "acompletion")
    assert hook_counts(registry) == {
        ("preflight", "allow"): 1,
        ("preflight", "deny"): 1,
        ("preflight", "transform"): 1,
        ("preflight", "fail_open"): 1,
        ("preflight", "fail_closed"): 1,
        ("preflight", "observed"): 5,
    }
    # a transform that cannot be applied let the request through untransformed: a failure, not a transform
    registry = CollectorRegistry()
    monkeypatch.setattr(guard_module, "apply_transform", boom)
    assert await guard(transform, metrics=PipelineMetrics(registry).hooks()).pre_call(dict(DATA), "acompletion") is None
    assert hook_counts(registry) == {("preflight", "fail_open"): 1, ("preflight", "observed"): 1}


async def test_the_event_loop_keeps_running_while_evaluating() -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []

    def evaluate(request: HookEvaluateRequest) -> HookEvaluateResponse:
        threads.append(threading.get_ident())
        time.sleep(0.3)
        return allow(request)

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    g = guard(evaluate, max_concurrency=4)
    started = time.perf_counter()
    await asyncio.gather(*(g.pre_call(dict(DATA), "acompletion") for _ in range(4)))
    elapsed = time.perf_counter() - started
    task.cancel()
    assert threads and loop_thread not in threads
    assert ticks >= 10, "the loop served other work meanwhile"
    assert elapsed < 1.0, "four evaluations ran concurrently"


async def test_the_pool_is_bounded_and_queueing_counts_against_the_timeout() -> None:
    running = 0
    most = 0
    lock = threading.Lock()

    def evaluate(request: HookEvaluateRequest) -> HookEvaluateResponse:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.2)
        with lock:
            running -= 1
        return allow(request)

    g = guard(evaluate, max_concurrency=2, timeout=0.3, fail_open=True)
    await asyncio.gather(*(g.pre_call(dict(DATA), "acompletion") for _ in range(6)))
    assert most == 2
    assert g.problems.count("hooks-unavailable") >= 1, "requests queued past the timeout fail open"


# ---------------------------------------------------------------------------------------------
# Wiring: hooks off adds nothing; hooks on adds the pre-call hook; settings → guard


def capabilities(*callbacks: Any) -> Any:
    saved = list(litellm.callbacks)
    litellm.callbacks = list(callbacks)
    try:
        return ProxyLogging.callback_capabilities()
    finally:
        litellm.callbacks = saved


def test_hooks_off_no_callback_class_defines_a_pre_call_hook() -> None:
    for cls in (OffloadingSigilLogger, SigilLiteLLMLogger, SigilDisabledLogger):
        assert "async_pre_call_hook" not in vars(cls), cls
    client, _ = capturing_client()
    saved = list(litellm.callbacks)
    try:
        handler = build_handler(Settings.from_env({}), client)
        assert capabilities(handler).has_pre_call_override is False, "the proxy skips its pre-call walk"
        litellm.callbacks = [handler]
        guardrail = register_hooks_guardrail(Settings.from_env({"SIGIL_HOOKS_ENABLED": "true"}))
        assert litellm.callbacks == [handler, guardrail], "hooks on: the guardrail joins the recording callback"
        assert isinstance(guardrail, SigilGuardrail) and guardrail.default_on is True
        assert (guardrail.guardrail_name, guardrail.event_hook) == ("sigil-hooks", ["pre_call", "pre_mcp_call"])
        assert capabilities(handler, guardrail).has_pre_call_override is True
    finally:
        litellm.callbacks = saved
        client.shutdown()
    assert "async_pre_call_hook" in vars(SigilGuardrail)


def settings(**env: str) -> Settings:
    return Settings.from_env({"SIGIL_HOOKS_ENABLED": "true", **env})


def test_guard_from_settings_uses_the_export_auth_and_never_shows_it() -> None:
    s = settings(
        SIGIL_ENDPOINT="https://sigil.example.com/api/v1/generations:export",
        SIGIL_PROTOCOL="http",
        SIGIL_AUTH_MODE="basic",
        SIGIL_AUTH_TENANT_ID="42",
        SIGIL_AUTH_TOKEN=TOKEN,
        SIGIL_HEADERS=f"X-Extra={TOKEN}x",
        SIGIL_HOOKS_TIMEOUT="0.5",
        SIGIL_HOOKS_FAIL_OPEN="false",
        SIGIL_AGENT_NAME="gateway",
        SIGIL_TAGS="env=prod",
    )
    headers = auth_headers(s)
    assert headers["X-Scope-OrgID"] == "42" and headers["Authorization"].startswith("Basic ")
    assert headers["X-Extra"] == TOKEN + "x"
    g = build_guard(s)
    assert g.api_endpoint == "https://sigil.example.com/api/v1/generations:export"
    assert (g.timeout, g.fail_open) == (0.5, False)
    assert g.defaults.agent_name == "gateway" and dict(g.defaults.tags) == {"env": "prod"}
    assert TOKEN not in repr(g) and "Authorization" in repr(g)
    assert build_guard(settings(SIGIL_HOOKS_ENDPOINT="http://api:8080")).api_endpoint == "http://api:8080"


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({"SIGIL_ENDPOINT": "sigil.example.com:443"}, "https://sigil.example.com:443"),
        ({"SIGIL_ENDPOINT": "sink:4317", "SIGIL_INSECURE": "true"}, "http://sink:4317"),
        ({"SIGIL_ENDPOINT": "sink:8080", "SIGIL_PROTOCOL": "http"}, "http://sink:8080"),
        ({"SIGIL_ENDPOINT": "https://s.example.com/api/v1/generations:export", "SIGIL_PROTOCOL": "http"}, None),
        ({"SIGIL_HOOKS_ENDPOINT": "api.example.com:443"}, "https://api.example.com:443"),
        ({"SIGIL_HOOKS_ENDPOINT": "api:8080", "SIGIL_INSECURE": "true"}, "http://api:8080"),
        ({"SIGIL_HOOKS_ENDPOINT": "http://api:8080", "SIGIL_ENDPOINT": "x:1"}, "http://api:8080"),
    ],
)
def test_the_hooks_url_reads_host_port_like_the_export(env: dict[str, str], url: str | None) -> None:
    s = settings(**env)
    expected = url or s.endpoint
    assert hooks_base_url(s) == expected
    assert build_guard(s).api_endpoint == expected


def test_bearer_headers() -> None:
    headers = auth_headers(settings(SIGIL_AUTH_MODE="bearer", SIGIL_AUTH_TOKEN=TOKEN))
    assert headers == {"Authorization": f"Bearer {TOKEN}"}
    assert auth_headers(settings()) == {}


def test_grpc_without_a_hooks_endpoint_is_a_notice() -> None:
    assert any("SIGIL_HOOKS_ENDPOINT" in n for n in settings().notices())
    assert not any("SIGIL_HOOKS_ENDPOINT" in n for n in settings(SIGIL_HOOKS_ENDPOINT="http://h:8080").notices())
    assert not any("SIGIL_HOOKS" in n for n in Settings.from_env({}).notices())


async def test_a_refusal_is_recorded_once_not_by_both_failure_hooks() -> None:
    client, _ = capturing_client()
    try:

        def deny(request: HookEvaluateRequest) -> HookEvaluateResponse:
            return HookEvaluateResponse(action="deny", rule_id="r", reason="no")

        handler = SigilLiteLLMLogger(client=client)
        guardrail = SigilGuardrail(guard=guard(deny), default_on=True)
        with pytest.raises(HTTPException) as raised:
            await guardrail.async_pre_call_hook(None, None, dict(DATA), "acompletion")
        recorded: list[bool] = []
        handler.handle_event = lambda kwargs, response_obj, *, failed: recorded.append(failed)  # type: ignore[method-assign]
        # LiteLLM hands both failure hooks the same call: recorded once, whichever comes first
        kwargs = {"exception": raised.value, "litellm_call_id": "call-refused"}
        await handler.async_log_failure_event(kwargs, None, None, None)  # type: ignore[arg-type]
        handler.log_failure_event(kwargs, None, None, None)  # type: ignore[arg-type]
        assert recorded == [True]
        other = {"exception": ValueError("other"), "litellm_call_id": "call-other"}
        handler.log_failure_event(other, None, None, None)  # type: ignore[arg-type]
        assert recorded == [True, True], "other failures are recorded as before"
    finally:
        client.shutdown()
