"""Drop-in parity with PyPI ``sigil-sdk-litellm`` (the package users migrate from): a differential test.

Real LiteLLM events are captured through the real proxy (a capturing callback in front of the fake
upstream, driven by the official ``openai`` client), plus edge cases made from them as plain data. The
same events are replayed through our handler and through the incumbent's (in its own virtualenv,
``side_venvs.peer``, shared with the benchmarks), both exporting into capturing exporters, and the
exported generations and embedding spans are compared field by field. Every difference must be a row
of the table in ``docs/compatibility.md``, and every row must still be a difference somewhere: the doc
and the behaviour cannot drift apart.

A new route is added by adding a scenario to ``SCENARIOS`` (a request through the proxy).
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from fake_llm.testing import FakeLLMProcess
from side_venvs.peer import ensure_peer_venv
from sigil_devstack.proxy import ProxyProcess

from tests.scenarios import TOOLS

# one worker runs the module under `make test` (-n 2 --dist loadgroup): its shared stack starts once
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("parity")]

ROOT = Path(__file__).resolve().parents[2]
PARITY = ROOT / "tests" / "parity"
COMPATIBILITY = ROOT / "docs" / "compatibility.md"
# naive datetimes are local time: replay where local time is not UTC
REPLAY_TZ = "Europe/Berlin"

CONFIG = """\
model_list:
  - model_name: claude-sonnet-4-5
    litellm_params:
      model: anthropic/claude-sonnet-4-5
      api_base: {root_url}
      api_key: fake-key
  - model_name: "*"
    litellm_params:
      model: "openai/*"
      api_base: {api_base}
      api_key: fake-key
router_settings:
  num_retries: 0
  disable_cooldowns: true
litellm_settings:
  callbacks: capture_callback.capture_handler
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
"""

USER = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"}]


def openai_client(proxy: ProxyProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.base_url, api_key=proxy.master_key, max_retries=0)


def anthropic_client(proxy: ProxyProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=proxy.base_url, api_key=proxy.master_key, max_retries=0)


def _chat(proxy: ProxyProcess) -> None:
    client = openai_client(proxy)
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=USER,
        temperature=0.2,
        max_tokens=50,
        extra_body={"metadata": {"tags": ["prod"], "session_id": "conv-1"}},
        extra_headers={"x-litellm-agent-id": "support-bot"},
        user="end-user-7",
    )


def _chat_stream(proxy: ProxyProcess) -> None:
    client = openai_client(proxy)
    stream = client.chat.completions.create(
        model="gpt-4o-mini [fake:reasoning]", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    for _ in stream:
        pass


def _tool_call(proxy: ProxyProcess) -> None:
    client = openai_client(proxy)
    client.chat.completions.create(model="gpt-4o", messages=USER, tools=TOOLS, tool_choice="auto")


def _tool_result(proxy: ProxyProcess) -> None:
    client = openai_client(proxy)
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
    client.chat.completions.create(
        model="gpt-4o",
        messages=[
            *USER,
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
        tools=TOOLS,
    )


def _text_completion(proxy: ProxyProcess) -> None:
    client = openai_client(proxy)
    client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi", max_tokens=5)


def _embedding(proxy: ProxyProcess) -> None:
    client = openai_client(proxy)
    client.embeddings.create(model="text-embedding-3-small", input=["one", "two"])


def _embedding_dimensions(proxy: ProxyProcess) -> None:
    client = openai_client(proxy)
    client.embeddings.create(model="text-embedding-3-small", input="one", dimensions=4)


def _failure(proxy: ProxyProcess) -> None:
    client = openai_client(proxy)
    with pytest.raises(openai.APIStatusError):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "[fake:error-500]"}])


def _responses(proxy: ProxyProcess) -> None:
    openai_client(proxy).responses.create(model="gpt-4o-mini", instructions="Be brief.", input="What is 2+2?")


def _responses_stream(proxy: ProxyProcess) -> None:
    with openai_client(proxy).responses.stream(model="gpt-4o-mini", input="What is 2+2?") as stream:
        for _ in stream:
            pass


def _messages(proxy: ProxyProcess) -> None:
    anthropic_client(proxy).messages.create(
        model="claude-sonnet-4-5", max_tokens=64, system="Be brief.", messages=[{"role": "user", "content": "2+2?"}]
    )


def _messages_stream(proxy: ProxyProcess) -> None:
    with anthropic_client(proxy).messages.stream(
        model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "2+2?"}]
    ) as stream:
        for _ in stream:
            pass


# name → a request through the proxy that makes exactly one LiteLLM event. A new route (e.g. the
# Responses API or Anthropic Messages) is one more entry; where the incumbent does not record it,
# that difference is a row of docs/compatibility.md.
SCENARIOS: dict[str, Callable[[ProxyProcess], None]] = {
    "chat": _chat,
    "chat-stream": _chat_stream,
    "tool-call": _tool_call,
    "tool-result": _tool_result,
    "text-completion": _text_completion,
    "embedding": _embedding,
    "embedding-dimensions": _embedding_dimensions,
    "responses": _responses,
    "responses-stream": _responses_stream,
    "messages": _messages,
    "messages-stream": _messages_stream,
    "failure": _failure,
}


def _capture(tmp: Path) -> dict[str, dict[str, Any]]:
    capture_file = tmp / "events.jsonl"
    with FakeLLMProcess() as fake:
        config = tmp / "config.yaml"
        config.write_text(CONFIG.format(api_base=fake.base_url, root_url=fake.root_url), encoding="utf-8")
        env = {"PARITY_CAPTURE_FILE": str(capture_file), "PYTHONPATH": str(PARITY)}
        with ProxyProcess(config=config, env=env) as proxy:
            events: dict[str, dict[str, Any]] = {}
            for name, scenario in SCENARIOS.items():
                seen = _lines(capture_file)
                scenario(proxy)
                deadline = 30.0
                while len(_lines(capture_file)) == len(seen) and deadline > 0:  # success logging is a task
                    deadline -= 0.1
                    time.sleep(0.1)
                new = _lines(capture_file)[len(seen) :]
                assert len(new) == 1, f"{name}: {len(new)} events captured"
                events[name] = json.loads(new[0])
    return events


def _lines(path: Path) -> list[str]:
    """The complete lines of the capture file: a long event may be read while it is being written."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return text[: text.rfind("\n") + 1].splitlines()


