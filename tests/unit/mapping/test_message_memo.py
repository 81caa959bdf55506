"""The memo of mapped chat messages changes nothing: every event maps to the same generation, byte for byte,
with and without it — the benchmark's conversations turn by turn, secrets redacted mid-conversation —
what changes one event's messages changes its own copies, and it stays within its budget."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest
from sigil_sdk import (
    Client,
    ClientConfig,
    ContentCaptureMode,
    GenerationExportConfig,
    Part,
    PartMetadata,
    ToolCall,
    ToolDefinition,
    ToolResult,
)
from sigil_sdk.proto_mapping import generation_to_proto

from bench.conversations import TOOLS, conversation
from sigil_sdk_litellm.limits import fit_generation
from sigil_sdk_litellm.mapping import MappingOptions, chat, map_generation, parameters
from sigil_sdk_litellm.mapping.conversation_memo import PrefixIndex
from sigil_sdk_litellm.mapping.message_memo import ContentMemo, Mapped, MessageMemo, fresh, memo_key, message_key
from sigil_sdk_litellm.recording import SdkRecorder
from tests.bench_events import bench_events
from tests.secret_samples import SAMPLES
from tests.support import CapturingExporter, callback_kwargs, standard_logging_object

OPTIONS = MappingOptions()


def encoded(kwargs: dict[str, Any], failed: bool) -> bytes:
    record = map_generation(kwargs, None, OPTIONS, failed=failed, redacted=False)
    return bytes(generation_to_proto(record.generation).SerializeToString())


def reparsed(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The event with its messages parsed anew, as the proxy gets each request: no object shared."""
    out = {key: json.loads(json.dumps(value)) if key == "messages" else value for key, value in kwargs.items()}
    slo = kwargs.get("standard_logging_object")
    if isinstance(slo, dict) and "messages" in slo:
        out["standard_logging_object"] = {**slo, "messages": json.loads(json.dumps(slo["messages"]))}
    return out


@pytest.fixture(autouse=True)
def _fresh_conversations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chat, "CONVERSATIONS", PrefixIndex())


