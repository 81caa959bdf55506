"""The mock sink's ``/api/v1/hooks:evaluate`` (tools/src/sigil_mock_sink/hooks.py): rules, wire format,
auth and faults, in process with aiohttp's test server; the SDK's own client is the reference."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sigil_mock_sink.__main__ import initial_hooks, parse_args
from sigil_mock_sink.auth import Authenticator
from sigil_mock_sink.core import Sink
from sigil_mock_sink.hooks import HookFaults, HookRequestError, check_request, evaluate, parse_rules
from sigil_mock_sink.http_app import create_app
from sigil_mock_sink.store import Store
from sigil_sdk.config import HooksConfig
from sigil_sdk.errors import HookTransportError
from sigil_sdk.hooks import (
    HookContext,
    HookEvaluateRequest,
    HookEvaluateResponse,
    HookInput,
    HookModel,
    evaluate_hook,
)
from sigil_sdk.models import Message, MessageRole, Part, PartKind, ToolCall, ToolDefinition, ToolResult

TOKEN = "sink-token-123"
RULES = [
    {"id": "no-secrets", "pattern": "(?i)password", "reason": "passwords are not allowed"},
    {"id": "cards", "action": "redact", "pattern": r"\b\d{4}-\d{4}-\d{4}-\d{4}\b", "replacement": "[CARD]"},
]


def user(text: str) -> Message:
    return Message(role=MessageRole.USER, parts=[Part(kind=PartKind.TEXT, text=text)])


def request(*texts: str, system: str = "", **context: Any) -> HookEvaluateRequest:
    return HookEvaluateRequest(
        phase="preflight",
        context=HookContext(model=HookModel(provider="openai", name="gpt-4o-mini"), **context),
        input=HookInput(messages=[user(t) for t in texts], system_prompt=system),
    )


@pytest.fixture
async def client() -> AsyncIterator[TestClient[Any, Any]]:
    sink = Sink(Store(max_items=100), Authenticator("bearer", bearer_token=TOKEN))
    async with TestClient(TestServer(create_app(sink))) as test_client:
        yield test_client


async def sdk_evaluate(client: TestClient[Any, Any], req: HookEvaluateRequest, **hooks: Any) -> HookEvaluateResponse:
    """The SDK's blocking evaluate_hook against the test server (in a thread, the loop serves)."""
    config = HooksConfig(enabled=True, **{"timeout_seconds": 5.0, "fail_open": False, **hooks})
    url = str(client.make_url("/"))
    return await asyncio.to_thread(
        evaluate_hook,
        api_endpoint=url,
        insecure=True,
        extra_headers={"Authorization": f"Bearer {TOKEN}"},
        hooks=config,
        request=req,
    )


async def set_rules(client: TestClient[Any, Any], rules: Any) -> Any:
    response = await client.post("/api/v1/hook-rules", json=rules)
    assert response.status == 200, await response.text()
    return await response.json()


async def test_no_rules_allow(client: TestClient[Any, Any]) -> None:
    response = await sdk_evaluate(client, request("hello"))
    assert response.action == "allow" and response.transformed_input is None


async def test_deny_and_redact_through_the_sdk(client: TestClient[Any, Any]) -> None:
    shown = await set_rules(client, {"rules": RULES})
    assert [rule["id"] for rule in shown["rules"]] == ["no-secrets", "cards"]

    denied = await sdk_evaluate(client, request("hi", "my Password is x"))
    assert denied.is_deny and denied.rule_id == "no-secrets" and denied.reason == "passwords are not allowed"
    assert [e.rule_id for e in denied.evaluations] == ["no-secrets"] and not denied.evaluations[0].passed

    redacted = await sdk_evaluate(client, request("card 4111-1111-1111-1111 please", system="sys 4111-1111-1111-1111"))
    assert redacted.action == "allow"
    assert redacted.transformed_input is not None
    [message] = redacted.transformed_input.messages
    assert message.parts[0].text == "card [CARD] please"
    assert redacted.transformed_input.system_prompt == "sys [CARD]"

    plain = await sdk_evaluate(client, request("nothing to see"))
    assert plain.action == "allow" and plain.transformed_input is None
    assert [e.passed for e in plain.evaluations] == [True, True]


async def test_rules_narrowed_by_model_agent_and_tags(client: TestClient[Any, Any]) -> None:
    await set_rules(
        client,
        [
            {
                "id": "only-planner",
                "pattern": "x",
                "agent_name": "planner",
                "model": "gpt-4o-mini",
                "tags": {"env": "prod"},
            }
        ],
    )
    assert not (await sdk_evaluate(client, request("x"))).is_deny
    assert not (await sdk_evaluate(client, request("x", agent_name="planner"))).is_deny
    assert (await sdk_evaluate(client, request("x", agent_name="planner", tags={"env": "prod"}))).is_deny


