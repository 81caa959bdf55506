"""Postflight (the model's answer judged before the client gets it) and the guardrail around the guard:
answer → hook input, deny / transform of complete and streamed answers, the per-phase fail modes, timeouts
and pools, the decisions noted for the recording, the answer parser, and LiteLLM's guardrail selection."""

from __future__ import annotations

import sys
import time
from typing import Any

import pytest
from fastapi import HTTPException
from litellm.types.guardrails import GuardrailEventHooks
from litellm.types.utils import (
    ChatCompletionDeltaToolCall,
    Delta,
    Function,
    ModelResponse,
    ModelResponseStream,
    StreamingChoices,
    TextChoices,
    TextCompletionResponse,
)
from prometheus_client import CollectorRegistry
from sigil_sdk.errors import HookTransportError
from sigil_sdk.hooks import HookEvaluateRequest, HookEvaluateResponse, HookEvaluation
from sigil_sdk.models import Message, MessageRole, Part, PartKind

from sigil_sdk_litellm.mapping import MappingOptions
from sigil_sdk_litellm.mapping.metadata import META_GUARD_DECISIONS, build_metadata
from sigil_sdk_litellm.problem_log import ProblemLog
from sigil_sdk_litellm.proxy.guard.evaluation import HookGuard, PhasePolicy
from sigil_sdk_litellm.proxy.guard.postflight_client import PostflightAnswer, parse_answer
from sigil_sdk_litellm.proxy.guard.requests import postflight_request, rewrite_stream
from sigil_sdk_litellm.proxy.guardrail import SigilGuardrail, build_guard, hooks_guardrail
from sigil_sdk_litellm.proxy.metrics import PipelineMetrics
from sigil_sdk_litellm.proxy.offload.slim_event import slim_event
from sigil_sdk_litellm.proxy.settings import Settings
from tests.support import hook_counts

DATA = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "my card"}]}


def answer(text: str = "card 4111-1111") -> ModelResponse:
    return ModelResponse(choices=[{"index": 0, "message": {"role": "assistant", "content": text}}])


def assistant(text: str) -> Message:
    return Message(role=MessageRole.ASSISTANT, parts=[Part(kind=PartKind.TEXT, text=text)])


PREFLIGHT_CALLS: list[HookEvaluateRequest] = []


@pytest.fixture(autouse=True)
def no_preflight_calls() -> Any:
    # a raise in the preflight evaluator would be caught and failed open, so calls are counted instead
    PREFLIGHT_CALLS.clear()
    yield
    assert PREFLIGHT_CALLS == [], "postflight code evaluated preflight"


def guard(post: Any, **options: Any) -> HookGuard:
    def no_preflight(request: HookEvaluateRequest) -> HookEvaluateResponse:
        PREFLIGHT_CALLS.append(request)
        return HookEvaluateResponse(action="allow")

    return HookGuard(
        api_endpoint="http://sigil.invalid",
        evaluate=no_preflight,
        evaluate_postflight=post,
        problems=ProblemLog(),
        **options,
    )


def redact(request: HookEvaluateRequest) -> PostflightAnswer:
    assert request.phase == "postflight"
    evaluation = HookEvaluation(
        rule_id="cards", evaluator_id="regex:cards", evaluator_kind="regex", passed=True, explanation="redacted"
    )
    return PostflightAnswer(HookEvaluateResponse(action="allow", evaluations=[evaluation]), [assistant("card [CARD]")])


def deny(request: HookEvaluateRequest) -> PostflightAnswer:
    return PostflightAnswer(HookEvaluateResponse(action="deny", rule_id="no-cards", reason="no card numbers"), None)


def test_postflight_request_carries_input_and_output() -> None:
    request = postflight_request(DATA, answer().model_dump())
    assert request is not None and request.phase == "postflight"
    assert [p.text for m in request.input.messages for p in m.parts] == ["my card"]
    assert [p.text for m in request.input.output for p in m.parts] == ["card 4111-1111"]
    assert request.context.model.name == "gpt-4o-mini"
    assert postflight_request(DATA, {"choices": []}) is None, "no answer, nothing to judge"


