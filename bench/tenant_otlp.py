"""What per-tenant OTLP costs at rest: threads and resident memory of the clients ``SIGIL_TENANT_MAP``
builds, with ``OTEL_*`` off and on (HTTP/protobuf, gRPC), for 0, 8 and 32 tenants besides the default.

Each configuration runs in a fresh process (so one's imports and threads never count for another): it
builds the clients as the proxy does (``build_tenant_router``), waits a second, and reports its threads
and VmRSS; nothing is sent (no request is recorded, the endpoints are never reached while idle).

    python -m bench.tenant_otlp            # prints a Markdown table
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter

CONFIGS = [(tenants, protocol) for tenants in (0, 8, 32) for protocol in ("off", "http/protobuf", "grpc")]


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def measure(tenants: int, protocol: str) -> dict[str, object]:
    """In this process: build the clients of ``tenants`` mapped tenants plus the default."""
    from sigil_sdk_litellm.proxy.builders import build_client, build_tenant_router
    from sigil_sdk_litellm.proxy.settings.loading import load_settings
    from sigil_sdk_litellm.proxy.telemetry import lifecycle

    env = {"SIGIL_ENDPOINT": "http://127.0.0.1:9", "SIGIL_PROTOCOL": "http", "SIGIL_AUTH_MODE": "tenant"}
    env["SIGIL_AUTH_TENANT_ID"] = "platform"
    if tenants:
        env["SIGIL_TENANT_MAP"] = json.dumps({f"team_id:t{n}": {"tenant_id": f"t{n}"} for n in range(tenants)})
    if protocol != "off":
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9"
        env["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol
    settings = load_settings(env)
    before_threads, before_rss = threading.active_count(), _rss_kib()
    router = build_tenant_router(settings, drain_timeout=0.1)
    stop = router.shutdown if router is not None else build_client(settings).shutdown
    time.sleep(1.0)
    names = Counter(t.name.rstrip("0123456789-_ ") for t in threading.enumerate())
    result = {
        "tenants": tenants,
        "otlp": protocol,
        "threads": threading.active_count(),
        "threads_added": threading.active_count() - before_threads,
        "rss_kib": _rss_kib(),
        "rss_added_kib": _rss_kib() - before_rss,
        "otel_threads": sum(n for name, n in names.items() if name.startswith("Otel")),
    }
    lifecycle.shutdown_within(stop, grace=0.5)
    return result


def main() -> None:
    if len(sys.argv) == 3:
        print(json.dumps(measure(int(sys.argv[1]), sys.argv[2])))
        return
    rows = []
    for tenants, protocol in CONFIGS:
        out = subprocess.run(
            [sys.executable, "-m", "bench.tenant_otlp", str(tenants), protocol],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows.append(json.loads(out.splitlines()[-1]))
    print("| tenants + default | OTLP | threads added | of them OpenTelemetry's | RSS added (MiB) |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['tenants']} + 1 | {row['otlp']} | {row['threads_added']} | {row['otel_threads']} "
            f"| {int(row['rss_added_kib']) / 1024:.1f} |"
        )


if __name__ == "__main__":
    main()
