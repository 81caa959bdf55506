"""The mock sink's hooks as a process: rules from ``--hook-rules`` at start, judged through the SDK's public
``Client.evaluate_hook`` with the export's auth; a bad rules file stops the sink with one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sigil_mock_sink.testing import SinkProcess
from sigil_sdk import ApiConfig, AuthConfig, Client, ClientConfig, GenerationExportConfig
from sigil_sdk.config import HooksConfig
from sigil_sdk.hooks import HookContext, HookEvaluateRequest, HookEvaluateResponse, HookInput, HookModel
from sigil_sdk.models import Message, MessageRole, Part, PartKind

pytestmark = pytest.mark.integration

TENANT = "acme"


def ask(client: Client, text: str) -> HookEvaluateResponse:
    return client.evaluate_hook(
        HookEvaluateRequest(
            phase="preflight",
            context=HookContext(model=HookModel("openai", "gpt-4o-mini")),
            input=HookInput(messages=[Message(role=MessageRole.USER, parts=[Part(kind=PartKind.TEXT, text=text)])]),
        )
    )


def test_rules_from_a_file_through_the_sdk_client(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(
        json.dumps(
            {
                "rules": [{"id": "no-drop", "pattern": "(?i)drop table", "reason": "no SQL"}],
                "faults": {"delay_ms": 0},
            }
        )
    )
    with SinkProcess(auth="tenant", args=["--hook-rules", str(rules)]) as sink:
        config = ClientConfig(
            generation_export=GenerationExportConfig(
                protocol="http", endpoint=sink.http_url, auth=AuthConfig(mode="tenant", tenant_id=TENANT)
            ),
            api=ApiConfig(endpoint=sink.http_url),
            hooks=HooksConfig(enabled=True, timeout_seconds=5, fail_open=False),
        )
        client = Client(config)
        try:
            denied = ask(client, "please DROP TABLE users")
            assert denied.is_deny and denied.rule_id == "no-drop" and denied.reason == "no SQL"
            assert not ask(client, "hello").is_deny
        finally:
            client.shutdown()
        evaluations = sink.request("GET", "/api/v1/hook-evaluations")
        assert [item["tenant"] for item in evaluations["items"]] == [TENANT, TENANT]
        assert evaluations["counts"] == {"deny": 1, "allow": 1}


def test_a_bad_rules_file_stops_the_sink_with_one_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"id": "x", "pattern": "("}]))
    result = subprocess.run(
        [sys.executable, "-m", "sigil_mock_sink", "--http-port", "0", "--grpc-port", "0", "--hook-rules", str(rules)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "rule 'x': 'pattern' is not a regular expression" in lines[0]