async def test_transform_rewrites_the_answer_and_notes_the_decision() -> None:
    data: dict[str, Any] = {**DATA, "metadata": {}}
    response = await guard(redact).post_call(data, answer())
    assert response.choices[0].message.content == "card [CARD]"
    assert data["metadata"]["sigil_guard_decisions"] == [
        {"phase": "postflight", "action": "transform", "rule_id": "cards"}
    ]


async def test_deny_is_a_400_naming_rule_reason_and_phase() -> None:
    data: dict[str, Any] = dict(DATA)
    with pytest.raises(HTTPException) as raised:
        await guard(deny).post_call(data, answer())
    assert raised.value.status_code == 400
    assert raised.value.detail == {
        "error": "sigil hook denied by rule no-cards: no card numbers",
        "code": "sigil_hook_denied",
        "rule_id": "no-cards",
        "reason": "no card numbers",
        "phase": "postflight",
    }
    assert data["metadata"]["sigil_guard_decisions"] == [
        {"phase": "postflight", "action": "deny", "rule_id": "no-cards"}
    ]


def unreachable(request: HookEvaluateRequest) -> PostflightAnswer:
    raise HookTransportError("sigil hook evaluation failed: connection refused")


async def test_fail_modes_are_per_phase() -> None:
    # preflight fail-open, postflight fail-closed
    g = guard(unreachable, fail_open=True, postflight=PhasePolicy(timeout=1, fail_open=False))
    with pytest.raises(HTTPException) as raised:
        await g.post_call(dict(DATA), answer())
    assert raised.value.status_code == 503
    assert "SIGIL_HOOKS_POSTFLIGHT_FAIL_OPEN=false" in raised.value.detail["error"]
    assert g.problems.count("hooks-unavailable-postflight") == 1
    # and the other way round: the answer goes out unchanged, logged once per interval
    g = guard(unreachable, fail_open=False, postflight=PhasePolicy(timeout=1, fail_open=True))
    response = answer()
    assert await g.post_call(dict(DATA), response) is response
    assert response.choices[0].message.content == "card 4111-1111"
    assert g.problems.count("hooks-unavailable-postflight") == 1


async def test_postflight_timeout_is_its_own() -> None:
    def slow(request: HookEvaluateRequest) -> PostflightAnswer:
        time.sleep(0.5)
        return redact(request)

    g = guard(slow, timeout=5, postflight=PhasePolicy(timeout=0.1, fail_open=True))
    started = time.monotonic()
    response = await g.post_call(dict(DATA), answer())
    assert time.monotonic() - started < 0.4
    assert response.choices[0].message.content == "card 4111-1111", "too slow: let through unchanged"


def test_settings_give_each_phase_its_policy() -> None:
    inherited = build_guard(Settings.from_env({"SIGIL_HOOKS_TIMEOUT": "0.7", "SIGIL_HOOKS_FAIL_OPEN": "false"}))
    assert inherited.policies["postflight"] == PhasePolicy(timeout=0.7, fail_open=False, max_concurrency=32)
    own = build_guard(
        Settings.from_env(
            {
                "SIGIL_HOOKS_FAIL_OPEN": "false",
                "SIGIL_HOOKS_POSTFLIGHT_TIMEOUT": "3",
                "SIGIL_HOOKS_POSTFLIGHT_FAIL_OPEN": "true",
                "SIGIL_HOOKS_POSTFLIGHT_MAX_CONCURRENCY": "5",
            }
        )
    )
    assert own.policies["preflight"] == PhasePolicy(timeout=2.0, fail_open=False, max_concurrency=32)
    assert own.policies["postflight"] == PhasePolicy(timeout=3.0, fail_open=True, max_concurrency=5)
    assert own._executors["postflight"]._max_workers == 5


def chunk(text: str | None, role: str | None = None, finish: str | None = None) -> ModelResponseStream:
    return ModelResponseStream(
        choices=[StreamingChoices(index=0, delta=Delta(content=text, role=role), finish_reason=finish)]
    )


