"""The in-process recording path alone: CPU µs per event, LiteLLM's part left out.

``python -m bench.inprocess_path [--messages 2 12 42] [--events 400] [--rounds 5] [--growing]``

What ``SIGIL_RECORDER=inprocess`` (``auto`` in a 1-CPU pod) does for each event after LiteLLM calls the
callback, built by the proxy's own bootstrap from ``SIGIL_*`` settings: our handler maps the event, the
recorder records it, the delivery buffer encodes it and its sender thread exports it over gRPC to the
mock sink (another process). The events are real (``bench.micro.capture_events``: one LiteLLM
``mock_response`` completion per chat size, replayed). The figure is this process's CPU (every
thread: event loop, SDK flush thread, delivery sender) from the first event until the sink holds the
last one, per event; the median over ``--rounds`` interleaved rounds is printed, with the range (the
minimum is the round least disturbed by other work on the machine).

Every event of a round carries the same messages (each parsed anew): an agent chat's steady state, its
whole history known. ``--growing``: each event is instead one turn of an agent chat that grows by two
messages a turn (4 → 42, then the next chat; every chat its own text), what an agent loop sends: the
figure is the mean over its turns, the two new messages of each turn mapped and encoded anew.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sigil_mock_sink.testing import SinkProcess

from bench.conversations import conversation
from bench.micro import capture_events


def build_handler(sink: SinkProcess) -> Any:
    from sigil_sdk_litellm.proxy.bootstrap import build_handler as build
    from sigil_sdk_litellm.proxy.builders import build_client
    from sigil_sdk_litellm.proxy.settings.loading import load_settings

    env = {
        "SIGIL_ENDPOINT": sink.grpc_target,
        "SIGIL_PROTOCOL": "grpc",
        "SIGIL_INSECURE": "true",
        "SIGIL_AUTH_MODE": "none",
        "SIGIL_RECORDER": "inprocess",
    }
    os.environ.update(env)
    settings = load_settings()
    client = build_client(settings)
    return build(settings, client), client


def distinct(event: tuple[dict[str, Any], Any], count: int) -> list[tuple[dict[str, Any], Any]]:
    """``count`` copies of one event, each with its own call id (Sigil refuses a generation id twice) and its
    messages parsed anew, as the proxy parses each request: no string or dict shared between events."""
    kwargs, response = event
    out = []
    for _ in range(count):
        ident = str(uuid.uuid4())
        slo = dict(kwargs["standard_logging_object"], litellm_call_id=ident, id=ident)
        copy = dict(kwargs, litellm_call_id=ident, standard_logging_object=slo)
        for holder in (copy, slo):
            if holder.get("messages") is not None:
                holder["messages"] = json.loads(json.dumps(holder["messages"]))
        out.append((copy, response))
    return out


def turns(event: tuple[dict[str, Any], Any], count: int, first_chat: int) -> list[tuple[dict[str, Any], Any]]:
    """``count`` events of ``event``'s kind, each one turn of an agent chat growing by two messages a turn
    (4 → 42 messages; chats numbered from ``first_chat``, each of its own text)."""
    out = []
    for index, (kwargs, response) in enumerate(distinct(event, count)):
        chat, turn = divmod(index, _TURNS)
        body = _chat_body(first_chat + chat)
        for holder in (kwargs, kwargs["standard_logging_object"]):
            if holder.get("messages") is not None:
                holder["messages"] = json.loads(body)[: 4 + 2 * turn]
        out.append((kwargs, response))
    return out


_TURNS = 20  # 4, 6, …, 42 messages


def _chat_body(chat: int) -> str:
    """The benchmark's 42-message agent chat as a request's JSON, every text and call id its own."""
    salt = f"[chat {chat}] "
    messages = conversation(42)
    for message in messages:
        if isinstance(message.get("content"), str):
            message["content"] = salt + message["content"]
        for call in message.get("tool_calls") or ():
            call["id"] += salt
        if "tool_call_id" in message:
            message["tool_call_id"] += salt
    return json.dumps(messages)


def one_round(
    handler: Any, client: Any, sink: SinkProcess, event: tuple[dict[str, Any], Any], events: int, first_chat: int = -1
) -> float:
    batch = distinct(event, events) if first_chat < 0 else turns(event, events, first_chat)
    before = int(sink.stats()["accepted"]["generation"])
    cpu0 = time.process_time()
    for kwargs, response in batch:
        coro = handler.async_log_success_event(kwargs, response, None, None)
        try:
            coro.send(None)
        except StopIteration:
            continue
        raise RuntimeError("the handler suspended")
    client.flush()
    delivery = handler._recorder.delivery or client._generation_exporter
    delivery.flush(timeout=60)
    cpu1 = time.process_time()
    deadline = time.monotonic() + 60
    while int(sink.stats()["accepted"]["generation"]) - before < events:
        if time.monotonic() > deadline:
            raise RuntimeError("the sink did not receive every generation")
        time.sleep(0.05)
    return (cpu1 - cpu0) / events * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, nargs="+", default=[2, 12, 42])
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--growing", action="store_true", help="each event one turn of a growing agent chat")
    args = parser.parse_args()
    if args.growing:
        args.messages = [42]
    captured = capture_events(args.messages)
    chats = iter(range(0, 1 << 30, args.events // _TURNS + 1))  # each round its own chats
    with SinkProcess(auth="none", max_items=100) as sink:
        handler, client = build_handler(sink)
        for n in args.messages:  # warm-up: imports, caches
            one_round(handler, client, sink, captured[n], 50, next(chats) if args.growing else -1)
        figures: dict[int, list[float]] = {n: [] for n in args.messages}
        for _ in range(args.rounds):
            for n in args.messages:
                first = next(chats) if args.growing else -1
                figures[n].append(one_round(handler, client, sink, captured[n], args.events, first))
        client.shutdown()
    for n in args.messages:
        values = figures[n]
        print(
            json.dumps(
                {
                    "messages": "4-42, growing" if args.growing else n,
                    "cpu_us_per_event": round(statistics.median(values)),
                    "min": round(min(values)),
                    "range": [round(min(values)), round(max(values))],
                    "events": args.events,
                    "rounds": args.rounds,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
