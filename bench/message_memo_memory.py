"""The memo of mapped chat messages in memory: what it holds against what it counts, at its bound.

``python -m bench.message_memo_memory [--budget-mib 8] [--conversations 400] [--tools | --lists]``

Agent chats that never repeat one another (the benchmark's 42-message chat, each text made unique,
growing turn by turn as an agent resends its history, each turn parsed anew as the proxy parses a
request) are mapped until the memo has dropped entries for a while. ``tracemalloc`` gives the memory
the memo keeps once the events themselves are gone, printed beside the budget and the memo's own
count: the memo is bounded if the memory stays at the budget however many conversations go through it.
``--tools``: the memo of tool definitions instead (``mapping.parameters.TOOLS``, 2 MiB), fed each agent's
tool list made unique, once per turn. ``--lists``: the index of whole message lists instead
(``mapping.conversation_memo.CONVERSATIONS``, 4 MiB), the message memo keeping nothing, so that what the
lists alone keep alive (their bytes and their mapped messages) is measured.
"""

from __future__ import annotations

import argparse
import gc
import json
import tracemalloc
from typing import Any

from bench.conversations import TOOLS, conversation
from bench.message_cache_memory import print_held
from sigil_sdk_litellm.mapping import chat, parameters
from sigil_sdk_litellm.mapping.conversation_memo import mapped_lists
from sigil_sdk_litellm.mapping.message_memo import ContentMemo, MessageMemo


def salted(raw: list[dict[str, Any]], salt: str) -> str:
    """The chat as its request's JSON, every text made unique by ``salt``."""
    out = []
    for message in raw:
        message = json.loads(json.dumps(message))
        if isinstance(message.get("content"), str):
            message["content"] = salt + message["content"]
        for call in message.get("tool_calls") or ():
            call["id"] += salt
            call["function"]["arguments"] = json.dumps({"query": salt})
        if "tool_call_id" in message:
            message["tool_call_id"] += salt
        out.append(message)
    return json.dumps(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--budget-mib", type=float, default=8)
    parser.add_argument("--conversations", type=int, default=400)
    parser.add_argument("--tools", action="store_true", help="the memo of tool definitions")
    parser.add_argument("--lists", action="store_true", help="the index of whole message lists")
    args = parser.parse_args()
    if args.tools:
        tools_memory(args)
        return
    chat_42 = conversation(42)
    tracemalloc.start()
    gc.collect()
    base = tracemalloc.get_traced_memory()[0]
    budget = int(args.budget_mib * (1 << 20))
    memo: Any
    if args.lists:
        chat.MEMO = MessageMemo(budget=0)
        memo = chat.CONVERSATIONS = mapped_lists(budget)
    else:
        memo = chat.MEMO = MessageMemo(budget=budget)
        chat.CONVERSATIONS = mapped_lists(0)  # keeps nothing: the memo alone
    for index in range(args.conversations):
        body = salted(chat_42, f"[conversation {index}] ")
        for turn in range(2, 43):  # the agent resends its history every turn
            chat.map_input_messages(json.loads(body)[:turn])
        if (index + 1) % (args.conversations // 4) == 0:
            del body
            gc.collect()
            print_held(memo, index + 1, tracemalloc.get_traced_memory()[0] - base, args.budget_mib)


def tools_memory(args: argparse.Namespace) -> None:
    tracemalloc.start()
    gc.collect()
    base = tracemalloc.get_traced_memory()[0]
    memo = parameters.TOOLS = ContentMemo(parameters._copy_tools, budget=int(args.budget_mib * (1 << 20)))
    for index in range(args.conversations):
        body = json.dumps(
            [{**t, "function": {**t["function"], "name": f"{t['function']['name']}_{index}"}} for t in TOOLS]
        )
        for _ in range(2, 43):  # the same tools with every turn
            parameters.map_tools(json.loads(body))
        if (index + 1) % (args.conversations // 4) == 0:
            del body
            gc.collect()
            print_held(memo, index + 1, tracemalloc.get_traced_memory()[0] - base, args.budget_mib)


if __name__ == "__main__":
    main()
