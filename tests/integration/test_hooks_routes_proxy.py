"""Sigil's guard on every model route an agent uses (issue #24), for real: ``litellm --config`` with
``SIGIL_HOOKS_ENABLED=true`` (the ``default_on`` guardrail, both phases), the mock sink evaluating the
rules, the fake upstream recording what it received, driven by the official ``openai`` and ``anthropic``
clients.

``/v1/responses`` and ``/v1/messages``: allow, deny and transform in both phases, streamed and not (a
denied stream is the route's own error, before any event); ``/v1/completions`` and
``/v1/images/generations``: preflight deny and transform. A client cannot switch the ``default_on``
guard off from the request. Each test checks the hook metrics the proxy wrote as chat's tests do.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
import yaml
from fake_llm.testing import FakeLLMProcess
from sigil_devstack.proxy import DEFAULT_CONFIG, ProxyProcess
from sigil_mock_sink.testing import SinkProcess

from tests.integration.hook_stacks import clear_hook_state, evaluated_phases, summed_hook_metrics
from tests.scenarios import SinkReader

# one worker runs the module under `make test` (-n 2 --dist loadgroup): its shared stack starts once
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("hooks_routes_proxy")]

RULES = {
    "rules": [
        {"id": "no-passwords", "pattern": "(?i)password", "reason": "passwords must not reach a model"},
        {
            "id": "cards",
            "action": "redact",
            "pattern": r"\b(?:\d{4}-){3}\d{4}\b",
            "replacement": "[CARD]",
            "phases": ["preflight"],
        },
        {"id": "no-sql", "pattern": "(?i)drop table", "reason": "no SQL in answers", "phases": ["postflight"]},
        {
            "id": "ssn",
            "action": "redact",
            "pattern": r"\b\d{3}-\d{2}-\d{4}\b",
            "replacement": "[SSN]",
            "phases": ["postflight"],
        },
    ]
}
CARD = "4111-1111-1111-1111"
SSN = "123-45-6789"
DENIED = "sigil hook denied by rule no-passwords: passwords must not reach a model"
SQL_DENIED = "sigil hook denied by rule no-sql: no SQL in answers"
STREAMED = [False, True]


@dataclass
class Stack:
    sink: SinkProcess
    proxy: ProxyProcess
    fake: FakeLLMProcess
    metrics_dir: Path

    def openai(self, conversation: str = "") -> openai.OpenAI:
        headers = {"x-litellm-session-id": conversation or new_conversation()}
        return openai.OpenAI(
            base_url=f"{self.proxy.base_url}/v1",
            api_key=self.proxy.master_key,
            max_retries=0,
            timeout=30,
            default_headers=headers,
        )

    def anthropic(self, conversation: str = "") -> anthropic.Anthropic:
        headers = {"x-litellm-session-id": conversation or new_conversation()}
        return anthropic.Anthropic(
            base_url=self.proxy.base_url, api_key=self.proxy.master_key, max_retries=0, default_headers=headers
        )

    def respond(self, streamed: bool, conversation: str = "", **request: Any) -> str:
        """One Responses call; the answer's text (a stream read to its end)."""
        client = self.openai(conversation)
        request.setdefault("model", "gpt-4o-mini")
        if not streamed:
            return client.responses.create(**request).output_text
        with client.responses.stream(**request) as stream:
            return stream.get_final_response().output_text

    def message(self, streamed: bool, conversation: str = "", **request: Any) -> str:
        """One Messages call; the answer's text (a stream read to its end)."""
        client = self.anthropic(conversation)
        request.setdefault("model", "claude-sonnet-4-5")
        request.setdefault("max_tokens", 64)
        if streamed:
            with client.messages.stream(**request) as stream:
                final = stream.get_final_message()
        else:
            final = client.messages.create(**request)
        return "".join(block.text for block in final.content if block.type == "text")

    def upstream(self, path: str) -> list[dict[str, Any]]:
        return [request.get("body") or {} for request in self.fake.requests(path)]

    def hook_metrics(self) -> Counter[tuple[str, str]]:
        return summed_hook_metrics(self.metrics_dir)

    def phases(self) -> list[str]:
        return evaluated_phases(self.sink)


