"""Handler micro-benchmark: CPU microseconds per LiteLLM event, in this interpreter.

Run with our virtualenv for our handler and with the peer's virtualenv for the PyPI
``sigil-sdk-litellm`` (both import ``sigil_sdk_litellm``); ``bench.micro_compare`` runs both
interleaved and prints the ratios. Events are real: LiteLLM runs a ``mock_response`` completion once
per workload and the payload it hands to callbacks is replayed into the handler.

Prints one JSON line per workload: {"messages": n, "callback_us": ..., "total_us": ...} where
``total_us`` adds the export serialisation (the proto the SDK's exporter would send) at flush. With
``--routes``, each chat is also measured as a Responses API and an Anthropic Messages event of the
same content (``bench.route_events``), with ``ratio_to_chat`` of ``callback_us`` (the event loop's share).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import litellm
from litellm.integrations.custom_logger import CustomLogger
from sigil_sdk import Client, ClientConfig, GenerationExportConfig

from bench.conversations import TOOLS, conversation
from bench.exporters import SerializingExporter
from bench.route_events import messages_event, responses_event


class _Capture(CustomLogger):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.kwargs: dict[str, Any] | None = None
        self.response: Any = None

    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self.kwargs, self.response = kwargs, response_obj


def capture_events(sizes: list[int]) -> dict[int, tuple[dict[str, Any], Any]]:
    """One real LiteLLM ``mock_response`` completion per chat size (in one event loop: LiteLLM's
    logging worker lives on the first loop it sees); returns what LiteLLM handed to callbacks."""
    capture = _Capture()
    litellm.callbacks = [capture]
    events: dict[int, tuple[dict[str, Any], Any]] = {}

    async def call(n_messages: int) -> None:
        capture.kwargs = None
        await litellm.acompletion(
            model="openai/gpt-4o-mini",
            messages=conversation(n_messages),
            tools=TOOLS if n_messages >= 12 else None,
            mock_response="The probe fails because the port changed; roll back the config.",
            metadata={"agent_name": "bench-agent", "conversation_id": "bench-conv"},
        )
        for _ in range(200):
            if capture.kwargs is not None:
                events[n_messages] = (capture.kwargs, capture.response)
                return
            await asyncio.sleep(0.01)
        raise RuntimeError("LiteLLM did not call the capture logger")

    async def run_all() -> None:
        for n in sizes:
            await call(n)

    asyncio.run(run_all())
    litellm.callbacks = []
    return events


def measure(n_messages: int, events: int, event: tuple[dict[str, Any], Any]) -> dict[str, Any]:
    from sigil_sdk_litellm import SigilLiteLLMLogger

    kwargs, response = event
    exporter = SerializingExporter()
    client = Client(
        ClientConfig(
            generation_export=GenerationExportConfig(
                protocol="none",
                endpoint="localhost:1",
                batch_size=events + 1,
                queue_size=events + 1,
                flush_interval=__import__("datetime").timedelta(hours=1),
            ),
            generation_exporter=exporter,
        )
    )
    handler = SigilLiteLLMLogger(client=client)
    loop = asyncio.new_event_loop()
    direct = True

    def one_event() -> None:
        # Drive the coroutine directly when it never suspends (no event-loop cost in the figure);
        # a handler that awaits real I/O is run on a loop instead.
        nonlocal direct
        coro = handler.async_log_success_event(kwargs, response, None, None)
        if direct:
            try:
                coro.send(None)
            except StopIteration:
                return
            coro.close()
            direct = False
            coro = handler.async_log_success_event(kwargs, response, None, None)
        loop.run_until_complete(coro)

    try:
        # warm-up (imports, caches), not measured
        for _ in range(20):
            one_event()
        client.flush()
        exporter.count = 0
        cpu0 = time.process_time()
        for _ in range(events):
            one_event()
        cpu1 = time.process_time()
        client.flush()
        cpu2 = time.process_time()
    finally:
        loop.close()
        client.shutdown()
    if exporter.count != events:
        raise RuntimeError(f"expected {events} exported generations, got {exporter.count}")
    return {
        "messages": n_messages,
        "events": events,
        "callback_us": (cpu1 - cpu0) / events * 1e6,
        "total_us": (cpu2 - cpu0) / events * 1e6,
        "bytes_per_generation": exporter.bytes // max(exporter.count, 1),
        "driven": "direct" if direct else "event-loop",
    }


def measure_offload(n_messages: int, events: int, event: tuple[dict[str, Any], Any]) -> dict[str, Any]:
    """CPU in this (the proxy) process per event, and in the recorder process, for out-of-process mode."""
    import resource

    from sigil_sdk_litellm.proxy.handoff.supervisor import recorder_command
    from sigil_sdk_litellm.proxy.offload.callback import OffloadingSigilLogger
    from sigil_sdk_litellm.proxy.offload.pipe import RecorderLink

    kwargs, response = event
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    link = RecorderLink(recorder_command("bench.recorder_factory:bench_recorder"), env=env, max_items=events + 100)
    handler = OffloadingSigilLogger(link=link)

    def one_event() -> None:
        coro = handler.async_log_success_event(kwargs, response, None, None)
        try:
            coro.send(None)
        except StopIteration:
            return
        raise RuntimeError("offloading handler suspended")

    for _ in range(20):
        one_event()
    while link.pending:
        time.sleep(0.01)
    cpu0 = time.process_time()
    for _ in range(events):
        one_event()
    cpu1 = time.process_time()
    while link.pending:  # the writer thread's work is in this process too
        time.sleep(0.001)
    cpu2 = time.process_time()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    link.close()
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    recorder_cpu = (children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime)
    if link.dropped or link.lost:
        raise RuntimeError(f"offload dropped {link.dropped} / lost {link.lost} events")
    return {
        "messages": n_messages,
        "events": events,
        "callback_us": (cpu1 - cpu0) / events * 1e6,
        "total_us": (cpu2 - cpu0) / events * 1e6,
        "recorder_process_us_incl_startup": recorder_cpu / (events + 20) * 1e6,
        "driven": "direct",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, nargs="+", default=[2, 12, 42])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--mode", choices=["inprocess", "offload"], default="inprocess")
    parser.add_argument(
        "--routes",
        action="store_true",
        help="also the same chat as a Responses API and an Anthropic Messages event, with the ratio to chat",
    )
    args = parser.parse_args()
    captured = capture_events(args.messages)
    run = measure_offload if args.mode == "offload" else measure
    for n in args.messages:
        chat = run(n, args.events, captured[n])
        print(json.dumps({"route": "chat", **chat} if args.routes else chat), flush=True)
        if args.routes:
            for route, make in (("responses", responses_event), ("messages", messages_event)):
                figures = run(n, args.events, make(captured[n]))
                figures["ratio_to_chat"] = round(figures["callback_us"] / chat["callback_us"], 2)
                print(json.dumps({"route": route, **figures}), flush=True)


if __name__ == "__main__":
    main()