def streamed_text(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_rewrite_stream() -> None:
    chunks = [chunk("", role="assistant"), chunk("card "), chunk("4111-1111"), chunk(None, finish="stop")]
    assert streamed_text(chunks) == "card 4111-1111"
    assert rewrite_stream(chunks, {0: "card [CARD]"}) == {0}
    assert [c.choices[0].delta.content for c in chunks] == ["card [CARD]", "", "", None]
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert rewrite_stream(chunks, {3: "nowhere"}) == set(), "a choice the stream does not have is not made up"


async def collect(stream: Any) -> list[Any]:
    return [item async for item in stream]


async def test_a_streamed_answer_is_held_back_judged_then_sent() -> None:
    chunks = [chunk("card "), chunk("4111-1111"), chunk(None, finish="stop")]
    data: dict[str, Any] = dict(DATA, stream=True)
    sent = await collect(guard(redact).post_call_stream(data, chunks))
    assert streamed_text(sent) == "card [CARD]"
    assert data["metadata"]["sigil_guard_decisions"][0]["action"] == "transform"
    with pytest.raises(HTTPException):
        await collect(guard(deny).post_call_stream(dict(DATA, stream=True), [chunk("card 4111-1111")]))


async def test_the_guardrail_runs_only_where_litellm_selects_it() -> None:
    calls: list[str] = []

    def counting(request: HookEvaluateRequest) -> PostflightAnswer:
        calls.append(request.phase)
        return redact(request)

    on_request = SigilGuardrail(guard=guard(counting), guardrail_name="sigil", default_on=False)
    assert on_request.should_run_guardrail(dict(DATA), GuardrailEventHooks.post_call) is False
    unchanged = await on_request.async_post_call_success_hook(dict(DATA), None, answer())
    assert unchanged.choices[0].message.content == "card 4111-1111" and calls == []
    chosen = dict(DATA, guardrails=["sigil"])
    changed = await on_request.async_post_call_success_hook(chosen, None, answer())
    assert changed.choices[0].message.content == "card [CARD]" and calls == ["postflight"]

    # a stream the guardrail is not selected for passes through untouched, chunk by chunk
    sent = [chunk("card 4111-1111")]

    async def upstream() -> Any:
        for item in sent:
            yield item

    passed = await collect(on_request.async_post_call_streaming_iterator_hook(None, upstream(), dict(DATA)))
    assert passed == sent and passed[0] is sent[0]
    assert passed[0].choices[0].delta.content == "card 4111-1111" and calls == ["postflight"]


async def test_a_stream_that_is_not_a_model_answer_passes_through_unheld_and_unrecorded() -> None:
    # chat chunks, Responses events and /v1/messages SSE bytes are judged (issue #24); anything else is
    # nothing to judge, so nothing to hold back
    calls: list[str] = []

    def counting(request: HookEvaluateRequest) -> PostflightAnswer:
        calls.append(request.phase)
        return redact(request)

    guardrail = SigilGuardrail(guard=guard(counting), guardrail_name="sigil", default_on=True)
    events = [{"kind": "progress", "n": 1}, {"kind": "progress", "n": 2}]
    produced: list[Any] = []

    async def upstream() -> Any:
        for item in events:
            produced.append(item)
            yield item

    data: dict[str, Any] = dict(DATA, metadata={})
    received = []
    async for item in guardrail.async_post_call_streaming_iterator_hook(None, upstream(), data):
        received.append(item)
        assert produced == events[: len(received)], "each event goes out as soon as it comes"
    assert received == events and calls == []
    assert guardrail_information(data) == [] and "sigil_guard_decisions" not in data["metadata"]


def test_the_env_guardrail_follows_sigil_hooks_phases() -> None:
    only_post = hooks_guardrail(Settings.from_env({"SIGIL_HOOKS_ENABLED": "true", "SIGIL_HOOKS_PHASES": "postflight"}))
    assert only_post.event_hook == ["post_call", "post_mcp_call"] and only_post.default_on is True  # models, MCP tools
    assert only_post.should_run_guardrail(dict(DATA), GuardrailEventHooks.pre_call) is False
    assert only_post.should_run_guardrail(dict(DATA), GuardrailEventHooks.post_call) is True


def test_parse_answer_keeps_the_transformed_output() -> None:
    parsed = parse_answer(
        {
            "action": "allow",
            "transformed_input": {"output": [{"role": "assistant", "parts": [{"text": "[CARD]"}]}]},
        }
    )
    assert parsed.output is not None and parsed.output[0].parts[0].text == "[CARD]"
    assert parse_answer({"action": "deny", "rule_id": "r"}).response.is_deny
    assert parse_answer({"action": "allow"}).output is None


def test_decisions_reach_the_recorded_generations_metadata() -> None:
    decisions = [{"phase": "preflight", "action": "transform", "rule_id": "cards"}]
    kwargs = {"litellm_params": {"metadata": {"sigil_guard_decisions": decisions}}, "call_type": "acompletion"}
    assert build_metadata(kwargs, {}, MappingOptions(), "")[META_GUARD_DECISIONS] == decisions
    slim = slim_event(kwargs)
    assert build_metadata(slim, {}, MappingOptions(), "")[META_GUARD_DECISIONS] == decisions
    assert META_GUARD_DECISIONS not in build_metadata({"litellm_params": {"metadata": {}}}, {}, MappingOptions(), "")


def guardrail_information(data: dict[str, Any]) -> list[Any]:
    for key in ("metadata", "litellm_metadata"):
        found = (data.get(key) or {}).get("standard_logging_guardrail_information")
        if found:
            return list(found)
    return []


async def test_litellms_guardrail_information_carries_the_outcome() -> None:
    def allow(request: HookEvaluateRequest) -> PostflightAnswer:
        return PostflightAnswer(HookEvaluateResponse(action="allow"), None)

    data: dict[str, Any] = dict(DATA, metadata={})
    await SigilGuardrail(guard=guard(allow), default_on=True).async_post_call_success_hook(data, None, answer())
    await SigilGuardrail(guard=guard(redact), default_on=True).async_post_call_success_hook(data, None, answer())
    with pytest.raises(HTTPException):
        await SigilGuardrail(guard=guard(deny), default_on=True).async_post_call_success_hook(data, None, answer())
    with pytest.raises(HTTPException):
        closed = guard(unreachable, postflight=PhasePolicy(timeout=1, fail_open=False))
        await SigilGuardrail(guard=closed, default_on=True).async_post_call_success_hook(data, None, answer())
    info = guardrail_information(data)
    assert [(i["guardrail_name"], i["guardrail_provider"], i["guardrail_status"]) for i in info] == [
        ("sigil", "sigil", "success"),
        ("sigil", "sigil", "guardrail_intervened"),
        ("sigil", "sigil", "guardrail_intervened"),
        ("sigil", "sigil", "guardrail_failed_to_respond"),
    ]
    assert info[1]["guardrail_response"] == [{"phase": "postflight", "action": "transform", "rule_id": "cards"}]
    assert info[2]["guardrail_response"] == [{"phase": "postflight", "action": "deny", "rule_id": "no-cards"}]


async def test_a_text_completion_answer_is_transformed_too() -> None:
    # /v1/completions: TextChoices carry .text, not .message; the redaction must reach the client
    data: dict[str, Any] = {"model": "gpt-4o-mini", "prompt": "my card", "metadata": {}}
    response = TextCompletionResponse(choices=[TextChoices(index=0, text="card 4111-1111", finish_reason="stop")])
    assert (await guard(redact).post_call(data, response)) is response
    assert response.choices[0].text == "card [CARD]"
    assert data["metadata"]["sigil_guard_decisions"][0]["action"] == "transform"


async def test_a_transform_with_nowhere_to_go_is_logged() -> None:
    # the only output is a tool call: a text transform cannot be put into a choice without text
    response = ModelResponse(
        choices=[
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": "c", "type": "function", "function": {"name": "pay", "arguments": "{}"}}],
                },
            }
        ]
    )
    del response.choices[0].message.content
    g = guard(redact)
    await g.post_call(dict(DATA), response)
    assert g.problems.count("hooks-transform-unplaced") == 1