def new_conversation() -> str:
    return "routes-" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, fake: FakeLLMProcess) -> Iterator[Stack]:
    metrics_dir = tmp_path_factory.mktemp("routes-metrics")
    config = yaml.safe_load(Path(DEFAULT_CONFIG).read_text(encoding="utf-8"))
    # LiteLLM's OpenAI image generation does not read OPENAI_API_BASE: the fake upstream is named here
    image_model = {"model": "openai/dall-e-3", "api_base": "os.environ/OPENAI_API_BASE"}
    config["model_list"].append({"model_name": "dall-e-3", "litellm_params": image_model})
    config_file = tmp_path_factory.mktemp("routes-config") / "config.yaml"
    config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
    with SinkProcess(auth="none") as sink:
        sink.request("POST", "/api/v1/hook-rules", RULES)
        env = {
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "SIGIL_ENDPOINT": sink.http_url,
            "SIGIL_PROTOCOL": "http",
            "SIGIL_AUTH_MODE": "none",
            "SIGIL_FLUSH_INTERVAL": "0.2",
            "SIGIL_HOOKS_ENABLED": "true",
            "SIGIL_HOOKS_PHASES": "preflight,postflight",
            "SIGIL_HOOKS_TIMEOUT": "2",
            "SIGIL_HOOKS_FAIL_OPEN": "true",  # as chat's guardrail test: preflight open, postflight closed
            "SIGIL_HOOKS_POSTFLIGHT_FAIL_OPEN": "false",
            "OPENAI_API_BASE": fake.base_url,
            "OPENAI_API_KEY": "fake-key",
            "ANTHROPIC_API_BASE": fake.root_url,
            "ANTHROPIC_API_KEY": "fake-key",
        }
        with ProxyProcess(config=config_file, env=env) as proxy:
            yield Stack(sink, proxy, fake, metrics_dir)


@pytest.fixture(autouse=True)
def _clean(stack: Stack) -> None:
    clear_hook_state(stack.sink)
    stack.fake.clear_requests()


@pytest.fixture
def metrics_before(stack: Stack) -> Counter[tuple[str, str]]:
    return stack.hook_metrics()


def assert_counted(stack: Stack, before: Counter[tuple[str, str]], expected: dict[tuple[str, str], int]) -> None:
    added = stack.hook_metrics() - before
    observed = {("preflight", "observed"), ("postflight", "observed")}
    assert {key: n for key, n in added.items() if key not in observed} == expected
    for phase in ("preflight", "postflight"):
        evaluated = sum(n for (p, outcome), n in expected.items() if p == phase)
        assert added[(phase, "observed")] == evaluated, f"one {phase} latency observation per evaluation"


def anthropic_message(error: anthropic.APIStatusError) -> str:
    body: Any = error.body
    assert body["type"] == "error", "an Anthropic error body"
    return str(body["error"]["message"])


# ---------------------------------------------------------------------------------------------
# /v1/responses


@pytest.mark.parametrize("streamed", STREAMED, ids=["sync", "stream"])
def test_responses_allowed_both_phases(stack: Stack, streamed: bool, metrics_before: Counter[Any]) -> None:
    assert stack.respond(streamed, input="hello there", instructions="Be brief.") == "echo: hello there"
    assert stack.phases() == ["preflight", "postflight"]
    assert_counted(stack, metrics_before, {("preflight", "allow"): 1, ("postflight", "allow"): 1})


@pytest.mark.parametrize("streamed", STREAMED, ids=["sync", "stream"])
def test_responses_preflight_deny_never_reaches_the_model(
    stack: Stack, streamed: bool, metrics_before: Counter[Any]
) -> None:
    items = [
        {"role": "user", "content": "look it up"},
        {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "the password is hunter2"},
    ]
    for request in ({"input": "my password is hunter2"}, {"input": items}, {"input": "hi", "instructions": "password"}):
        with pytest.raises(openai.BadRequestError) as raised:
            stack.respond(streamed, **request)
        assert raised.value.status_code == 400
        assert DENIED in str(raised.value.message)
    assert stack.upstream("/responses") == [], "the model was never called"
    assert_counted(stack, metrics_before, {("preflight", "deny"): 3})


@pytest.mark.parametrize("streamed", STREAMED, ids=["sync", "stream"])
def test_responses_preflight_transform_rewrites_input_and_instructions(
    stack: Stack, streamed: bool, metrics_before: Counter[Any]
) -> None:
    answer = stack.respond(streamed, input=[{"role": "user", "content": f"card {CARD}"}], instructions=f"ref {CARD}")
    assert answer == "echo: card [CARD]"
    [body] = stack.upstream("/responses")
    assert body["input"][0]["content"] == "card [CARD]" and body["instructions"] == "ref [CARD]"
    assert CARD not in str(body)
    assert_counted(stack, metrics_before, {("preflight", "transform"): 1, ("postflight", "allow"): 1})


