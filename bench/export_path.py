"""The export path alone: generations per second from a ``sigil_sdk.Client`` to the mock sink.

``python bench/export_path.py --grpc HOST:PORT --http URL --sink-stats URL`` (our virtualenv; the
runner passes the sink it already runs). Real LiteLLM events (one ``mock_response`` completion per
chat size, as in ``micro.py``) are mapped to generations *before* the clock starts; the timed part
is the SDK client alone: ``start_generation`` / ``set_result`` / ``end`` for every generation (the
SDK's validation and copies), its batching (batch size 100, the SDK default) and the export over
gRPC or HTTP, until ``client.flush()`` returns, i.e. the sink acknowledged every batch. The sink's
counter then confirms all arrived. Prints one JSON line per (protocol, chat size).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sigil_sdk import AuthConfig, Client, ClientConfig, GenerationExportConfig

from bench.micro import capture_events
from sigil_sdk_litellm.mapping import MappingOptions, map_generation
from sigil_sdk_litellm.proxy.offload.slim_event import slim_event

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def sink_accepted(stats_url: str) -> int:
    with _OPENER.open(stats_url, timeout=10) as response:
        return int(json.loads(response.read())["accepted"]["generation"])


def measure(protocol: str, endpoint: str, stats_url: str, event: tuple[dict[str, Any], Any], n: int) -> dict[str, Any]:
    kwargs, response = event
    slim = slim_event(kwargs, response)
    options = MappingOptions()
    records = [map_generation(slim, None, options) for _ in range(n)]
    client = Client(
        ClientConfig(
            generation_export=GenerationExportConfig(
                protocol=protocol,
                endpoint=endpoint,
                insecure=True,
                auth=AuthConfig(mode="none"),
                batch_size=100,
                queue_size=n + 1,
                flush_interval=timedelta(seconds=1),
            )
        )
    )
    before = sink_accepted(stats_url)
    cpu0, t0 = time.process_time(), time.perf_counter()
    for record in records:
        recorder = client.start_generation(record.start)
        recorder.set_result(record.generation)
        recorder.end()
        if recorder.err() is not None:
            raise RuntimeError(f"SDK refused a generation: {recorder.err()}")
    client.flush()
    t1, cpu1 = time.perf_counter(), time.process_time()
    client.shutdown()
    deadline = time.monotonic() + 30
    arrived = sink_accepted(stats_url) - before
    while arrived < n and time.monotonic() < deadline:
        time.sleep(0.1)
        arrived = sink_accepted(stats_url) - before
    return {
        "protocol": protocol,
        "messages": len(slim.get("messages") or []) or None,
        "generations": n,
        "arrived": arrived,
        "seconds": t1 - t0,
        "gens_per_s": n / (t1 - t0),
        "client_cpu_us": (cpu1 - cpu0) / n * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--grpc", required=True, help="host:port of the sink's gRPC side")
    parser.add_argument("--http", required=True, help="base URL of the sink's HTTP side")
    parser.add_argument("--sink-stats", required=True, help="URL of the sink's /api/v1/stats")
    parser.add_argument("--messages", type=int, nargs="+", default=[2, 42])
    parser.add_argument("--generations", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    events = capture_events(args.messages)
    for _ in range(args.rounds):
        for n_messages in args.messages:
            for protocol, endpoint in (("grpc", args.grpc), ("http", args.http)):
                row = measure(protocol, endpoint, args.sink_stats, events[n_messages], args.generations)
                row["messages"] = n_messages
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
