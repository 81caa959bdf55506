"""Sigil hooks at the gateway, for real: ``litellm --config config/config.yaml`` with ``sigil_callback``, the
mock sink evaluating hook rules (``/api/v1/hooks:evaluate``, enforcing the export's auth), the fake upstream
recording what it received, all driven by the official OpenAI client.

Allowed, denied (status, message, the upstream never called, the refusal recorded in Sigil once),
transformed (the upstream and Sigil see the redacted text), streaming, the context sent to the rules,
timeouts and outages in both fail modes, and hooks off (not one evaluation).
"""

from __future__ import annotations

import contextlib
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import openai
import pytest
from fake_llm.testing import FakeLLMProcess
from sigil_devstack.proxy import ProxyProcess
from sigil_mock_sink.testing import SinkProcess

# one worker runs the module under `make test` (-n 2 --dist loadgroup): its shared stack starts once
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("hooks_proxy")]

TENANT = "hooks-tenant"
TOKEN = "sigil-" + secrets.token_hex(16)
CARD = "4111-1111-1111-1111"
RULES = {
    "rules": [
        {"id": "no-passwords", "pattern": "(?i)password", "reason": "passwords must not reach a model"},
        {"id": "cards", "action": "redact", "pattern": r"\b(?:\d{4}-){3}\d{4}\b", "replacement": "[CARD]"},
    ]
}
HOOK_TIMEOUT = "0.5"
FAILED_LINE = "sigil: hook evaluation failed"


@dataclass
class Stack:
    sink: SinkProcess
    proxy: ProxyProcess
    fake: FakeLLMProcess

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.proxy.base_url, api_key=self.proxy.master_key, max_retries=0, timeout=30)

    def chat(self, text: str, conversation: str = "", **extra: Any) -> Any:
        metadata = {"conversation_id": conversation or new_conversation(), **extra.pop("metadata", {})}
        return self.client().chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}],
            extra_body={"metadata": metadata},
            **extra,
        )

    def upstream_texts(self) -> list[str]:
        """Every message text the fake upstream received."""
        return [
            str(message.get("content"))
            for request in self.fake.requests("/chat/completions")
            for message in (request.get("body") or {}).get("messages", [])
        ]

    def evaluations(self) -> dict[str, Any]:
        return dict(self.sink.request("GET", "/api/v1/hook-evaluations"))

    def hook_faults(self, **faults: Any) -> None:
        self.sink.request("DELETE", "/api/v1/hook-faults")
        if faults:
            self.sink.request("POST", "/api/v1/hook-faults", faults)


def new_conversation() -> str:
    return "hooks-" + uuid.uuid4().hex[:12]


def marker() -> str:
    return uuid.uuid4().hex[:10]


@contextlib.contextmanager
def running(fake: FakeLLMProcess, *, sink_auth: str, hooks: dict[str, str] | None, **env: str) -> Iterator[Stack]:
    """Sink (with RULES, enforcing ``sink_auth``) + proxy; afterwards no secret may be in the proxy's output."""
    sink_args: dict[str, Any] = {"auth": sink_auth}
    proxy_env = {
        "SIGIL_ENDPOINT": "",
        "SIGIL_PROTOCOL": "http",
        "SIGIL_AUTH_MODE": sink_auth,
        "SIGIL_FLUSH_INTERVAL": "0.2",
        "OPENAI_API_BASE": fake.base_url,
        "OPENAI_API_KEY": "fake-key",
    }
    if sink_auth == "bearer":
        sink_args["bearer_token"] = TOKEN
        proxy_env["SIGIL_AUTH_TOKEN"] = TOKEN
    if sink_auth == "basic":
        sink_args.update(basic_user=TENANT, basic_password=TOKEN)
        proxy_env.update(SIGIL_AUTH_TENANT_ID=TENANT, SIGIL_AUTH_TOKEN=TOKEN)
    with SinkProcess(**sink_args) as sink:
        sink.request("POST", "/api/v1/hook-rules", RULES)
        proxy_env["SIGIL_ENDPOINT"] = sink.http_url
        proxy_env.update(hooks or {})
        proxy_env.update(env)
        with ProxyProcess(env=proxy_env) as proxy:
            yield Stack(sink, proxy, fake)
            output = proxy.output()
    assert TOKEN not in output, "the Sigil token appeared in the proxy's output"
    assert proxy.master_key not in output


@pytest.fixture(scope="module")
def open_stack(fake: FakeLLMProcess) -> Iterator[Stack]:
    """Hooks on, fail-open (the default), bearer auth, HTTP export, a recorder process (the in-process
    placement has a stack of its own below)."""
    hooks = {"SIGIL_HOOKS_ENABLED": "true", "SIGIL_HOOKS_TIMEOUT": HOOK_TIMEOUT, "SIGIL_AGENT_NAME": "gateway"}
    with running(fake, sink_auth="bearer", hooks=hooks, SIGIL_TAGS="env=test", SIGIL_RECORDER="process") as stack:
        yield stack


