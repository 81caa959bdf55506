"""The Sigil guardrail in config.yaml's ``guardrails:`` section, for real: the LiteLLM proxy, the mock sink
evaluating preflight and postflight rules, the fake upstream, the official OpenAI client.

Selected per request (``default_on: false`` and the request's ``guardrails`` field); preflight deny and
transform; postflight deny and transform, complete and streamed; the decisions in the recorded
generation's metadata; the fail modes per phase (preflight fail-open, postflight fail-closed, in one
proxy). Each test also checks the hook metrics the proxy wrote to its ``PROMETHEUS_MULTIPROC_DIR``:
evaluations by phase and outcome exactly as it drove them, one latency observation per evaluation.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from fake_llm.testing import FakeLLMProcess
from sigil_devstack.proxy import DEFAULT_CONFIG, ProxyProcess
from sigil_mock_sink.testing import SinkProcess

from tests.integration.hook_stacks import clear_hook_state, evaluated_phases, summed_hook_metrics

# one worker runs the module under `make test` (-n 2 --dist loadgroup): its shared stack starts once
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("hooks_guardrail_proxy")]

TENANT = "guardrail-tenant"
RULES = {
    "rules": [
        {"id": "no-passwords", "pattern": "(?i)password", "reason": "passwords must not reach a model"},
        {
            "id": "cards",
            "action": "redact",
            "pattern": r"\b(?:\d{4}-){3}\d{4}\b",
            "replacement": "[CARD]",
            "phases": ["postflight"],
        },
        {"id": "no-sql", "pattern": "(?i)drop table", "reason": "no SQL in answers", "phases": ["postflight"]},
        {"id": "ssn", "action": "redact", "pattern": r"\b\d{3}-\d{2}-\d{4}\b", "replacement": "[SSN]"},
    ]
}
GUARDRAILS = """
guardrails:
  - guardrail_name: sigil
    litellm_params:
      guardrail: sigil_sdk_litellm.proxy.guardrail.SigilGuardrail
      mode: [pre_call, post_call]
      default_on: false
