"""The load generator of the proxy benchmark: ``python -m bench.loadgen`` (its own process).

asyncio (uvloop when installed) over raw HTTP/1.1 keep-alive connections: each request is the same
pre-built ``POST /v1/chat/completions`` byte string, each answer is read by its Content-Length (or
chunks), so the client costs a few tens of µs of CPU per request (reported as ``client_cpu_us``).

Two modes:

- closed loop (``--rate 0``): ``--connections`` workers, each sends its next request when the previous
  answer arrived, until ``--duration`` is over; the requests in flight at the end are awaited, never
  abandoned, so every request sent is counted (the sink's count can be compared exactly);
- open loop (``--rate R``): Poisson arrivals at R requests/s (seeded: the same schedule for every
  configuration), each served by a free connection from a pool of ``--connections``; a request's
  latency runs from its scheduled arrival, so waiting for a connection counts (no coordinated omission).

Prints one JSON object: requests sent, 2xx, other statuses, errors, elapsed seconds, req/s, latency
percentiles in ms, the client's CPU µs per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from collections import Counter
from typing import Any


def build_request(host: str, port: int, path: str, key: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        f"Authorization: Bearer {key}\r\n"
        "Content-Type: application/json\r\n"
        "Accept: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode() + body


class Connection:
    """One keep-alive HTTP/1.1 connection; reconnects after an error or ``Connection: close``."""

    def __init__(self, host: str, port: int, request: bytes, timeout: float) -> None:
        self.host, self.port, self.request, self.timeout = host, port, request, timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def exchange(self) -> int:
        """Send the request, read the whole answer; returns the status code (0 on a transport error)."""
        try:
            return await asyncio.wait_for(self._exchange(), self.timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ValueError):
            self.close()
            return 0

    async def _exchange(self) -> int:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip().lower()
        if "content-length" in headers:
            await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        else:  # no length: the body runs to the end of the connection
            await self.reader.read()
            self.close()
        if headers.get("connection") == "close":
            self.close()
        return status


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of sorted values, by linear interpolation (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


async def run(
    *,
    host: str,
    port: int,
    request: bytes,
    connections: int,
    duration: float,
    rate: float,
    seed: int,
    timeout: float,
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    conns = [Connection(host, port, request, timeout) for _ in range(connections)]
    await asyncio.gather(*(c.open() for c in conns))
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    cpu0 = time.process_time()
    start = loop.time()
    deadline = start + duration

    async def one(conn: Connection, since: float) -> None:
        status = await conn.exchange()
        latencies.append(loop.time() - since)
        statuses[status] += 1

    if rate <= 0:

        async def worker(conn: Connection) -> None:
            while loop.time() < deadline:
                await one(conn, loop.time())

        await asyncio.gather(*(worker(c) for c in conns))
    else:
        pool: asyncio.Queue[Connection] = asyncio.Queue()
        for c in conns:
            pool.put_nowait(c)
        rng = random.Random(seed)

        async def arrival(scheduled: float) -> None:
            conn = await pool.get()
            try:
                await one(conn, scheduled)
            finally:
                pool.put_nowait(conn)

        tasks = []
        at = start
        while True:
            at += rng.expovariate(rate)
            if at >= deadline:
                break
            wait = at - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.ensure_future(arrival(at)))
        await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    cpu = time.process_time() - cpu0
    for c in conns:
        c.close()
    latencies.sort()
    sent = len(latencies)
    ok = sum(n for status, n in statuses.items() if 200 <= status < 300)
    return {
        "connections": connections,
        "rate": rate,
        "duration": duration,
        "sent": sent,
        "ok": ok,
        "non_2xx": sum(n for status, n in statuses.items() if status and not 200 <= status < 300),
        "errors": statuses.get(0, 0),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "elapsed": elapsed,
        "rps": ok / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentile(latencies, 50) * 1e3,
        "p90_ms": percentile(latencies, 90) * 1e3,
        "p99_ms": percentile(latencies, 99) * 1e3,
        "max_ms": (latencies[-1] if latencies else 0.0) * 1e3,
        "mean_ms": (sum(latencies) / sent if sent else 0.0) * 1e3,
        "client_cpu_us": cpu / sent * 1e6 if sent else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/v1/chat/completions")
    parser.add_argument("--body", required=True, help="file with the JSON request body")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=0.0, help="open-loop arrivals per second (0: closed loop)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    key = os.environ.get("BENCH_KEY", "")
    with open(args.body, "rb") as f:
        body = f.read()
    request = build_request(args.host, args.port, args.path, key, body)
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    result = runner(
        run(
            host=args.host,
            port=args.port,
            request=request,
            connections=args.connections,
            duration=args.duration,
            rate=args.rate,
            seed=args.seed,
            timeout=args.timeout,
        )
    )
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