# ---------------------------------------------------------------------------------------------
# Fail-open proxy: allow, deny, transform, streaming, context, timeout and outage


def test_allowed_request_reaches_the_upstream_unchanged(open_stack: Stack) -> None:
    text = f"hello {marker()}"
    response = open_stack.chat(text)
    assert response.choices[0].message.content == f"echo: {text}"
    assert text in open_stack.upstream_texts()


def test_denied_request_is_a_400_naming_the_rule_and_never_reaches_the_upstream(open_stack: Stack) -> None:
    conversation = new_conversation()
    text = f"my password is hunter2 {marker()}"
    with pytest.raises(openai.BadRequestError) as raised:
        open_stack.chat(text, conversation)
    error = raised.value
    assert error.status_code == 400
    assert "sigil hook denied by rule no-passwords: passwords must not reach a model" in error.message
    assert isinstance(error.body, dict) and error.body["type"] == "invalid_request_error"
    fields = error.body["provider_specific_fields"]
    assert (fields["code"], fields["rule_id"]) == ("sigil_hook_denied", "no-passwords")
    assert not any(text in seen for seen in open_stack.upstream_texts()), "the upstream was called"
    [generation] = open_stack.sink.wait_for_count(1, conversation_id=conversation)
    time.sleep(1.0)  # a duplicate (LiteLLM calls both failure hooks for a proxy-only error) would arrive by now
    generations = open_stack.sink.generations(conversation_id=conversation)
    assert len(generations) == 1, "the refusal is recorded once"
    assert "no-passwords" in generation["call_error"]
    assert generation["_tenant"] == "fake"


def test_transformed_request_the_upstream_and_sigil_see_the_redacted_text(open_stack: Stack) -> None:
    conversation = new_conversation()
    tag = marker()
    response = open_stack.chat(f"charge {CARD} please {tag}", conversation)
    assert response.choices[0].message.content == f"echo: charge [CARD] please {tag}"
    assert f"charge [CARD] please {tag}" in open_stack.upstream_texts()
    assert not any(CARD in seen for seen in open_stack.upstream_texts())
    [generation] = open_stack.sink.wait_for_count(1, conversation_id=conversation)
    assert CARD not in str(generation["input"]) and "[CARD]" in str(generation["input"])


