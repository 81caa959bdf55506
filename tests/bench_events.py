"""The benchmark's conversations (bench/conversations.py) as LiteLLM callback events, for the tests that
compare the hot path's output with sigil-sdk's byte for byte.

An agent chat growing turn by turn (each event resends the history, as an agent does), the benchmark's
2-, 12- and 42-message chats, and the same chats streamed, failed, and answered with a tool call.
"""

from __future__ import annotations

from typing import Any

from bench.conversations import TOOLS, conversation
from tests.support import callback_kwargs, chat_response, failure_slo, standard_logging_object

TOOL_CALL_ANSWER = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {"id": "call_x", "type": "function", "function": {"name": "run_sql", "arguments": '{"query": "select 1"}'}}
    ],
}


def _event(index: int, messages: list[dict[str, Any]], **slo: Any) -> dict[str, Any]:
    ident = f"bench-call-{index}"
    params: dict[str, Any] = {"temperature": 0.2, "max_tokens": 256}
    if len(messages) >= 12:
        params["tools"] = TOOLS
    values: dict[str, Any] = {
        "id": ident,
        "litellm_call_id": ident,
        "messages": messages,
        "model_parameters": params,
        "metadata": {"requester_metadata": {"agent_name": "bench-agent", "conversation_id": "bench-conv"}},
        **slo,
    }
    stream = bool(values.get("stream"))
    return callback_kwargs(standard_logging_object(**values), litellm_call_id=ident, stream=stream)


def bench_events() -> list[tuple[dict[str, Any], bool]]:
    """(kwargs, failed) of every event the comparison replays, in order."""
    events: list[tuple[dict[str, Any], bool]] = []
    for n in range(2, 43):  # one agent chat, turn by turn
        events.append((_event(len(events), conversation(n)), False))
    for n in (2, 12, 42):
        events.append((_event(len(events), conversation(n)), False))
        events.append((_event(len(events), conversation(n), stream=True), False))
        answer = chat_response(choices=[{"index": 0, "finish_reason": "tool_calls", "message": TOOL_CALL_ANSWER}])
        events.append((_event(len(events), conversation(n), response=answer), False))
        failed = failure_slo(id=f"bench-call-{len(events)}", litellm_call_id=f"bench-call-{len(events)}")
        failed["messages"] = conversation(n)
        events.append((callback_kwargs(failed, litellm_call_id=failed["id"]), True))
    return events
