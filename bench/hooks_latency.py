"""Latency of Sigil hooks at the gateway: what ``SIGIL_HOOKS_ENABLED=true`` adds per request, and proof that
hooks off add nothing.

Two measurements, both against a local mock sink evaluating a small rule set (one deny rule, one redact
rule; the requests match neither, so every evaluation is a full pass that answers allow):

1. **End to end** — two real proxies (``litellm --config config/config.yaml``, one worker each, the default
   recorder process), one with hooks off and one with hooks on, the same fake upstream and sink. Requests
   alternate between the two proxies one at a time (off, on, off, on, …) so drift and noise from other
   work on the machine hit both alike. Reported: p50/p99 of each, and on - off.
2. **The pre-call hook in process** — LiteLLM's own ``ProxyLogging.pre_call_hook`` (what the proxy runs
   before each chat completion) timed with no callback at all, with the hooks-off Sigil callback and with
   the hooks-on one (real evaluation against the sink). Hooks off must cost the same as no callback: the
   proxy skips its pre-call walk when no callback defines ``async_pre_call_hook``.

Usage: ``.venv/bin/python bench/hooks_latency.py [--requests 400] [--json]`` (about two minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RULES = {
    "rules": [
        {"id": "no-passwords", "pattern": "(?i)password", "reason": "no passwords"},
        {"id": "cards", "action": "redact", "pattern": r"\b(?:\d{4}-){3}\d{4}\b", "replacement": "[CARD]"},
    ]
}
MESSAGES = [
    {"role": "system", "content": "You are a terse assistant."},
    {"role": "user", "content": "What is the capital of France? Answer in one word."},
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 50) * 1000, 3),
        "p99_ms": round(percentile(values, 99) * 1000, 3),
        "mean_ms": round(statistics.fmean(values) * 1000, 3),
    }


# --------------------------------------------------------------------------------------------
# 1. End to end through two proxies


def end_to_end(requests: int, warmup: int) -> dict[str, Any]:
    import openai
    from fake_llm.testing import FakeLLMProcess
    from sigil_devstack.proxy import ProxyProcess
    from sigil_mock_sink.testing import SinkProcess

    with FakeLLMProcess(keep_requests=0) as fake, SinkProcess(auth="none", grpc_port=0) as sink:
        sink.request("POST", "/api/v1/hook-rules", RULES)
        base = {
            "SIGIL_ENDPOINT": sink.http_url,
            "SIGIL_PROTOCOL": "http",
            "OPENAI_API_BASE": fake.base_url,
            "OPENAI_API_KEY": "fake-key",
        }
        with (
            ProxyProcess(env=base) as off,
            ProxyProcess(env={**base, "SIGIL_HOOKS_ENABLED": "true"}) as on,
        ):
            clients = {
                name: openai.OpenAI(base_url=proxy.base_url, api_key=proxy.master_key, max_retries=0)
                for name, proxy in (("off", off), ("on", on))
            }
            times: dict[str, list[float]] = {"off": [], "on": []}
            for index in range(warmup + requests):
                for name, client in clients.items():
                    started = time.perf_counter()
                    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
                    elapsed = time.perf_counter() - started
                    if index >= warmup:
                        times[name].append(elapsed)
            counts = sink.request("GET", "/api/v1/hook-evaluations")["counts"]
    off_s, on_s = summary(times["off"]), summary(times["on"])
    return {
        "requests_each": requests,
        "hooks_off": off_s,
        "hooks_on": on_s,
        "added_p50_ms": round(on_s["p50_ms"] - off_s["p50_ms"], 3),
        "added_p99_ms": round(on_s["p99_ms"] - off_s["p99_ms"], 3),
        "sink_evaluations": counts,
    }


# --------------------------------------------------------------------------------------------
# 2. LiteLLM's pre-call hook in this process


async def _time_pre_call(callbacks: list[Any], rounds: int) -> list[float]:
    import litellm
    from litellm.proxy._types import UserAPIKeyAuth
    from litellm.proxy.common_utils.user_api_key_cache import UserApiKeyCache
    from litellm.proxy.utils import ProxyLogging

    proxy_logging = ProxyLogging(user_api_key_cache=UserApiKeyCache())
    litellm.callbacks = list(callbacks)
    user = UserAPIKeyAuth()
    out: list[float] = []
    for index in range(rounds + 50):
        data = {"model": "gpt-4o-mini", "messages": [dict(m) for m in MESSAGES]}
        started = time.perf_counter()
        await proxy_logging.pre_call_hook(user_api_key_dict=user, data=data, call_type="acompletion")
        if index >= 50:
            out.append(time.perf_counter() - started)
    litellm.callbacks = []
    return out


def pre_call(rounds: int) -> dict[str, Any]:
    from sigil_mock_sink.testing import SinkProcess
    from sigil_sdk import Client, ClientConfig, GenerationExportConfig

    from sigil_sdk_litellm._guard import build_guard, guarded
    from sigil_sdk_litellm.handler import SigilLiteLLMLogger
    from sigil_sdk_litellm.settings import Settings

    client = Client(ClientConfig(generation_export=GenerationExportConfig(protocol="none", endpoint="localhost:1")))
    try:
        with SinkProcess(auth="none", grpc_port=0) as sink:
            sink.request("POST", "/api/v1/hook-rules", RULES)
            off = SigilLiteLLMLogger(client=client)
            settings = Settings.from_env(
                {"SIGIL_ENDPOINT": sink.http_url, "SIGIL_PROTOCOL": "http", "SIGIL_HOOKS_ENABLED": "true"}
            )
            on = guarded(off, build_guard(settings))
            runs: dict[str, Callable[[], list[float]]] = {
                "no_callback": lambda: asyncio.run(_time_pre_call([], rounds)),
                "hooks_off": lambda: asyncio.run(_time_pre_call([off], rounds)),
                "hooks_on": lambda: asyncio.run(_time_pre_call([on], rounds)),
            }
            results = {name: summary(run()) for name, run in runs.items()}
            for name in ("no_callback", "hooks_off"):  # again, after the others: the same conditions
                results[name + "_again"] = summary(runs[name]())
    finally:
        client.shutdown()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="timed requests per proxy (default 400)")
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2000, help="pre-call hook rounds per variant")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of the text report")
    args = parser.parse_args(argv)
    result = {"pre_call_hook": pre_call(args.rounds), "end_to_end": end_to_end(args.requests, args.warmup)}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    e2e, micro = result["end_to_end"], result["pre_call_hook"]
    print(f"end to end, {e2e['requests_each']} requests per proxy, alternating (ms):")
    for name in ("hooks_off", "hooks_on"):
        s = e2e[name]
        print(f"  {name:10} p50 {s['p50_ms']:8.2f}  p99 {s['p99_ms']:8.2f}  mean {s['mean_ms']:8.2f}")
    print(f"  added by hooks: p50 {e2e['added_p50_ms']:+.2f} ms, p99 {e2e['added_p99_ms']:+.2f} ms")
    print(f"  sink evaluations: {e2e['sink_evaluations']}")
    print("LiteLLM pre_call_hook in process (ms):")
    for name, s in micro.items():
        print(f"  {name:18} p50 {s['p50_ms']:8.3f}  p99 {s['p99_ms']:8.3f}  mean {s['mean_ms']:8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