def two_choices(first: str | None, second: str) -> ModelResponse:
    return ModelResponse(
        choices=[
            {"index": 0, "message": {"role": "assistant", "content": first}},
            {"index": 1, "message": {"role": "assistant", "content": second}},
        ]
    )


async def test_a_transform_lands_on_the_choice_it_came_from() -> None:
    # choice 0 has no output, so the judged output's first message is choice 1's
    response = two_choices(None, "card 4111-1111")
    await guard(redact).post_call(dict(DATA), response)
    assert response.choices[0].message.content is None
    assert response.choices[1].message.content == "card [CARD]"


def tool_call_chunk(arguments: str, index: int = 0) -> ModelResponseStream:
    call = ChatCompletionDeltaToolCall(id="call-1", index=0, function=Function(name="pay", arguments=arguments))
    return ModelResponseStream(
        choices=[StreamingChoices(index=index, delta=Delta(role="assistant", tool_calls=[call]))]
    )


async def test_a_stream_of_only_tool_calls_is_judged() -> None:
    judged: list[HookEvaluateRequest] = []

    def capture(request: HookEvaluateRequest) -> PostflightAnswer:
        judged.append(request)
        return deny(request)

    chunks = [tool_call_chunk('{"card": "4111'), tool_call_chunk('-1111"}'), chunk(None, finish="tool_calls")]
    with pytest.raises(HTTPException) as raised:
        await collect(guard(capture).post_call_stream(dict(DATA, stream=True), chunks))
    assert raised.value.status_code == 400
    [request] = judged
    [part] = [p for m in request.input.output for p in m.parts]
    assert part.kind == PartKind.TOOL_CALL and part.tool_call.name == "pay"
    assert b"4111-1111" in part.tool_call.input_json