"""
CARD = "4111-1111-1111-1111"


class Stack:
    def __init__(self, sink: SinkProcess, proxy: ProxyProcess, fake: FakeLLMProcess, metrics_dir: Path) -> None:
        self.sink, self.proxy, self.fake = sink, proxy, fake
        self.metrics_dir = metrics_dir

    def chat(self, text: str, *, guarded: bool = True, stream: bool = False, **metadata: Any) -> Any:
        client = openai.OpenAI(base_url=self.proxy.base_url, api_key=self.proxy.master_key, max_retries=0, timeout=30)
        body: dict[str, Any] = {"metadata": {"conversation_id": metadata.pop("conversation", new_conversation())}}
        if guarded:
            body["guardrails"] = ["sigil"]
        response = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": text}], stream=stream, extra_body=body
        )
        if stream:
            return "".join((c.choices[0].delta.content or "") for c in response if c.choices)
        return response.choices[0].message.content

    def hook_metrics(self) -> Counter[tuple[str, str]]:
        return summed_hook_metrics(self.metrics_dir)

    def phases(self) -> list[str]:
        return evaluated_phases(self.sink)


def new_conversation() -> str:
    return "guardrail-" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, fake: FakeLLMProcess) -> Iterator[Stack]:
    directory = tmp_path_factory.mktemp("guardrail-config")
    metrics_dir = tmp_path_factory.mktemp("guardrail-metrics")
    config = directory / "config.yaml"
    config.write_text(Path(DEFAULT_CONFIG).read_text(encoding="utf-8") + GUARDRAILS, encoding="utf-8")
    with SinkProcess(auth="tenant") as sink:
        sink.request("POST", "/api/v1/hook-rules", RULES)
        env = {
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),  # SIGIL_METRICS=auto: the hook metrics are on
            "SIGIL_ENDPOINT": sink.http_url,
            "SIGIL_PROTOCOL": "http",
            "SIGIL_AUTH_MODE": "tenant",
            "SIGIL_AUTH_TENANT_ID": TENANT,
            "SIGIL_FLUSH_INTERVAL": "0.2",
            "SIGIL_HOOKS_TIMEOUT": "0.5",
            "SIGIL_HOOKS_FAIL_OPEN": "true",
            "SIGIL_HOOKS_POSTFLIGHT_FAIL_OPEN": "false",
            "OPENAI_API_BASE": fake.base_url,
            "OPENAI_API_KEY": "fake-key",
        }
        with ProxyProcess(config=config, env=env) as proxy:
            yield Stack(sink, proxy, fake, metrics_dir)


@pytest.fixture(autouse=True)
def _clean(stack: Stack) -> None:
    clear_hook_state(stack.sink)


@pytest.fixture
def metrics_before(stack: Stack) -> Counter[tuple[str, str]]:
    return stack.hook_metrics()


def assert_counted(stack: Stack, before: Counter[tuple[str, str]], expected: dict[tuple[str, str], int]) -> None:
    """The proxy's hook metrics grew by exactly the evaluations ``expected`` ((phase, outcome) → count),
    with one latency observation each."""
    observed: Counter[tuple[str, str]] = Counter()
    for (phase, _), n in expected.items():
        observed[(phase, "observed")] += n
    grown = stack.hook_metrics() - before
    assert grown == Counter(expected) + observed, (grown, expected)


def test_only_requests_that_name_the_guardrail_are_judged(
    stack: Stack, metrics_before: Counter[tuple[str, str]]
) -> None:
    assert stack.chat(f"card {CARD}", guarded=False) == f"echo: card {CARD}"
    assert stack.phases() == [], "default_on: false and not named: no evaluation"
    assert stack.chat(f"card {CARD}") == "echo: card [CARD]"
    assert stack.phases() == ["preflight", "postflight"]
    assert_counted(stack, metrics_before, {("preflight", "allow"): 1, ("postflight", "transform"): 1})


def test_preflight_deny(stack: Stack, metrics_before: Counter[tuple[str, str]]) -> None:
    before = len(stack.fake.requests("/chat/completions"))
    with pytest.raises(openai.BadRequestError) as raised:
        stack.chat("my password is hunter2")
    assert raised.value.body["message"] == "sigil hook denied by rule no-passwords: passwords must not reach a model"
    assert len(stack.fake.requests("/chat/completions")) == before, "the model was never called"
    assert_counted(stack, metrics_before, {("preflight", "deny"): 1})


def test_preflight_transform_reaches_the_model(stack: Stack, metrics_before: Counter[tuple[str, str]]) -> None:
    assert stack.chat("ssn 123-45-6789") == "echo: ssn [SSN]", "the model saw the redacted request"
    assert_counted(stack, metrics_before, {("preflight", "transform"): 1, ("postflight", "allow"): 1})


def test_postflight_deny_names_rule_reason_and_phase(stack: Stack, metrics_before: Counter[tuple[str, str]]) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        stack.chat("please DROP TABLE users")  # the fake upstream echoes it: the answer is denied
    body: Any = raised.value.body
    assert body["message"] == "sigil hook denied by rule no-sql: no SQL in answers"
    fields = body["provider_specific_fields"]
    assert (fields["code"], fields["rule_id"], fields["reason"], fields["phase"]) == (
        "sigil_hook_denied",
        "no-sql",
        "no SQL in answers",
        "postflight",
    )
    assert_counted(stack, metrics_before, {("preflight", "allow"): 1, ("postflight", "deny"): 1})


def test_postflight_on_streams_transform_and_deny(stack: Stack, metrics_before: Counter[tuple[str, str]]) -> None:
    assert stack.chat(f"card {CARD}", stream=True) == "echo: card [CARD]"
    with pytest.raises(openai.BadRequestError) as raised:
        stack.chat("DROP TABLE users", stream=True)
    assert raised.value.status_code == 400, "the stream is held back, so the client gets the error, not the answer"
    assert_counted(
        stack, metrics_before, {("preflight", "allow"): 2, ("postflight", "transform"): 1, ("postflight", "deny"): 1}
    )


def test_decisions_are_in_the_recorded_generation(stack: Stack, metrics_before: Counter[tuple[str, str]]) -> None:
    conversation = new_conversation()
    stack.chat(f"card {CARD}", conversation=conversation)
    [generation] = stack.sink.wait_for_count(1, conversation_id=conversation)
    assert generation["metadata"]["sigil.guard.decisions"] == [
        {"phase": "postflight", "action": "transform", "rule_id": "cards"}
    ]
    assert [p.get("text") for m in generation["output"] for p in m["parts"]] == ["echo: card [CARD]"]
    # a deny in either phase: a generation with the error and the decision
    for text, phase, rule in [("password", "preflight", "no-passwords"), ("DROP TABLE users", "postflight", "no-sql")]:
        denied = new_conversation()
        with pytest.raises(openai.BadRequestError):
            stack.chat(text, conversation=denied)
        [refused] = stack.sink.wait_for_count(1, conversation_id=denied)
        assert refused["metadata"]["sigil.guard.decisions"] == [{"phase": phase, "action": "deny", "rule_id": rule}]
        assert rule in refused["call_error"], phase
    assert_counted(
        stack,
        metrics_before,
        {
            ("preflight", "allow"): 2,
            ("preflight", "deny"): 1,
            ("postflight", "transform"): 1,
            ("postflight", "deny"): 1,
        },
    )


def test_fail_modes_per_phase(stack: Stack, metrics_before: Counter[tuple[str, str]]) -> None:
    stack.sink.request("POST", "/api/v1/hook-faults", {"unavailable": True})
    # preflight fails open (the request goes on), postflight fails closed (the answer is withheld)
    with pytest.raises(openai.InternalServerError) as raised:
        stack.chat("hello")
    assert raised.value.status_code == 503
    assert "SIGIL_HOOKS_POSTFLIGHT_FAIL_OPEN=false" in raised.value.message
    counts = stack.sink.request("GET", "/api/v1/hook-evaluations")["counts"]
    assert counts.get("503") == 2, "both phases asked, both answered 503"
    output = stack.proxy.output()
    assert "hook evaluation failed, request let through (SIGIL_HOOKS_FAIL_OPEN=true)" in output
    assert "hook evaluation failed (postflight), answer refused with 503" in output
    assert "metrics stay in memory" not in output, "the preset directory is there before prometheus_client"
    assert_counted(stack, metrics_before, {("preflight", "fail_open"): 1, ("postflight", "fail_closed"): 1})