async def test_auth_is_the_ingest_auth(client: TestClient[Any, Any]) -> None:
    body = {"phase": "preflight", "input": {"messages": [{"role": "user", "parts": [{"text": "hi"}]}]}}
    response = await client.post("/api/v1/hooks:evaluate", json=body)
    assert response.status == 401 and (await response.text()) == "invalid bearer token\n"
    response = await client.post("/api/v1/hooks:evaluate", json=body, headers={"Authorization": "Bearer wrong"})
    assert response.status == 401
    response = await client.post("/api/v1/hooks:evaluate", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status == 200 and (await response.json())["action"] == "allow"
    response = await client.get("/api/v1/hooks:evaluate", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status == 405


async def test_a_request_off_the_wire_format_is_a_400(client: TestClient[Any, Any]) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for body, fragment in [
        (b"not json", "invalid hook request"),
        (json.dumps({"phase": "midflight"}).encode(), "phase must be one of"),
        (json.dumps({"phase": "preflight", "input": {"msgs": []}}).encode(), "unknown field 'msgs'"),
        (
            json.dumps({"phase": "preflight", "input": {"messages": [{"role": "system", "parts": []}]}}).encode(),
            "role must be user, assistant or tool",
        ),
    ]:
        response = await client.post("/api/v1/hooks:evaluate", data=body, headers=headers)
        assert response.status == 400
        assert fragment in await response.text()


async def test_every_part_kind_the_sdk_sends_is_accepted(client: TestClient[Any, Any]) -> None:
    req = HookEvaluateRequest(
        phase="preflight",
        context=HookContext(model=HookModel("openai", "m"), agent_name="a", agent_version="1", tags={"k": "v"}),
        input=HookInput(
            messages=[
                user("hi"),
                Message(
                    role=MessageRole.ASSISTANT,
                    parts=[
                        Part(kind=PartKind.THINKING, thinking="hmm"),
                        Part(kind=PartKind.TOOL_CALL, tool_call=ToolCall(id="c", name="f", input_json=b'{"a":1}')),
                    ],
                ),
                Message(
                    role=MessageRole.TOOL,
                    parts=[
                        Part(
                            kind=PartKind.TOOL_RESULT,
                            tool_result=ToolResult(tool_call_id="c", name="f", content="ok", content_json=b"{}"),
                        )
                    ],
                ),
            ],
            tools=[ToolDefinition(name="f", description="d", type="function", input_schema_json=b"{}", deferred=True)],
            system_prompt="s",
            conversation_preview="p",
        ),
    )
    await set_rules(client, [{"id": "r", "action": "redact", "pattern": "ok"}])
    response = await sdk_evaluate(client, req)
    assert response.action == "allow"
    evaluations = await (await client.get("/api/v1/hook-evaluations")).json()
    [seen] = evaluations["items"]
    assert seen["tenant"] == "fake" and seen["timeout_ms"] == "5000"
    sent = seen["request"]
    assert sent["context"] == {
        "model": {"provider": "openai", "name": "m"},
        "agent_name": "a",
        "agent_version": "1",
        "tags": {"k": "v"},
    }
    assert base64.b64decode(sent["input"]["messages"][1]["parts"][1]["tool_call"]["input_json"]) == b'{"a":1}'
    assert seen["response"]["transformed_input"]["messages"][2]["parts"][0]["tool_result"]["content"] == "[REDACTED]"
    assert evaluations["counts"] == {"transform": 1}


async def test_faults_unavailable_and_delay(client: TestClient[Any, Any]) -> None:
    response = await client.post("/api/v1/hook-faults", json={"unavailable": True, "error_status": 502})
    assert (await response.json())["unavailable"] is True
    with pytest.raises(HookTransportError, match="status 502"):
        await sdk_evaluate(client, request("hi"))
    await client.delete("/api/v1/hook-faults")
    await client.post("/api/v1/hook-faults", json={"delay_ms": 1500})
    with pytest.raises(HookTransportError, match="timed out"):
        await sdk_evaluate(client, request("hi"), timeout_seconds=0.3)
    await client.delete("/api/v1/hook-faults")
    assert (await sdk_evaluate(client, request("hi"))).action == "allow"
    assert (await client.post("/api/v1/hook-faults", json={"delay": 1})).status == 400


async def test_bad_rules_are_refused_and_change_nothing(client: TestClient[Any, Any]) -> None:
    await set_rules(client, RULES)
    for bad in [{"rules": [{"id": "x"}]}, [{"id": "x", "pattern": "("}], [{"id": "a", "pattern": "a", "actn": "deny"}]]:
        response = await client.post("/api/v1/hook-rules", json=bad)
        assert response.status == 400 and "bad hook rules" in await response.text()
    assert len((await (await client.get("/api/v1/hook-rules")).json())["rules"]) == 2
    await client.delete("/api/v1/hook-rules")
    assert (await (await client.get("/api/v1/hook-rules")).json())["rules"] == []


def test_parse_rules_messages() -> None:
    cases = [
        ({"rules": "x"}, "must be a JSON list"),
        ({"rulez": []}, "unknown key 'rulez'"),
        ([1], "rule 1 is not an object"),
        ([{"pattern": "a"}], "'id' must be a non-empty string"),
        ([{"id": "a", "pattern": "a"}, {"id": "a", "pattern": "b"}], "appears twice"),
        ([{"id": "a", "pattern": "a", "action": "block"}], "'action' must be one of deny, redact"),
        ([{"id": "a", "pattern": "a", "phases": ["inflight"]}], "'phases'"),
        ([{"id": "a", "pattern": "a", "tags": {"k": 1}}], "'tags'"),
    ]
    for data, fragment in cases:
        with pytest.raises(ValueError, match=fragment.replace("(", r"\(")):
            parse_rules(data)


def test_evaluate_runs_rules_in_order_over_redacted_text() -> None:
    rules = parse_rules(
        [
            {"id": "mask", "action": "redact", "pattern": "secret", "replacement": "s3cr3t"},
            {"id": "deny-secret", "pattern": "secret"},
            {"id": "deny-mask", "pattern": "s3cr3t", "reason": "masked"},
        ]
    )
    message = {"role": "user", "parts": [{"text": "a secret"}]}
    body = check_request({"phase": "preflight", "input": {"messages": [message]}})
    answer = evaluate(rules, body)
    assert answer["action"] == "deny" and answer["rule_id"] == "deny-mask"
    assert [e["rule_id"] for e in answer["evaluations"]] == ["mask", "deny-secret", "deny-mask"]
    postflight = dict(body, phase="postflight")
    assert evaluate(rules, postflight) == {"action": "allow", "evaluations": []}


def test_postflight_rules_judge_and_redact_the_answer() -> None:
    rules = parse_rules(
        [
            {"id": "cards", "action": "redact", "pattern": "4111", "replacement": "[CARD]", "phases": ["postflight"]},
            {"id": "no-sql", "pattern": "DROP TABLE", "reason": "no SQL", "phases": ["postflight"]},
        ]
    )
    question = {"role": "user", "parts": [{"text": "my card?"}]}
    reply = {"role": "assistant", "parts": [{"text": "it is 4111"}]}
    body = check_request({"phase": "postflight", "input": {"messages": [question], "output": [reply]}})
    answer = evaluate(rules, body)
    assert answer["action"] == "allow"
    assert answer["transformed_input"]["output"] == [{"role": "assistant", "parts": [{"text": "it is [CARD]"}]}]
    denied = dict(
        body, input={"messages": [question], "output": [{"role": "assistant", "parts": [{"text": "DROP TABLE x"}]}]}
    )
    assert evaluate(rules, check_request(denied))["rule_id"] == "no-sql"
    assert evaluate(rules, dict(body, phase="preflight")) == {"action": "allow", "evaluations": []}


def test_check_request_rejects_bad_base64() -> None:
    bad = {"phase": "preflight", "input": {"tools": [{"name": "f", "input_schema_json": "!!"}]}}
    with pytest.raises(HookRequestError, match="base64"):
        check_request(bad)


def test_rules_and_faults_from_a_file_at_start(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": RULES, "faults": {"delay_ms": 10}}))
    state = initial_hooks(parse_args(["--hook-rules", str(path)]))
    assert [rule.id for rule in state.rules] == ["no-secrets", "cards"] and state.faults.delay_ms == 10
    path.write_text(json.dumps([{"id": "x"}]))
    with pytest.raises(ValueError, match=r"rules\.json: rule 'x': 'pattern'"):
        initial_hooks(parse_args(["--hook-rules", str(path)]))
    with pytest.raises(ValueError, match="cannot read hook rules file"):
        initial_hooks(parse_args(["--hook-rules", str(tmp_path / "missing.json")]))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"delay": 5}, "unknown hook fault 'delay' (known: delay_ms, unavailable, error_status, drop_connections)"),
        ({"delay_ms": -1}, "delay_ms must be a number from 0 to 600000"),
        ({"delay_ms": True}, "delay_ms must be a number from 0 to 600000"),
        ({"unavailable": "yes"}, "unavailable must be true or false"),
        ({"drop_connections": 1}, "drop_connections must be true or false"),
        ({"error_status": 418}, "error_status must be one of 429, 500, 502, 503, 504"),
    ],
)
def test_hook_faults_reject_bad_values_and_change_nothing(change: dict[str, Any], message: str) -> None:
    faults = HookFaults()
    with pytest.raises(ValueError) as excinfo:
        faults.update({"delay_ms": 250, **change} if "delay_ms" not in change else change)
    assert str(excinfo.value) == message
    assert faults.as_dict()["delay_ms"] == 0.0  # the valid key of the same update was not applied either
    faults.update({"delay_ms": 250, "unavailable": True, "error_status": 429})
    assert (faults.delay_ms, faults.unavailable, faults.error_status) == (250.0, True, 429)