def without_memo(events: list[tuple[dict[str, Any], bool]], monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    with monkeypatch.context() as patch:
        patch.setattr(chat, "MEMO", MessageMemo(budget=0))  # keeps nothing: every message mapped anew
        patch.setattr(chat, "CONVERSATIONS", PrefixIndex(budget=0))
        return [encoded(kwargs, failed) for kwargs, failed in events]


def with_memo(events: list[tuple[dict[str, Any], bool]], monkeypatch: pytest.MonkeyPatch) -> tuple[list[bytes], int]:
    memo, conversations = MessageMemo(), PrefixIndex[list[Mapped]]()
    with monkeypatch.context() as patch:
        patch.setattr(chat, "MEMO", memo)
        patch.setattr(chat, "CONVERSATIONS", conversations)
        out = [encoded(reparsed(kwargs), failed) for kwargs, failed in events]
        out += [encoded(kwargs, failed) for kwargs, failed in events]  # and the same objects again
    return out, memo.hits + conversations.known  # messages from either memo


def test_every_benchmark_event_maps_to_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    events = bench_events()
    plain = without_memo(events, monkeypatch)
    memoised, hits = with_memo(events, monkeypatch)
    assert hits > 1000  # the agent chat's history came from the memo
    assert memoised == plain + plain


def test_secrets_redacted_mid_conversation_map_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    from sigil_sdk_litellm.proxy.offload.slim_event import slim_event
    from sigil_sdk_litellm.proxy.secret_redaction import SecretRedactor

    redactor = SecretRedactor("full")
    chat_42 = conversation(42)
    secret = SAMPLES[0]
    events = []
    for n in range(2, 43):  # turn by turn; from turn 18 a user pastes a secret, then the agent's tool echoes it
        messages = copy.deepcopy(chat_42[:n])
        for index, message in enumerate(messages):
            if index == 17 and message["role"] == "user":
                message["content"] = f"{message['content']} my key is {secret.text}"
            if index == 19 and message["role"] == "tool":
                message["content"] = json.dumps({"found": secret.text})
        ident = f"memo-{n}"
        slo = standard_logging_object(id=ident, litellm_call_id=ident, messages=messages)
        kwargs = callback_kwargs(slo, litellm_call_id=ident)
        events.append((redactor(slim_event(kwargs, None, redacted=False, agent_name_metadata_keys=())), False))
    plain = without_memo(events, monkeypatch)
    memoised, _ = with_memo(events, monkeypatch)
    assert memoised == plain + plain
    assert all(secret.body.encode() not in event for event in plain)
    assert sum(b"[REDACTED:" in event for event in plain) == 25  # the 25 turns holding the 18th message (n = 18 … 42)


def test_what_changes_one_events_messages_leaves_the_memos_and_the_next_event_untouched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Mapped messages are shared between events: fit_generation's cuts and sigil-sdk's Client in metadata-only
    mode (which strips content in place) change copies, so the next event of the same chat maps as before."""
    monkeypatch.setattr(chat, "MEMO", MessageMemo())
    kwargs = bench_events()[40][0]  # the agent chat's last turn, 42 messages
    first = encoded(kwargs, False)
    record = map_generation(kwargs, None, OPTIONS, failed=False, redacted=False)
    shared_before = list(record.generation.input)
    assert fit_generation(record.generation, budget=200) > 0
    assert all(a is not b for a, b in zip(record.generation.input, shared_before, strict=True))
    assert encoded(kwargs, False) == first

    exporter = CapturingExporter()
    client = Client(
        ClientConfig(
            generation_export=GenerationExportConfig(protocol="none", endpoint="localhost:1", batch_size=1000),
            generation_exporter=exporter,
            content_capture=ContentCaptureMode.METADATA_ONLY,
        )
    )
    try:
        SdkRecorder(client, OPTIONS).record(reparsed(kwargs), None, failed=False, redacted=False)
        client.flush()
        (stripped,) = exporter.generations
        assert len(stripped.input) == len(record.generation.input)
        assert not any(part.text for message in stripped.input for part in message.parts)  # stripped, in place
    finally:
        client.shutdown()
    assert encoded(kwargs, False) == first


def test_a_mapped_message_carries_its_key_until_fit_generation_cuts_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The memo key names a message's content (the gRPC encoder keeps its bytes under it): every message
    the memo handed out has its raw message's key, a miss and a hit alike, and none after a cut."""
    monkeypatch.setattr(chat, "MEMO", MessageMemo())
    raw = conversation(42)
    for _ in ("miss", "hit"):
        generation = map_generation(reparsed(bench_events()[40][0]), None, OPTIONS).generation
        keyed = [m for m in generation.input if memo_key(m) is not None]
        memoized = [m for m in raw if type(m.get("content")) is not str or m["role"] in ("assistant", "tool")]
        assert len(keyed) == len(memoized) > 0
        assert [memo_key(m) for m in keyed] == [message_key(m) for m in memoized]
    assert fit_generation(generation, budget=200) > 0
    assert [memo_key(m) for m in generation.input + generation.output] == [None] * len(
        generation.input + generation.output
    )


def test_the_key_tells_types_apart_and_leaves_non_json_out() -> None:
    base = {"role": "tool", "tool_call_id": "c", "content": "x"}
    keys = {message_key({**base, "extra": value}) for value in (1, 1.0, True, "1", None, [1], {"a": 1})}
    assert len(keys) == 7 and None not in keys

    class Text(str):
        pass

    for odd in ((1,), b"x", bytearray(b"x"), Text("x"), object()):
        assert message_key({**base, "content": odd}) is None
    assert message_key({**base, 1: "x"}) is None  # a key other than a string
    deep: Any = "x"
    for _ in range(5000):
        deep = [deep]
    assert message_key({**base, "content": deep}) is None  # deeper than marshal goes


def test_the_copy_covers_every_field_of_sigil_sdks_records() -> None:
    # the copier assigns these by name: a field sigil-sdk adds must be added there too
    names = {cls: [field.name for field in dataclasses.fields(cls)] for cls in (Part, ToolCall, ToolResult)}
    assert names == {
        Part: ["kind", "text", "thinking", "tool_call", "tool_result", "metadata"],
        ToolCall: ["name", "id", "input_json"],
        ToolResult: ["tool_call_id", "name", "content", "content_json", "is_error"],
    }
    assert [field.name for field in dataclasses.fields(PartMetadata)] == ["provider_type"]
    _, messages = chat.map_input_messages(conversation(42))
    for message in messages:
        copied = fresh(message)
        assert copied == message and copied is not message
        for part, part_copy in zip(message.parts, copied.parts, strict=True):  # type: ignore[union-attr]
            assert part_copy is not part and part_copy.metadata is not part.metadata
            assert part.tool_call is None or part_copy.tool_call is not part.tool_call
            assert part.tool_result is None or part_copy.tool_result is not part.tool_result


def test_the_memo_stays_within_its_budget_and_the_mapping_stays_right() -> None:
    memo = MessageMemo(budget=40_000)
    for index in range(200):
        raw = [{"role": "tool", "tool_call_id": f"c{index}", "content": f"result {index} " * 40}]
        mapped = memo.mapped(raw[0], chat._mapped)
        assert mapped == chat._mapped(raw[0])
        assert memo.size <= memo.budget
    assert 0 < len(memo) < 200 and memo.misses == 200
    assert memo.mapped({"role": "tool", "tool_call_id": "c199", "content": "result 199 " * 40}, chat._mapped)
    assert memo.hits == 1


def test_tool_definitions_come_from_the_memo_as_each_events_own_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    """An agent's tools, mapped once: the same definitions every time, each event its own objects (a cut
    by fit_generation in one event leaves the next as it was), and the copy covers every field."""
    assert [field.name for field in dataclasses.fields(ToolDefinition)] == [
        "name",
        "description",
        "type",
        "input_schema_json",
        "deferred",
    ]
    memo = ContentMemo(parameters._copy_tools)
    monkeypatch.setattr(parameters, "TOOLS", memo)
    raw = json.loads(json.dumps(TOOLS))
    expected = parameters._map_tools(raw)
    first = parameters.map_tools(json.loads(json.dumps(raw)))
    assert first == expected and memo.misses == 1
    first[0].description = "cut"
    again = parameters.map_tools(json.loads(json.dumps(raw)))
    assert again == expected and memo.hits == 1
    assert all(a is not b for a, b in zip(first, again, strict=True))
    assert parameters.map_tools(raw, with_content=False) == parameters._map_tools(raw, with_content=False)
