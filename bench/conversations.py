"""Deterministic chat workloads shared by the benchmarks: short chats and long agent chats with tools."""

from __future__ import annotations

from typing import Any

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": f"{name.replace('_', ' ')} for the agent",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
                "required": ["query"],
            },
        },
    }
    for name in ("search_docs", "get_ticket", "run_sql")
]

_SENTENCE = (
    "The deployment in eu-west failed its readiness probe after the config change, "
    "so please check the rollout history and the last three error logs. "
)


def conversation(n_messages: int) -> list[dict[str, Any]]:
    """A chat of exactly ``n_messages`` messages: a system prompt, then user turns; from 12 messages
    on, an agent loop of assistant tool calls and tool results with realistic text lengths."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": "You are an SRE assistant. " * 4}]
    turn = 0
    while len(messages) < n_messages:
        remaining = n_messages - len(messages)
        if n_messages >= 12 and remaining >= 3 and turn % 2 == 1:
            call_id = f"call_{turn}"
            messages.append(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": call_id,
                            "type": "function",
                            "function": {"name": "search_docs", "arguments": '{"query": "readiness probe"}'},
                        }
                    ],
                }
            )
            messages.append({"role": "tool", "tool_call_id": call_id, "content": _SENTENCE * 3})
            messages.append({"role": "assistant", "content": _SENTENCE * 2})
        else:
            messages.append({"role": "user", "content": f"Turn {turn}: " + _SENTENCE})
        turn += 1
    return messages[:n_messages]
