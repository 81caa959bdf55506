"""Latency of Sigil hooks at the gateway: what preflight and postflight add per request (``SIGIL_HOOKS_ENABLED``
with ``SIGIL_HOOKS_PHASES``), and proof that hooks off add nothing.

Two measurements, both against a local mock sink evaluating a small rule set (deny and redact rules for
both phases; the requests and answers match none, so every evaluation is a full pass that answers allow):

1. **End to end** — three real proxies (``litellm --config config/config.yaml``, one worker each, the default
   recorder process): hooks off, preflight only, preflight and postflight; the same fake upstream and sink.
   Requests rotate between the proxies one at a time (off, pre, both, off, …) so drift and noise from other
   work on the machine hit all alike. Reported: p50/p99 of each; preflight adds pre - off, postflight adds
   both - pre.
2. **LiteLLM's hooks in process** — ``ProxyLogging.pre_call_hook`` and ``post_call_success_hook`` (what the
   proxy runs before and after each chat completion) timed with no callback at all, with the hooks-off
   Sigil callback and with the Sigil guardrail (real evaluation against the sink). Hooks off must cost the
   same as no callback: the proxy skips its pre-call walk when no callback defines ``async_pre_call_hook``.

Both are taken per model route the guard judges (issue #24): chat completions, the Responses API
(``input`` + ``instructions``; the output items) and Anthropic's Messages API (``messages`` + ``system``;
the content blocks), each with what it adds per phase next to chat's (``--routes`` picks some); MCP tool
calls (``call_mcp_tool``: name and arguments, then the result) in process only.

Usage: ``.venv/bin/python bench/hooks_latency.py [--requests 400] [--routes chat responses messages] [--json]``
(about three minutes per route).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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

BOTH = ["preflight", "postflight"]
RULES = {
    "rules": [
        {"id": "no-passwords", "pattern": "(?i)password", "reason": "no passwords", "phases": BOTH},
        {
            "id": "cards",
            "action": "redact",
            "pattern": r"\b(?:\d{4}-){3}\d{4}\b",
            "replacement": "[CARD]",
            "phases": BOTH,
        },
    ]
}
PROXIES = {
    "off": {},
    "pre": {"SIGIL_HOOKS_ENABLED": "true", "SIGIL_HOOKS_PHASES": "preflight"},
    "both": {"SIGIL_HOOKS_ENABLED": "true", "SIGIL_HOOKS_PHASES": "preflight,postflight"},
}
MESSAGES = [
    {"role": "system", "content": "You are a terse assistant."},
    {"role": "user", "content": "What is the capital of France? Answer in one word."},
]
SYSTEM, QUESTION = MESSAGES[0]["content"], MESSAGES[1]["content"]
ROUTES = ("chat", "responses", "messages", "mcp")
END_TO_END_ROUTES = ("chat", "responses", "messages")  # MCP tool calls: in process only


def call_route(route: str, openai_client: Any, anthropic_client: Any) -> None:
    """One request of ``route`` through a proxy, the same question on each."""
    if route == "chat":
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    elif route == "responses":
        openai_client.responses.create(model="gpt-4o-mini", input=QUESTION, instructions=SYSTEM)
    else:
        anthropic_client.messages.create(
            model="claude-sonnet-4-5", max_tokens=64, system=SYSTEM, messages=[{"role": "user", "content": QUESTION}]
        )


def hook_case(route: str) -> tuple[str, dict[str, Any], Any]:
    """(call type, request body, the model's answer) as LiteLLM hands them to the hooks on ``route``."""
    from litellm.types.llms.openai import ResponsesAPIResponse
    from litellm.types.utils import ModelResponse

    if route == "chat":
        answer = ModelResponse(choices=[{"index": 0, "message": {"role": "assistant", "content": "Paris."}}])
        return "acompletion", {"model": "gpt-4o-mini", "messages": [dict(m) for m in MESSAGES]}, answer
    if route == "responses":
        item = {"type": "message", "id": "m", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": "Paris.", "annotations": []}]}  # fmt: skip
        answer = ResponsesAPIResponse.model_validate(
            {
                "id": "resp_1",
                "object": "response",
                "created_at": 0,
                "status": "completed",
                "model": "gpt-4o-mini",
                "output": [item],
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": [],
            }
        )
        return "aresponses", {"model": "gpt-4o-mini", "input": QUESTION, "instructions": SYSTEM}, answer
    if route == "mcp":
        from litellm.types.llms.base import HiddenParams
        from litellm.types.mcp import MCPPostCallResponseObject
        from mcp.types import TextContent

        result = [TextContent(type="text", text="echo: Paris.")]
        answer = MCPPostCallResponseObject(mcp_tool_call_response=result, hidden_params=HiddenParams())
        arguments = {"text": QUESTION}
        request = {  # the synthetic request LiteLLM's MCP gateway hands the pre-call hook
            "model": "mcp-tool-call",
            "messages": [{"role": "user", "content": f"Tool: echo\nArguments: {arguments}"}],
            "mcp_tool_name": "echo",
            "mcp_arguments": arguments,
            "metadata": {},
        }
        return "call_mcp_tool", request, answer
    answer = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
              "content": [{"type": "text", "text": "Paris."}], "stop_reason": "end_turn"}  # fmt: skip
    request = {"model": "claude-sonnet-4-5", "system": SYSTEM, "messages": [{"role": "user", "content": QUESTION}]}
    return "anthropic_messages", request, answer


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
# 1. End to end through three proxies (PROXIES)


def end_to_end(requests: int, warmup: int, routes: tuple[str, ...] = ROUTES) -> dict[str, Any]:
    import anthropic
    import openai
    from fake_llm.testing import FakeLLMProcess
    from sigil_devstack.proxy import ProxyProcess
    from sigil_mock_sink.testing import SinkProcess

    results: dict[str, Any] = {}
    with FakeLLMProcess(keep_requests=0) as fake, SinkProcess(auth="none", grpc_port=0) as sink:
        sink.request("POST", "/api/v1/hook-rules", RULES)
        base = {
            "SIGIL_ENDPOINT": sink.http_url,
            "SIGIL_PROTOCOL": "http",
            "OPENAI_API_BASE": fake.base_url,
            "OPENAI_API_KEY": "fake-key",
            "ANTHROPIC_API_BASE": fake.root_url,
            "ANTHROPIC_API_KEY": "fake-key",
        }
        with contextlib.ExitStack() as stack:
            clients = {}
            for name, extra in PROXIES.items():
                proxy = stack.enter_context(ProxyProcess(env={**base, **extra}))
                clients[name] = (
                    openai.OpenAI(base_url=f"{proxy.base_url}/v1", api_key=proxy.master_key, max_retries=0),
                    anthropic.Anthropic(base_url=proxy.base_url, api_key=proxy.master_key, max_retries=0),
                )
            for route in routes:
                sink.request("DELETE", "/api/v1/hook-evaluations")
                times: dict[str, list[float]] = {name: [] for name in PROXIES}
                for index in range(warmup + requests):
                    for name, (openai_client, anthropic_client) in clients.items():
                        started = time.perf_counter()
                        call_route(route, openai_client, anthropic_client)
                        elapsed = time.perf_counter() - started
                        if index >= warmup:
                            times[name].append(elapsed)
                counts = sink.request("GET", "/api/v1/hook-evaluations")["counts"]
                results[route] = _added(times) | {"requests_each": requests, "sink_evaluations": counts}
    return _against_chat(results)


def _added(times: dict[str, list[float]]) -> dict[str, Any]:
    s_ = {name: summary(values) for name, values in times.items()}
    return {
        "hooks_off": s_["off"],
        "preflight": s_["pre"],
        "preflight_postflight": s_["both"],
        "preflight_added_p50_ms": round(s_["pre"]["p50_ms"] - s_["off"]["p50_ms"], 3),
        "preflight_added_p99_ms": round(s_["pre"]["p99_ms"] - s_["off"]["p99_ms"], 3),
        "postflight_added_p50_ms": round(s_["both"]["p50_ms"] - s_["pre"]["p50_ms"], 3),
        "postflight_added_p99_ms": round(s_["both"]["p99_ms"] - s_["pre"]["p99_ms"], 3),
    }


def _against_chat(results: dict[str, Any]) -> dict[str, Any]:
    """Each route's added p50 per phase minus chat's (measured in the same run)."""
    chat = results.get("chat")
    if chat is None:
        return results
    for figures in results.values():
        for phase in ("preflight", "postflight"):
            key = f"{phase}_added_p50_ms"
            figures[f"{phase}_added_p50_vs_chat_ms"] = round(figures[key] - chat[key], 3)
    return results


# --------------------------------------------------------------------------------------------
# 2. LiteLLM's pre-call hook in this process


async def _time_hook(callbacks: list[Any], rounds: int, hook: str, route: str = "chat") -> list[float]:
    import copy

    import litellm
    from litellm.proxy._types import UserAPIKeyAuth
    from litellm.proxy.common_utils.user_api_key_cache import UserApiKeyCache
    from litellm.proxy.utils import ProxyLogging

    proxy_logging = ProxyLogging(user_api_key_cache=UserApiKeyCache())
    litellm.callbacks = list(callbacks)
    user = UserAPIKeyAuth()
    out: list[float] = []
    call_type, request, response = hook_case(route)
    for index in range(rounds + 50):
        data = copy.deepcopy(request)
        answer = copy.deepcopy(response)
        started = time.perf_counter()
        if hook == "pre_call":
            await proxy_logging.pre_call_hook(user_api_key_dict=user, data=data, call_type=call_type)  # type: ignore[arg-type]
        elif route == "mcp":  # what LiteLLM's logging does after a tool call: each callback's MCP hook
            for callback in callbacks:
                await callback.async_post_mcp_tool_call_hook(data, answer, None, None)
        else:
            await proxy_logging.post_call_success_hook(data=data, response=answer, user_api_key_dict=user)
        if index >= 50:
            out.append(time.perf_counter() - started)
    litellm.callbacks = []
    return out


def in_process(rounds: int, routes: tuple[str, ...] = ROUTES) -> dict[str, Any]:
    from sigil_mock_sink.testing import SinkProcess
    from sigil_sdk import Client, ClientConfig, GenerationExportConfig

    from sigil_sdk_litellm.handler import SigilLiteLLMLogger
    from sigil_sdk_litellm.proxy.guardrail import hooks_guardrail
    from sigil_sdk_litellm.proxy.settings import Settings

    client = Client(ClientConfig(generation_export=GenerationExportConfig(protocol="none", endpoint="localhost:1")))
    results: dict[str, Any] = {}
    try:
        with SinkProcess(auth="none", grpc_port=0) as sink:
            sink.request("POST", "/api/v1/hook-rules", RULES)
            off = SigilLiteLLMLogger(client=client)
            settings = Settings.from_env(
                {
                    "SIGIL_ENDPOINT": sink.http_url,
                    "SIGIL_PROTOCOL": "http",
                    "SIGIL_HOOKS_ENABLED": "true",
                    "SIGIL_HOOKS_PHASES": "preflight,postflight",
                }
            )
            on = hooks_guardrail(settings)
            for route in routes:
                for hook in ("pre_call", "post_call"):
                    runs: dict[str, Callable[[], list[float]]] = {
                        name: lambda hook=hook, callbacks=callbacks, route=route: asyncio.run(  # type: ignore[misc]
                            _time_hook(callbacks, rounds, hook, route)
                        )
                        for name, callbacks in (("no_callback", []), ("hooks_off", [off]), ("hooks_on", [off, on]))
                    }
                    timed = {name: summary(run()) for name, run in runs.items()}
                    for name in ("no_callback", "hooks_off"):  # again, after the others: the same conditions
                        timed[name + "_again"] = summary(runs[name]())
                    timed["added_p50_ms"] = round(timed["hooks_on"]["p50_ms"] - timed["hooks_off"]["p50_ms"], 3)
                    results.setdefault(route, {})[hook] = timed
            chat = results.get("chat")
            for hooks in results.values():
                for hook, timed in hooks.items():
                    if chat is not None:
                        timed["added_p50_vs_chat_ms"] = round(timed["added_p50_ms"] - chat[hook]["added_p50_ms"], 3)
    finally:
        client.shutdown()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="timed requests per proxy and route (default 400)")
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2000, help="hook rounds per variant and route")
    parser.add_argument("--routes", nargs="+", choices=ROUTES, default=list(ROUTES))
    parser.add_argument("--skip-end-to-end", action="store_true", help="only the in-process hook timings")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of the text report")
    args = parser.parse_args(argv)
    routes = tuple(args.routes)
    result: dict[str, Any] = {"in_process": in_process(args.rounds, routes)}
    if not args.skip_end_to_end:
        result["end_to_end"] = end_to_end(
            args.requests, args.warmup, tuple(r for r in routes if r in END_TO_END_ROUTES)
        )
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for route, e2e in result.get("end_to_end", {}).items():
        print(f"end to end, {route}, {e2e['requests_each']} requests per proxy, in rotation (ms):")
        for name in ("hooks_off", "preflight", "preflight_postflight"):
            s = e2e[name]
            print(f"  {name:22} p50 {s['p50_ms']:8.2f}  p99 {s['p99_ms']:8.2f}  mean {s['mean_ms']:8.2f}")
        for phase in ("preflight", "postflight"):
            versus = e2e.get(f"{phase}_added_p50_vs_chat_ms")
            print(
                f"  added by {phase}: p50 {e2e[phase + '_added_p50_ms']:+.2f} ms, "
                f"p99 {e2e[phase + '_added_p99_ms']:+.2f} ms"
                + (f" (p50 vs chat's {versus:+.2f} ms)" if versus is not None else "")
            )
        print(f"  sink evaluations: {e2e['sink_evaluations']}")
    for route, hooks in result["in_process"].items():
        for hook, timed in hooks.items():
            print(f"LiteLLM {hook} hook in process, {route} (ms):")
            for name, s in timed.items():
                if isinstance(s, dict):
                    print(f"  {name:18} p50 {s['p50_ms']:8.3f}  p99 {s['p99_ms']:8.3f}  mean {s['mean_ms']:8.3f}")
            versus = timed.get("added_p50_vs_chat_ms")
            print(
                f"  added p50 {timed['added_p50_ms']:+.3f}"
                + (f" (vs chat's {versus:+.3f})" if versus is not None else "")
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
