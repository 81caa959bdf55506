"""The in-process direct writer buffers the bytes sigil-sdk's Client would have, byte for byte.

Each event of the benchmark's conversations (tests.bench_events) is recorded twice with the proxy's own
builders — through the Client (start, end, its queue and flush) and through the direct writer — into
delivery buffers whose gRPC transport keeps what it is handed to send; the two byte streams must be
equal. Only the network is left out: the encoding under test is the transport's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sigil_sdk import Client, Message, MessageRole, ModelRef
from sigil_sdk.errors import ValidationError

from sigil_sdk_litellm.mapping import MappingOptions, map_generation
from sigil_sdk_litellm.proxy.builders import build_client, build_delivery, handler_options
from sigil_sdk_litellm.proxy.export.direct import DirectWriter
from sigil_sdk_litellm.proxy.export.message_cache import Keys
from sigil_sdk_litellm.proxy.export.transport import GrpcTransport, SendResult
from sigil_sdk_litellm.proxy.settings import Settings
from sigil_sdk_litellm.recording import SdkRecorder
from tests.bench_events import bench_events
from tests.support import callback_kwargs, standard_logging_object

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
NOW = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)


class KeptTransport(GrpcTransport):
    """The real gRPC transport (its encoder under test), keeping each batch instead of sending it."""

    def __init__(self) -> None:
        super().__init__("127.0.0.1:1", {}, insecure=True)
        self.sent: list[bytes] = []

    def send(self, pieces: Sequence[bytes]) -> SendResult:
        self.sent.extend(pieces)
        return SendResult()


class CountingWriter(DirectWriter):
    def __init__(self) -> None:
        super().__init__()
        self.taken = 0

    def write(self, client: Client, record: Any, call_error: Exception | None) -> bool | Exception:
        written = super().write(client, record, call_error)
        self.taken += written is True
        return written


def record_all(
    env: dict[str, str],
    writer: DirectWriter | None,
    events: list[tuple[dict[str, Any], bool]],
    problems: dict[str, int] | None = None,
    transports: list[KeptTransport] | None = None,
) -> bytes:
    settings = Settings.from_env({"SIGIL_ENDPOINT": "127.0.0.1:1", "SIGIL_INSECURE": "true", **env})
    delivery = build_delivery(settings)
    transport = KeptTransport()
    if transports is not None:
        transports.append(transport)
    delivery.transport = transport
    client = build_client(settings, delivery=delivery)
    client._config.now = lambda: NOW  # both paths fill a missing end time from the same clock
    recorder = SdkRecorder(client, handler_options(settings), delivery=delivery, writer=writer)
    for kwargs, failed in events:
        recorder.record(kwargs, None, failed=failed, redacted=False)
    client.flush()
    assert delivery.flush(timeout=10)
    client.shutdown()
    assert recorder.problems.counts == (problems or {})
    return b"".join(transport.sent)


def traced(events: list[tuple[dict[str, Any], bool]]) -> list[tuple[dict[str, Any], bool]]:
    out = []
    for kwargs, failed in events:
        params = dict(kwargs["litellm_params"], proxy_server_request={"headers": {"traceparent": TRACEPARENT}})
        out.append((dict(kwargs, litellm_params=params), failed))
    return out


SETTINGS = {
    "defaults": {},
    "tags, agent and user from the settings": {
        "SIGIL_TAGS": "team=sre,env=bench",
        "SIGIL_AGENT_NAME": "fallback-agent",
        "SIGIL_AGENT_VERSION": "1.2",
        "SIGIL_USER_ID": "fallback-user",
    },
    "content capture full": {"SIGIL_CONTENT_CAPTURE_MODE": "full"},
    "no tool content": {"SIGIL_CONTENT_CAPTURE_MODE": "no_tool_content"},
    "inputs not captured": {"SIGIL_CAPTURE_INPUTS": "false"},
}


@pytest.mark.parametrize("env", SETTINGS.values(), ids=SETTINGS.keys())
@pytest.mark.parametrize("trace", [False, True], ids=["no trace", "traced"])
def test_the_direct_writer_buffers_the_clients_bytes(env: dict[str, str], trace: bool) -> None:
    events = traced(bench_events()) if trace else bench_events()
    writer = CountingWriter()
    transports: list[KeptTransport] = []
    direct = record_all(env, writer, events, transports=transports)
    assert writer.taken == len(events)  # every event took the direct path
    if env.get("SIGIL_CAPTURE_INPUTS") != "false":  # the agent chat's history: one piece encoded before
        assert transports[0].encoder.lists.hits > 30
    assert direct == record_all(env, None, events)


def test_metadata_only_goes_through_the_client() -> None:
    env = {"SIGIL_CONTENT_CAPTURE_MODE": "metadata_only"}
    writer = CountingWriter()
    events = bench_events()[:5]
    assert record_all(env, writer, events) == record_all(env, None, events)
    assert writer.taken == 0


def test_a_generation_sigil_sdk_refuses_is_refused_the_same_way() -> None:
    """sigil-sdk's validation stays the authority: the writer hands back the Client's own error."""
    [(kwargs, _)] = bench_events()[:1]
    settings = Settings.from_env({"SIGIL_ENDPOINT": "127.0.0.1:1", "SIGIL_INSECURE": "true"})
    delivery = build_delivery(settings)
    delivery.transport = KeptTransport()
    client = build_client(settings, delivery=delivery)
    refused = []
    for _ in range(2):
        record = map_generation(kwargs, None, MappingOptions())
        record.generation.model = ModelRef(provider="openai", name="")
        record.start.model = ModelRef(provider="openai", name="")
        refused.append(record)
    direct = DirectWriter().write(client, refused[0], None)
    through = client.start_generation(refused[1].start)
    through.set_result(refused[1].generation)
    through.end()
    client.flush()
    client.shutdown()
    assert isinstance(direct, ValidationError) and type(through.err()) is ValidationError
    assert str(direct) == str(through.err())
    assert delivery.stats()["buffered"] == 0


def test_a_new_message_is_validated_even_after_its_history_was() -> None:
    """Messages a validated generation held are not checked again; a new invalid one still is, and the
    refusal names its index in the whole generation, as the Client's does. What the Client path encoded
    counts as not validated."""
    events = bench_events()
    settings = Settings.from_env({"SIGIL_ENDPOINT": "127.0.0.1:1", "SIGIL_INSECURE": "true"})
    delivery = build_delivery(settings)
    transport = KeptTransport()
    delivery.transport = transport
    client = build_client(settings, delivery=delivery)
    through_client = SdkRecorder(client, MappingOptions(), delivery=delivery)
    through_client.record(events[40][0], None, failed=False, redacted=False)  # 42 messages, by the Client
    client.flush()
    assert delivery.flush(timeout=10)
    record = map_generation(events[40][0], None, MappingOptions())
    keys = Keys(record.generation, by_memo=True)  # as the writer keys them
    assert transport.encoder.unvalidated(record.generation, keys) == (record.generation.input, record.generation.output)
    writer = DirectWriter()
    assert writer.write(client, record, None) is True
    again = map_generation(events[40][0], None, MappingOptions())
    assert transport.encoder.unvalidated(again.generation, Keys(again.generation, by_memo=True)) == ([], [])
    bad = [map_generation(events[40][0], None, MappingOptions()) for _ in range(2)]
    for one in bad:
        one.generation.input.append(Message(role=MessageRole.USER, parts=[]))
    direct = writer.write(client, bad[0], None)
    through = client.start_generation(bad[1].start)
    through.set_result(bad[1].generation)
    through.end()
    client.shutdown()
    assert isinstance(direct, ValidationError) and str(direct) == str(through.err())
    assert f"input[{len(bad[0].generation.input) - 1}]" in str(direct)


def test_a_message_cut_to_fit_is_encoded_as_cut_after_its_whole_bytes_were_cached() -> None:
    """A tool result encoded whole for one event (kept under its memo key), then cut by ``fit_generation``
    in the next, where a huge answer shares the payload limit: the writer encodes what was cut."""
    result = "row " * 450_000  # 1.8 MB: fits alone; beside the 2.5 MB question, both are cut
    history = [
        {"role": "user", "content": "list the rows"},
        {"role": "assistant", "content": None, "tool_calls": [_call("call_1")]},
        {"role": "tool", "tool_call_id": "call_1", "content": result},
    ]
    events = []
    for index, question in enumerate(("thanks", "and these? " + "x" * 2_500_000)):
        ident = f"cut-{index}"
        slo = standard_logging_object(id=ident, litellm_call_id=ident, messages=[*history, _user(question)])
        events.append((callback_kwargs(slo, litellm_call_id=ident), False))
    writer = CountingWriter()
    direct = record_all({}, writer, events, problems={"limits:truncated": 1})
    assert writer.taken == 2
    assert direct == record_all({}, None, events, problems={"limits:truncated": 1})
    assert direct.count(result.encode()) == 1, "the whole result once, in the first event only"


def _call(ident: str) -> dict[str, Any]:
    return {"id": ident, "type": "function", "function": {"name": "run_sql", "arguments": '{"query": "select"}'}}


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}