async def test_a_streamed_transform_lands_on_its_choice_index() -> None:
    def second_only(request: HookEvaluateRequest) -> PostflightAnswer:
        assert [p.text for m in request.input.output for p in m.parts] == ["fine", "card 4111-1111"]
        return PostflightAnswer(HookEvaluateResponse(action="allow"), [assistant("fine"), assistant("card [CARD]")])

    chunks = [
        ModelResponseStream(choices=[StreamingChoices(index=0, delta=Delta(content="fine", role="assistant"))]),
        ModelResponseStream(choices=[StreamingChoices(index=1, delta=Delta(content="card ", role="assistant"))]),
        ModelResponseStream(choices=[StreamingChoices(index=1, delta=Delta(content="4111-1111"))]),
    ]
    data: dict[str, Any] = dict(DATA, stream=True, metadata={})
    sent = await collect(guard(second_only).post_call_stream(data, chunks))
    assert [(c.choices[0].index, c.choices[0].delta.content) for c in sent] == [
        (0, "fine"),
        (1, "card [CARD]"),
        (1, ""),
    ]
    assert data["metadata"]["sigil_guard_decisions"][0]["action"] == "transform"


class OddChunk:
    """Not what LiteLLM's chunk builder expects."""

    choices = "not a list"


async def test_an_odd_stream_follows_the_fail_mode_and_never_raises_into_litellm() -> None:
    chunks: list[Any] = [chunk("card 4111-1111"), OddChunk()]
    g = guard(redact, postflight=PhasePolicy(timeout=1, fail_open=True))
    assert await collect(g.post_call_stream(dict(DATA, stream=True), chunks)) == chunks
    assert g.problems.count("hooks-unavailable-postflight") == 1
    closed = guard(redact, postflight=PhasePolicy(timeout=1, fail_open=False))
    with pytest.raises(HTTPException) as raised:
        await collect(closed.post_call_stream(dict(DATA, stream=True), list(chunks)))
    assert raised.value.status_code == 503


@pytest.mark.parametrize(
    ("target", "stream"),
    [
        ("response_body", False),
        ("postflight_request", False),
        ("apply_output_transform", False),
        ("postflight_request", True),
        ("rewrite_answer_stream", True),
    ],
)
async def test_each_postflight_step_that_fails_follows_the_fail_mode(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, target: str, stream: bool
) -> None:
    import sigil_sdk_litellm.proxy.guard.evaluation as guard_module

    def boom(*args: Any) -> Any:
        raise RuntimeError("unexpected shape")

    monkeypatch.setattr(guard_module, target, boom)

    async def judged(g: HookGuard) -> Any:
        if stream:
            return await collect(
                g.post_call_stream(dict(DATA, stream=True), [chunk("card 4111-1111", role="assistant")])
            )
        return await g.post_call(dict(DATA), answer())

    g = guard(redact, postflight=PhasePolicy(timeout=1, fail_open=True))
    with caplog.at_level("WARNING", logger="sigil_sdk_litellm"):
        out = await judged(g)
    assert g.problems.count("hooks-unavailable-postflight") == 1
    assert "answer let through" in caplog.text and "(RuntimeError: unexpected shape)" in caplog.text
    text = streamed_text(out) if stream else out.choices[0].message.content
    assert text == "card 4111-1111", "let through as the model wrote it"
    closed = guard(redact, postflight=PhasePolicy(timeout=1, fail_open=False))
    with pytest.raises(HTTPException) as raised:
        await judged(closed)
    assert raised.value.status_code == 503
    assert closed.problems.count("hooks-unavailable-postflight") == 1