@pytest.mark.parametrize("streamed", STREAMED, ids=["sync", "stream"])
def test_responses_postflight_deny_is_a_responses_error(
    stack: Stack, streamed: bool, metrics_before: Counter[Any]
) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        stack.respond(streamed, input="please DROP TABLE users")  # echoed: the answer is denied
    assert raised.value.status_code == 400, "the stream is held back: the client gets the error, not the answer"
    assert SQL_DENIED in str(raised.value.message)
    assert len(stack.upstream("/responses")) == 1
    assert_counted(stack, metrics_before, {("preflight", "allow"): 1, ("postflight", "deny"): 1})


@pytest.mark.parametrize("streamed", STREAMED, ids=["sync", "stream"])
def test_responses_postflight_transform_rewrites_the_output(
    stack: Stack, streamed: bool, metrics_before: Counter[Any]
) -> None:
    conversation = new_conversation()
    assert stack.respond(streamed, conversation, input=f"ssn {SSN}") == "echo: ssn [SSN]"
    assert_counted(stack, metrics_before, {("preflight", "allow"): 1, ("postflight", "transform"): 1})
    [generation] = SinkReader(stack.sink.http_url).wait_for(1, conversation_id=conversation)
    assert generation["metadata"]["sigil.guard.decisions"] == [
        {"phase": "postflight", "action": "transform", "rule_id": "ssn"}
    ]


# ---------------------------------------------------------------------------------------------
# /v1/messages


@pytest.mark.parametrize("streamed", STREAMED, ids=["sync", "stream"])
def test_messages_allowed_both_phases(stack: Stack, streamed: bool, metrics_before: Counter[Any]) -> None:
    said = stack.message(streamed, system="Be brief.", messages=[{"role": "user", "content": "hello there"}])
    assert said == "echo: hello there"
    assert stack.phases() == ["preflight", "postflight"]
    assert_counted(stack, metrics_before, {("preflight", "allow"): 1, ("postflight", "allow"): 1})


@pytest.mark.parametrize("streamed", STREAMED, ids=["sync", "stream"])
def test_messages_preflight_deny_is_an_anthropic_error(
    stack: Stack, streamed: bool, metrics_before: Counter[Any]
) -> None:
    tool_turns: list[Any] = [
        {"role": "user", "content": "look it up"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "the password is hunter2"}],
        },
    ]
    requests: list[dict[str, Any]] = [
        {"messages": [{"role": "user", "content": "my password is hunter2"}]},
        {"messages": tool_turns},
        {"messages": [{"role": "user", "content": "hi"}], "system": [{"type": "text", "text": "password"}]},
    ]
    for request in requests:
        with pytest.raises(anthropic.BadRequestError) as raised:
            stack.message(streamed, **request)
        assert anthropic_message(raised.value) == DENIED
    assert stack.upstream("/messages") == [], "the model was never called"
    assert_counted(stack, metrics_before, {("preflight", "deny"): 3})


@pytest.mark.parametrize("streamed", STREAMED, ids=["sync", "stream"])
def test_messages_preflight_transform_rewrites_messages_and_system(
    stack: Stack, streamed: bool, metrics_before: Counter[Any]
) -> None:
    said = stack.message(streamed, system=f"ref {CARD}", messages=[{"role": "user", "content": f"card {CARD}"}])
    assert said == "echo: card [CARD]"
    [body] = stack.upstream("/messages")
    assert body["messages"][0]["content"] == "card [CARD]" and body["system"] == "ref [CARD]"
    assert_counted(stack, metrics_before, {("preflight", "transform"): 1, ("postflight", "allow"): 1})


@pytest.mark.parametrize("streamed", STREAMED, ids=["sync", "stream"])
def test_messages_postflight_deny_is_an_anthropic_error(
    stack: Stack, streamed: bool, metrics_before: Counter[Any]
) -> None:
    with pytest.raises(anthropic.BadRequestError) as raised:
        stack.message(streamed, messages=[{"role": "user", "content": "please DROP TABLE users"}])
    assert anthropic_message(raised.value) == SQL_DENIED
    assert_counted(stack, metrics_before, {("preflight", "allow"): 1, ("postflight", "deny"): 1})


@pytest.mark.parametrize("streamed", STREAMED, ids=["sync", "stream"])
def test_messages_postflight_transform_rewrites_the_answer(
    stack: Stack, streamed: bool, metrics_before: Counter[Any]
) -> None:
    conversation = new_conversation()
    said = stack.message(streamed, conversation, messages=[{"role": "user", "content": f"ssn {SSN}"}])
    assert said == "echo: ssn [SSN]"
    assert_counted(stack, metrics_before, {("preflight", "allow"): 1, ("postflight", "transform"): 1})
    [generation] = SinkReader(stack.sink.http_url).wait_for(1, conversation_id=conversation)
    assert generation["metadata"]["sigil.guard.decisions"] == [
        {"phase": "postflight", "action": "transform", "rule_id": "ssn"}
    ]