def _edge_cases(real: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Payloads the proxy does not make on demand, derived from real events as plain data."""
    edges: dict[str, dict[str, Any]] = {}

    def variant(base: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        event = copy.deepcopy(real[base])
        change(event)
        return event

    def slo(event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = event["kwargs"]["standard_logging_object"]
        return result

    def no_call_type(event: dict[str, Any]) -> None:
        slo(event).pop("call_type", None)
        event["kwargs"].pop("call_type", None)

    def string_response(event: dict[str, Any]) -> None:
        slo(event)["response"] = "A plain answer."
        event["response_obj"] = None

    def redacted_thinking(event: dict[str, Any]) -> None:
        message = slo(event)["response"]["choices"][0]["message"]
        message["thinking_blocks"] = [
            {"type": "thinking", "thinking": "2+2 is 4", "signature": "sig"},
            {"type": "redacted_thinking", "data": "EqoBCkYIARgCKkBciphertext"},
        ]

    def cache_tokens_on_the_object_only(event: dict[str, Any]) -> None:
        for key in ("prompt_tokens_details", "completion_tokens_details"):
            slo(event)["response"]["usage"].pop(key, None)
        usage = event["response_obj"]["data"]["usage"]
        usage["prompt_tokens_details"] = {"cached_tokens": 5, "cache_creation_tokens": 2}
        usage["completion_tokens_details"] = {"reasoning_tokens": 3}

    def aware_times(event: dict[str, Any]) -> None:
        for key in ("start_time", "end_time"):
            naive = event[key]["__datetime__"]
            event[key] = event["kwargs"][key] = {"__datetime__": naive + "+05:30"}

    def token_ids(event: dict[str, Any]) -> None:
        event["kwargs"]["input"] = [101, 102, 103]

    def empty_input(event: dict[str, Any]) -> None:
        event["kwargs"]["input"] = ""

    edges["no-call-type"] = variant("chat", no_call_type)
    edges["string-response"] = variant("chat", string_response)
    edges["redacted-thinking"] = variant("chat", redacted_thinking)
    edges["cache-tokens-on-the-response-object"] = variant("chat", cache_tokens_on_the_object_only)
    edges["aware-times"] = variant("chat", aware_times)
    edges["embedding-token-ids"] = variant("embedding-dimensions", token_ids)
    edges["embedding-empty-input"] = variant("embedding-dimensions", empty_input)
    return edges


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    real = _capture(tmp_path_factory.mktemp("parity"))
    return {**real, **_edge_cases(real)}


@pytest.fixture(scope="module")
def peer_python() -> Path:
    return ensure_peer_venv()


def replay(python: Path, events: dict[str, dict[str, Any]], tmp: Path) -> dict[str, dict[str, Any]]:
    path = tmp / "replay.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in events.values()), encoding="utf-8")
    env = dict(os.environ, TZ=REPLAY_TZ, LITELLM_LOCAL_MODEL_COST_MAP="True")
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [str(python), "-I", str(PARITY / "replay.py"), str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(results) == len(events), done.stderr[-4000:]
    return dict(zip(events, results, strict=True))


# per-run random on both sides (the SDK's span of each recording): no behaviour to compare
_RANDOM = ("trace_id", "span_id")


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": [1]}}`` → ``{"a.b[0]": 1}``; empty containers are leaves."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key not in _RANDOM:
                out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for index, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{index}]"))
        return out
    return {prefix: value}


_ABSENT = "<absent>"


def differences(theirs: dict[str, Any], ours: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    flat_theirs, flat_ours = flatten(theirs), flatten(ours)
    out = []
    for path in sorted(set(flat_theirs) | set(flat_ours)):
        mine, peer = flat_ours.get(path, _ABSENT), flat_theirs.get(path, _ABSENT)
        if mine != peer:
            out.append((path, peer, mine))
    return out


def _matches(pattern: str, event: str, path: str) -> bool:
    """``*`` matches anything (brackets are literal); ``events: path`` limits a pattern to the events
    whose name matches ``events``."""
    if ": " in pattern:
        events, pattern = pattern.split(": ", 1)
        if not _glob(events, event):
            return False
    return _glob(pattern, path)


def _glob(pattern: str, text: str) -> bool:
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), text) is not None


def documented() -> list[str]:
    """The field patterns of the table in docs/compatibility.md (first column, in backticks)."""
    fields = []
    for line in COMPATIBILITY.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`") and cells[0].endswith("`"):
            fields.append(cells[0].strip("`"))
    return fields


Replayed = dict[str, dict[str, dict[str, Any]]]


@pytest.fixture(scope="module")
def replayed(
    events: dict[str, dict[str, Any]], peer_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> Replayed:
    tmp = tmp_path_factory.mktemp("replay")
    return {"ours": replay(Path(sys.executable), events, tmp), "theirs": replay(peer_python, events, tmp)}


def test_the_exported_generations_differ_only_where_documented(events: dict[str, Any], replayed: Replayed) -> None:
    assert documented(), "docs/compatibility.md has no table rows"
    ours, theirs = replayed["ours"], replayed["theirs"]
    used: set[str] = set()
    undocumented = []
    for name in events:
        for path, peer, mine in differences(theirs[name], ours[name]):
            matching = [pattern for pattern in documented() if _matches(pattern, name, path)]
            used.update(matching)
            if not matching:
                undocumented.append(f"{name}: {path}: theirs {peer!r}, ours {mine!r}")
    assert not undocumented, "differences not in docs/compatibility.md:\n" + "\n".join(undocumented)
    stale = [pattern for pattern in documented() if pattern not in used]
    assert not stale, f"docs/compatibility.md lists differences that no longer occur: {stale}"


# the call types sigil-sdk-litellm 0.9.3 records (a payload without one is a chat for both)
PEER_RECORDS = {"", "completion", "acompletion", "text_completion", "atext_completion", "embedding", "aembedding"}


def test_every_event_is_recorded_once(events: dict[str, Any], replayed: Replayed) -> None:
    """Ours records every event once; so does the incumbent for the call types it records."""
    for name, event in events.items():
        call_type = event["kwargs"]["standard_logging_object"].get("call_type") or ""
        kind = "embeddings" if call_type.endswith("embedding") else "generations"
        assert len(replayed["ours"][name][kind]) == 1, name
        if call_type in PEER_RECORDS:
            assert len(replayed["theirs"][name][kind]) == 1, name


def test_documented_patterns_are_well_formed() -> None:
    assert all(pattern.strip() == pattern and pattern for pattern in documented())