def test_streaming_requests(open_stack: Stack) -> None:
    tag = marker()
    stream = open_stack.chat(f"stream {CARD} {tag}", stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == f"echo: stream [CARD] {tag}"
    assert f"stream [CARD] {tag}" in open_stack.upstream_texts()

    denied = f"stream my password {marker()}"
    with pytest.raises(openai.BadRequestError) as raised:
        for _ in open_stack.chat(denied, stream=True):
            pass
    assert "no-passwords" in raised.value.message
    assert not any(denied in seen for seen in open_stack.upstream_texts())


def test_the_rules_see_messages_system_prompt_tools_model_agent_and_tags(open_stack: Stack) -> None:
    tag = marker()
    tools = [{"type": "function", "function": {"name": "lookup", "description": "Look up", "parameters": {}}}]
    open_stack.chat(
        f"context {tag}",
        metadata={"agent_name": "planner", "agent_version": "3.2", "tags": ["team-a"]},
        tools=tools,
    )
    [seen] = [item for item in open_stack.evaluations()["items"] if tag in str(item["request"])]
    assert seen["tenant"] == "fake" and seen["timeout_ms"] == "500"
    request = seen["request"]
    assert request["phase"] == "preflight"
    assert request["context"]["model"]["name"] == "gpt-4o-mini"
    assert (request["context"]["agent_name"], request["context"]["agent_version"]) == ("planner", "3.2")
    assert request["context"]["tags"] == {"env": "test", "litellm.tag.team-a": "team-a"}
    assert request["input"]["system_prompt"] == "Be brief."
    assert request["input"]["messages"] == [{"role": "user", "parts": [{"text": f"context {tag}"}]}]
    assert request["input"]["tools"][0]["name"] == "lookup"

    open_stack.chat(f"defaults {marker()}")
    last = open_stack.evaluations()["items"][-1]["request"]
    assert last["context"]["agent_name"] == "gateway", "SIGIL_AGENT_NAME when the request names none"


def test_timeout_and_outage_fail_open_let_requests_through_and_log_once(open_stack: Stack) -> None:
    try:
        open_stack.hook_faults(delay_ms=3000)
        slow = f"slow hooks {marker()} password"  # would be denied, but the answer comes too late
        started = time.perf_counter()
        assert open_stack.chat(slow).choices[0].message.content == f"echo: {slow}"
        assert time.perf_counter() - started < 2.5, "SIGIL_HOOKS_TIMEOUT=0.5 was honoured"
        open_stack.hook_faults(unavailable=True)
        down = f"sigil down {marker()} password"
        assert open_stack.chat(down).choices[0].message.content == f"echo: {down}"
        assert slow in open_stack.upstream_texts() and down in open_stack.upstream_texts()
    finally:
        open_stack.hook_faults()
    output = open_stack.proxy.output()
    lines = [line for line in output.splitlines() if FAILED_LINE in line]
    assert len(lines) == 1, "logged once per interval, not once per request"
    assert "request let through (SIGIL_HOOKS_FAIL_OPEN=true)" in lines[0]
    assert "SIGIL_HOOKS_TIMEOUT=0.5s" in lines[0]


# ---------------------------------------------------------------------------------------------
# Fail-closed proxy (gRPC export, basic auth, in-process recorder)


@pytest.fixture(scope="module")
def closed(fake: FakeLLMProcess) -> Iterator[Stack]:
    """Fail-closed; the export over gRPC, so hooks are pointed at the sink's HTTP API by SIGIL_HOOKS_ENDPOINT."""
    sink = SinkProcess(auth="basic", basic_user=TENANT, basic_password=TOKEN)
    with sink:
        sink.request("POST", "/api/v1/hook-rules", RULES)
        env = {
            "SIGIL_ENDPOINT": sink.grpc_target,
            "SIGIL_PROTOCOL": "grpc",
            "SIGIL_INSECURE": "true",
            "SIGIL_AUTH_MODE": "basic",
            "SIGIL_AUTH_TENANT_ID": TENANT,
            "SIGIL_AUTH_TOKEN": TOKEN,
            "SIGIL_RECORDER": "inprocess",
            "SIGIL_FLUSH_INTERVAL": "0.2",
            "SIGIL_HOOKS_ENABLED": "true",
            "SIGIL_HOOKS_ENDPOINT": sink.http_url,
            "SIGIL_HOOKS_TIMEOUT": HOOK_TIMEOUT,
            "SIGIL_HOOKS_FAIL_OPEN": "false",
            "OPENAI_API_BASE": fake.base_url,
            "OPENAI_API_KEY": "fake-key",
        }
        with ProxyProcess(env=env) as proxy:
            yield Stack(sink, proxy, fake)
            output = proxy.output()
    assert TOKEN not in output


def test_fail_closed_allows_denies_and_transforms_as_usual(closed: Stack) -> None:
    text = f"fine {CARD} {marker()}"
    assert closed.chat(text).choices[0].message.content == "echo: " + text.replace(CARD, "[CARD]")
    conversation = new_conversation()
    with pytest.raises(openai.BadRequestError):
        closed.chat(f"password {marker()}", conversation)
    [generation] = closed.sink.wait_for_count(1, conversation_id=conversation)
    time.sleep(1.0)
    assert len(closed.sink.generations(conversation_id=conversation)) == 1, "recorded once (in-process recorder)"
    assert "no-passwords" in generation["call_error"] and generation["_tenant"] == TENANT
    assert closed.evaluations()["items"][-1]["tenant"] == TENANT, "hooks carry the export's basic auth"


@pytest.mark.parametrize("fault", [{"unavailable": True}, {"delay_ms": 3000}], ids=["outage", "timeout"])
def test_fail_closed_answers_503_and_never_calls_the_upstream(closed: Stack, fault: dict[str, Any]) -> None:
    text = f"no sigil {marker()}"
    try:
        closed.hook_faults(**fault)
        started = time.perf_counter()
        with pytest.raises(openai.InternalServerError) as raised:
            closed.chat(text)
        elapsed = time.perf_counter() - started
    finally:
        closed.hook_faults()
    assert raised.value.status_code == 503
    assert "sigil hooks unavailable" in raised.value.message
    assert "SIGIL_HOOKS_FAIL_OPEN=false" in raised.value.message
    assert elapsed < 2.5
    assert not any(text in seen for seen in closed.upstream_texts())


# ---------------------------------------------------------------------------------------------
# Hooks off


def test_hooks_off_evaluates_nothing(fake: FakeLLMProcess) -> None:
    with SinkProcess(auth="none") as sink:
        sink.request("POST", "/api/v1/hook-rules", RULES)
        env = {
            "SIGIL_ENDPOINT": sink.http_url,
            "SIGIL_PROTOCOL": "http",
            "SIGIL_FLUSH_INTERVAL": "0.2",
            "OPENAI_API_BASE": fake.base_url,
            "OPENAI_API_KEY": "fake-key",
        }
        with ProxyProcess(env=env) as proxy:
            stack = Stack(sink, proxy, fake)
            text = f"password {CARD} {marker()}"
            assert stack.chat(text).choices[0].message.content == f"echo: {text}"
            assert text in stack.upstream_texts()
            assert stack.evaluations() == {"items": [], "counts": {}}
            assert "preflight hooks" not in proxy.output()
