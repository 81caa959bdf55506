"""The secret redaction's memory of clean texts: what it holds against its budget, at its bound.

``python -m bench.clean_texts_memory [--budget-mib 4] [--conversations 400] [--lists]``

Agent chats that never repeat one another (the benchmark's 42-message chat, each text made unique, each
turn parsed anew and resending the history) go through one ``SecretRedactor("full")`` turn by turn, until
its memory of clean texts (:mod:`sigil_sdk_litellm.proxy.clean_texts`) has rotated for a while.
``tracemalloc`` gives what it keeps once the events are gone, beside the budget: bounded if the memory
stays at or under the budget however many conversations go through it. ``--lists``: the redactor's index
of message lists found clean instead (``SecretRedactor.conversations``, 2 MiB), each turn through
``holds_no_secret`` as in process, the clean texts keeping nothing.
"""

from __future__ import annotations

import argparse
import gc
import json
import tracemalloc

from bench.conversations import conversation
from bench.message_memo_memory import salted
from sigil_sdk_litellm.mapping.conversation_memo import PrefixIndex
from sigil_sdk_litellm.proxy.clean_texts import CleanTexts
from sigil_sdk_litellm.proxy.secret_redaction import SecretRedactor, _texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--budget-mib", type=float, default=4)
    parser.add_argument("--conversations", type=int, default=400)
    parser.add_argument("--lists", action="store_true", help="the index of message lists found clean")
    args = parser.parse_args()
    chat_42 = conversation(42)
    redactor = SecretRedactor("full")  # its patterns compiled before the baseline
    tracemalloc.start()
    gc.collect()
    base = tracemalloc.get_traced_memory()[0]
    budget = int(args.budget_mib * (1 << 20))
    clean = redactor.clean = CleanTexts(budget=0 if args.lists else budget)
    lists = redactor.conversations = PrefixIndex(budget if args.lists else 0)
    texts: list[str] = []
    for index in range(args.conversations):
        body = salted(chat_42, f"[conversation {index}] ")
        for turn in range(2, 43):  # the agent resends its history every turn
            if args.lists:  # as in process: the messages where LiteLLM's logging object holds them
                assert redactor.holds_no_secret(
                    {"standard_logging_object": {"messages": json.loads(body)[:turn]}}, None
                )
                continue
            texts = []
            _texts(json.loads(body)[:turn], texts.append)
            redactor.redact_texts(texts)
        if (index + 1) % (args.conversations // 4) == 0:
            del body
            texts = []
            gc.collect()
            held = tracemalloc.get_traced_memory()[0] - base
            row = {
                "conversations": index + 1,
                "texts": len(clean),
                "lists": len(lists),
                "counted_mib": round((lists.size if args.lists else clean.size) / (1 << 20), 2),
                "held_mib": round(held / (1 << 20), 2),
                "budget_mib": args.budget_mib,
            }
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