# ---------------------------------------------------------------------------------------------
# Fail modes per phase, as for chat: preflight fail-open, postflight fail-closed (this stack)


@pytest.mark.parametrize("streamed", STREAMED, ids=["sync", "stream"])
def test_sigil_unavailable_preflight_lets_through_postflight_withholds(
    stack: Stack, streamed: bool, metrics_before: Counter[Any]
) -> None:
    stack.sink.request("POST", "/api/v1/hook-faults", {"unavailable": True})
    with pytest.raises(openai.APIStatusError) as raised:
        stack.respond(streamed, input="my password is hunter2")
    assert raised.value.status_code == 503 and "SIGIL_HOOKS_POSTFLIGHT_FAIL_OPEN=false" in str(raised.value.message)
    with pytest.raises(anthropic.APIStatusError) as refused:
        stack.message(streamed, messages=[{"role": "user", "content": "my password is hunter2"}])
    assert refused.value.status_code == 503
    assert "SIGIL_HOOKS_POSTFLIGHT_FAIL_OPEN=false" in anthropic_message(refused.value)
    assert len(stack.upstream("/responses")) == len(stack.upstream("/messages")) == 1, "preflight let them through"
    assert_counted(stack, metrics_before, {("preflight", "fail_open"): 2, ("postflight", "fail_closed"): 2})


# ---------------------------------------------------------------------------------------------
# /v1/completions and /v1/images/generations: preflight


def test_completions_preflight_deny_and_transform(stack: Stack, metrics_before: Counter[Any]) -> None:
    client = stack.openai()
    with pytest.raises(openai.BadRequestError) as raised:
        client.completions.create(model="gpt-4o-mini", prompt="the password is")
    assert DENIED in str(raised.value.message)
    text = client.completions.create(model="gpt-4o-mini", prompt=f"card {CARD}").choices[0].text
    assert CARD not in text and "[CARD]" in text
    [body] = stack.upstream("/completions")  # LiteLLM sends a chat model's text completion as a chat
    assert "card [CARD]" in str(body) and CARD not in str(body)
    assert_counted(
        stack, metrics_before, {("preflight", "deny"): 1, ("preflight", "transform"): 1, ("postflight", "allow"): 1}
    )


def test_images_preflight_deny_and_transform(stack: Stack, metrics_before: Counter[Any]) -> None:
    client = stack.openai()
    with pytest.raises(openai.BadRequestError) as raised:
        client.images.generate(model="dall-e-3", prompt="a poster of my password")
    assert DENIED in str(raised.value.message)
    client.images.generate(model="dall-e-3", prompt=f"a card {CARD}")
    [body] = stack.upstream("/images/generations")
    assert body["prompt"] == "a card [CARD]"
    assert_counted(stack, metrics_before, {("preflight", "deny"): 1, ("preflight", "transform"): 1})


# ---------------------------------------------------------------------------------------------
# A default_on guard cannot be switched off by the client

ADMIN_CLAIM = {"disable_global_guardrails": True, "opted_out_global_guardrails": ["sigil-hooks"]}
CLAIMS = {
    "guardrails-off": {"guardrails": {"sigil-hooks": False}},
    "guardrails-empty": {"guardrails": []},
    "metadata-key": {"metadata": {"user_api_key_metadata": ADMIN_CLAIM}},
    "metadata-team": {"metadata": {"user_api_key_team_metadata": ADMIN_CLAIM}},
    "litellm_metadata-key": {"litellm_metadata": {"user_api_key_metadata": ADMIN_CLAIM}},
    "litellm_metadata-team": {"litellm_metadata": {"user_api_key_team_metadata": ADMIN_CLAIM}},
    "disable-flag": {"disable_global_guardrails": True, "opted_out_global_guardrails": ["sigil-hooks"]},
}


@pytest.mark.parametrize("claim", list(CLAIMS))
def test_a_client_cannot_switch_the_default_on_guard_off(stack: Stack, claim: str) -> None:
    body = CLAIMS[claim]
    with pytest.raises(openai.BadRequestError):
        stack.openai().chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "password"}], extra_body=body
        )
    with pytest.raises(openai.BadRequestError):
        stack.openai().responses.create(model="gpt-4o-mini", input="password", extra_body=body)
    with pytest.raises(anthropic.BadRequestError):
        stack.anthropic().messages.create(
            model="claude-sonnet-4-5",
            max_tokens=16,
            messages=[{"role": "user", "content": "password"}],
            extra_body=body,
        )
    assert stack.upstream("/chat/completions") == stack.upstream("/responses") == stack.upstream("/messages") == []