async def test_a_huge_choice_index_builds_nothing_huge() -> None:
    chunks = [ModelResponseStream(choices=[StreamingChoices(index=10**9, delta=Delta(content="card 4111-1111"))])]
    started = time.monotonic()
    sent = await collect(guard(redact).post_call_stream(dict(DATA, stream=True), chunks))
    assert time.monotonic() - started < 1
    assert sent == chunks


def test_a_config_guardrail_with_sigil_disabled_refuses_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # SIGIL_ENABLED=false reads nothing else: the guard would silently judge against https://localhost:4317
    monkeypatch.delitem(sys.modules, "litellm.proxy.proxy_server", raising=False)  # SystemExit, not os._exit
    monkeypatch.setenv("SIGIL_ENABLED", "false")
    monkeypatch.setenv("SIGIL_ENDPOINT", "http://sigil.example:8080")
    with pytest.raises(SystemExit):
        SigilGuardrail(guardrail_name="sigil")
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("sigil: invalid configuration: SIGIL_ENABLED=false") and "SigilGuardrail" in line


def test_configuration_warnings_are_logged_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # the callback and a config.yaml guardrail both load the settings in each worker
    from sigil_sdk_litellm.proxy.settings.loading import load_settings

    monkeypatch.setenv("SIGIL_ENDPOINT", "http://sink.invalid:8080")
    monkeypatch.setenv("SIGIL_PROTOCOL", "http")
    monkeypatch.setenv("SIGIL_AUTH_TOKN", "x")
    with caplog.at_level("WARNING", logger="sigil_sdk_litellm"):
        load_settings()
        SigilGuardrail(guardrail_name="sigil").guard.close()
    assert [r.getMessage() for r in caplog.records].count(
        "sigil: ignoring SIGIL_AUTH_TOKN: not a setting of this proxy (see the configuration table in the README)"
    ) == 1


async def test_each_postflight_evaluation_counts_one_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    import sigil_sdk_litellm.proxy.guard.evaluation as guard_module

    def allow(request: HookEvaluateRequest) -> PostflightAnswer:
        return PostflightAnswer(HookEvaluateResponse(action="allow"), None)

    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry).hooks()
    await guard(allow, metrics=metrics).post_call(dict(DATA), answer())
    await guard(redact, metrics=metrics).post_call(dict(DATA), answer())
    await collect(guard(redact, metrics=metrics).post_call_stream(dict(DATA, stream=True), [chunk("card 4111-1111")]))
    with pytest.raises(HTTPException):
        await guard(deny, metrics=metrics).post_call(dict(DATA), answer())
    assert hook_counts(registry) == {
        ("postflight", "allow"): 1,
        ("postflight", "transform"): 2,
        ("postflight", "deny"): 1,
        ("postflight", "observed"): 4,
    }

    def boom(*args: Any) -> Any:
        raise RuntimeError("unexpected shape")

    # a transform that cannot be applied: the fail mode decides, and only that is counted
    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry).hooks()
    monkeypatch.setattr(guard_module, "apply_output_transform", boom)
    monkeypatch.setattr(guard_module, "rewrite_answer_stream", boom)
    closed = guard(redact, metrics=metrics, postflight=PhasePolicy(timeout=1, fail_open=False))
    with pytest.raises(HTTPException):
        await closed.post_call(dict(DATA), answer())
    opened = guard(redact, metrics=metrics, postflight=PhasePolicy(timeout=1, fail_open=True))
    await collect(opened.post_call_stream(dict(DATA, stream=True), [chunk("card 4111-1111")]))
    assert hook_counts(registry) == {
        ("postflight", "fail_closed"): 1,
        ("postflight", "fail_open"): 1,
        ("postflight", "observed"): 2,
    }
