"""SIGIL_REDACT_SECRETS through the real proxy: one fake secret of every family sigil-sdk's redaction knows
(tests/secret_samples.py), pasted everywhere a request carries text, reaches neither the mock sink (the
generations) nor its OTLP receiver (spans, span events, metrics) — in process, handed to a recorder process
over the pipe, and through the disk spool (whose files must not hold it either). Nothing is configured:
``full`` is the default.

Per family, a chat whose system prompt, user message, assistant tool call (arguments), tool result and
last message (which the fake upstream echoes into the answer) carry the secret; then every secret at once
in a streamed chat, a Responses call, an Anthropic Messages call (the official ``anthropic`` client), an
embedding, a failing call, and an MCP tool call (``execute_tool`` span: arguments and result).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from fake_llm.testing import FakeLLMProcess
from sigil_devstack.mcp_tools import SERVER, McpToolsProcess, config_with_server
from sigil_devstack.proxy import DEFAULT_CONFIG, ProxyProcess
from sigil_mock_sink.testing import SinkProcess

from tests.secret_samples import SAMPLES, Sample

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("secret_redaction")]

EVERY_SECRET = "\n".join(sample.text for sample in SAMPLES)
ECHOED = 60  # the fake upstream's answer quotes this many characters of the last message
STACKS = {
    "inprocess": {"SIGIL_RECORDER": "inprocess"},
    "process": {"SIGIL_RECORDER": "process"},
    "process+spool": {"SIGIL_RECORDER": "process", "SIGIL_SPOOL_DIR": "{tmp}/spool"},
}


@dataclass
class Stack:
    name: str
    sink: SinkProcess
    proxy: ProxyProcess
    spool: Path | None
    conversation: str

    def openai(self) -> openai.OpenAI:
        headers = {"x-litellm-session-id": self.conversation}
        return self.proxy.openai_client(max_retries=0, default_headers=headers)  # type: ignore[no-any-return]

    def anthropic(self) -> anthropic.Anthropic:
        headers = {"x-litellm-session-id": self.conversation}
        return anthropic.Anthropic(
            base_url=self.proxy.base_url, api_key=self.proxy.master_key, max_retries=0, default_headers=headers
        )

    def mcp_echo(self, text: str) -> str:
        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client

        async def run() -> str:
            headers = {
                "x-litellm-api-key": f"Bearer {self.proxy.master_key}",
                "x-litellm-session-id": self.conversation,
            }
            async with (
                httpx2.AsyncClient(headers=headers, timeout=30) as http,
                Client(streamable_http_client(f"{self.proxy.base_url}/mcp/", http_client=http)) as client,
            ):
                result = await client.call_tool(f"{SERVER}-echo", {"text": text})
            return "".join(getattr(block, "text", "") for block in result.content)

        return asyncio.run(run())


@pytest.fixture(scope="module", params=list(STACKS))
def stack(
    request: pytest.FixtureRequest, fake: FakeLLMProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("redaction")
    with McpToolsProcess() as tools, SinkProcess(auth="none") as sink:
        env = {
            "SIGIL_ENDPOINT": sink.http_url,
            "SIGIL_PROTOCOL": "http",
            "SIGIL_AUTH_MODE": "none",
            "SIGIL_FLUSH_INTERVAL": "0.2",
            "OPENAI_API_BASE": fake.base_url,
            "OPENAI_API_KEY": "fake-key",
            "ANTHROPIC_API_BASE": fake.root_url,
            "ANTHROPIC_API_KEY": "fake-key",
            "OTEL_EXPORTER_OTLP_ENDPOINT": sink.otlp_http_endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_METRIC_EXPORT_INTERVAL": "300",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            **{key: value.format(tmp=tmp) for key, value in STACKS[request.param].items()},
        }
        spool = Path(env["SIGIL_SPOOL_DIR"]) if "SIGIL_SPOOL_DIR" in env else None
        with ProxyProcess(config=config_with_server(DEFAULT_CONFIG, tools.url, tmp), env=env) as proxy:
            yield Stack(request.param, sink, proxy, spool, f"redact-{uuid.uuid4().hex[:12]}")


def _chat_with(sample: Sample) -> list[dict[str, Any]]:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "lookup", "arguments": json.dumps({"q": sample.text})},
    }
    last = sample.text if len(sample.text) <= ECHOED else f"is this safe? {sample.family}"
    return [
        {"role": "system", "content": f"Deployment notes:\n{sample.text}"},
        {"role": "user", "content": f"Why does this fail?\n{sample.text}"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": f"lookup found: {sample.text}"},
        {"role": "user", "content": last},
    ]


def _leaked(text: str) -> list[str]:
    return [sample.family for sample in SAMPLES if sample.body in text]


def test_no_secret_reaches_the_sink_or_the_otlp_receiver(stack: Stack) -> None:
    client = stack.openai()
    for sample in SAMPLES:
        client.chat.completions.create(model="gpt-4o-mini", messages=_chat_with(sample))  # type: ignore[arg-type]
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": EVERY_SECRET}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    client.responses.create(model="gpt-4o-mini", instructions=EVERY_SECRET, input=EVERY_SECRET)
    stack.anthropic().messages.create(
        model="claude-sonnet-4-5",
        max_tokens=64,
        system=EVERY_SECRET,
        messages=[{"role": "user", "content": EVERY_SECRET}],
    )
    client.embeddings.create(model="text-embedding-3-small", input=[s.text for s in SAMPLES])
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"{EVERY_SECRET} [fake:error-400]"}]
        )
    echoed = stack.mcp_echo(EVERY_SECRET)
    assert _leaked(echoed) == [s.family for s in SAMPLES], "the client itself gets the tool's answer unchanged"

    generations = stack.sink.wait_for_count(len(SAMPLES) + 4, conversation_id=stack.conversation)
    # a span per generation, the embedding's and the tool execution's
    spans = stack.sink.wait_for_spans(len(SAMPLES) + 6)
    deadline = time.monotonic() + 30
    while not stack.sink.spans(name="execute_tool echo") and time.monotonic() < deadline:
        time.sleep(0.1)
    spans = stack.sink.spans()
    stack.sink.wait_for_metric_points(1, name="gen_ai.client.token.usage")
    points = stack.sink.metric_points()

    to_sigil = json.dumps(generations)
    assert _leaked(to_sigil) == []
    assert [s.family for s in SAMPLES if f"[REDACTED:{s.family}]" not in to_sigil] == [], "each was sent, redacted"
    over_otlp = json.dumps(spans) + json.dumps(points)
    assert _leaked(over_otlp) == []
    [tool] = [s for s in spans if s["name"] == "execute_tool echo"]
    arguments = tool["attributes"]["gen_ai.tool.call.arguments"]
    assert (
        "[REDACTED:github-pat]" in arguments
        and "[REDACTED:github-pat]" in tool["attributes"]["gen_ai.tool.call.result"]
    )
    generation_spans = [s for s in spans if s["attributes"].get("gen_ai.conversation.id") == stack.conversation]
    assert len(generation_spans) >= len(SAMPLES) + 4
    assert _leaked(stack.proxy.output()) == [], "nor in the proxy's log"
    if stack.spool is not None:
        files = [p for p in stack.spool.rglob("*") if p.is_file()]
        assert files, "the events went through the disk spool"
        assert _leaked("".join(p.read_bytes().decode("latin-1") for p in files)) == [], "nor on its disk"
