"""The gRPC encoder's message cache in memory: what it holds against what it counts, at its bound.

``python -m bench.message_cache_memory [--budget-mib 8] [--conversations 400] [--lists]``

Agent chats that never repeat one another (each of its own text, 2 to 42 messages, growing turn by
turn as an agent resends its history) are encoded until the cache has dropped entries for a while.
``tracemalloc`` gives the memory the cache keeps (its entries, their keys and the text the keys
hold, once the events themselves are gone), printed beside the budget and the cache's own count: the
cache is bounded if the memory stays at the budget however many conversations go through it.
``--lists``: the encoder's input lists instead (``export.input_lists``, 4 MiB), on the direct writer's
path (each turn's history the same message objects), the message cache keeping nothing, so that what the
lists alone keep (their bytes and their messages) is measured.
"""

from __future__ import annotations

import argparse
import gc
import json
import tracemalloc
from typing import Any

from sigil_sdk import Generation, Message, MessageRole, Part, PartKind, ToolCall, ToolResult

from bench.conversations import conversation
from sigil_sdk_litellm.proxy.export.input_lists import InputLists
from sigil_sdk_litellm.proxy.export.message_cache import CachingEncoder


def sdk_messages(raw: list[dict[str, Any]], salt: str) -> list[Message]:
    """The benchmark's chat as sigil-sdk messages, every text made unique by ``salt``."""
    out: list[Message] = []
    for message in raw[1:]:
        if message.get("tool_calls"):
            call = message["tool_calls"][0]
            part = Part(
                kind=PartKind.TOOL_CALL,
                tool_call=ToolCall(name="search_docs", id=call["id"] + salt, input_json=b'{"q": "%s"}' % salt.encode()),
            )
            out.append(Message(role=MessageRole.ASSISTANT, parts=[part]))
        elif message["role"] == "tool":
            result = ToolResult(tool_call_id=message["tool_call_id"] + salt, content=salt + message["content"])
            out.append(Message(role=MessageRole.TOOL, parts=[Part(kind=PartKind.TOOL_RESULT, tool_result=result)]))
        else:
            role = MessageRole.ASSISTANT if message["role"] == "assistant" else MessageRole.USER
            out.append(Message(role=role, parts=[Part(kind=PartKind.TEXT, text=salt + message["content"])]))
    return out


def print_held(cache: Any, conversations: int, held: int, budget_mib: float) -> None:
    """One JSON line: a bounded cache's entries, its own count and what tracemalloc says it holds."""
    row = {
        "conversations": conversations,
        "entries": len(cache),
        "counted_mib": round(cache.size / (1 << 20), 2),
        "held_mib": round(held / (1 << 20), 2),
        "budget_mib": budget_mib,
        "hits": cache.hits,
        "misses": cache.misses,
    }
    print(json.dumps(row), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--budget-mib", type=float, default=8)
    parser.add_argument("--conversations", type=int, default=400)
    parser.add_argument("--lists", action="store_true", help="the encoder's input lists")
    args = parser.parse_args()
    budget = int(args.budget_mib * (1 << 20))
    chat = conversation(42)
    tracemalloc.start()
    gc.collect()
    base = tracemalloc.get_traced_memory()[0]
    encoder = CachingEncoder(budget=0 if args.lists else budget)
    encoder.lists = InputLists(budget if args.lists else 0)
    for index in range(args.conversations):
        history = sdk_messages(chat, f"[conversation {index}] ")
        for turn in range(2, len(history) + 1):  # the agent resends its history every turn
            generation = Generation(id=f"g{index}-{turn}", input=history[:turn])
            if args.lists:  # as the direct writer encodes: its keys, validated
                encoder.encode(generation, encoder.keys(generation), validated=True)
            else:
                encoder.encode(generation)
        if (index + 1) % (args.conversations // 4) == 0:
            del history, generation
            gc.collect()
            held = tracemalloc.get_traced_memory()[0] - base
            print_held(encoder.lists if args.lists else encoder.messages, index + 1, held, args.budget_mib)


if __name__ == "__main__":
    main()
