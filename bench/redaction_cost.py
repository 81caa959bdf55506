"""SIGIL_REDACT_SECRETS: CPU microseconds per event in the proxy worker, tiers off / lightweight / full side by side.

``python bench/redaction_cost.py [--messages 2 12 42] [--events 200] [--rounds 5]``. The events are real:
LiteLLM runs one ``mock_response`` completion per chat of ``bench.conversations`` (``bench.micro``) and the
payload it hands to callbacks is replayed. Three figures per chat size and tier, the tiers interleaved round
by round (so the machine's noise falls on all three) and the median round reported:

- ``redact_us``: the redaction step alone (``SecretRedactor`` on the slim event; 0 with off);
- ``handoff_us``: the worker's whole callback when it hands events over (slim event, redaction, frame;
  a link that keeps the frame stands for the pipe or the spool, whose cost does not depend on the tier);
- ``inprocess_us``: the worker's whole callback recording in process (off: the library handler on
  LiteLLM's kwargs; a tier: slim copy, redaction, then the same mapping and SDK recording).

By default the events carry no secret (the common case: every text is scanned, nothing replaced); with
``--secret`` the last user message holds a (fake) GitHub token and an e-mail address, so that text also goes
through the SDK's sanitizer and the event is copied where it changed. Prints a table and one JSON line per size.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sigil_sdk import Client, ClientConfig, GenerationExportConfig

from bench.micro import capture_events
from sigil_sdk_litellm import SigilLiteLLMLogger
from sigil_sdk_litellm.mapping import MappingOptions
from sigil_sdk_litellm.problem_log import ProblemLog
from sigil_sdk_litellm.proxy.offload.callback import OffloadingSigilLogger
from sigil_sdk_litellm.proxy.offload.slim_event import slim_event
from sigil_sdk_litellm.proxy.redacting_handler import SecretRedactingLogger
from sigil_sdk_litellm.proxy.secret_redaction import SecretRedactor

TIERS = ("off", "lightweight", "full")


class _KeptFrames:
    command = ["bench"]

    def __init__(self) -> None:
        self.problems = ProblemLog()
        self.count = 0

    def submit(self, frame: bytes) -> bool:
        self.count += 1
        return True


class _Counting(SecretRedactor):
    """Keeps the texts of the last event (what each tier scans)."""

    seen: list[str] = []

    def redact_texts(self, texts: list[str]) -> dict[str, str]:
        self.seen = texts
        return super().redact_texts(texts)


def _with_secret(kwargs: dict[str, Any]) -> dict[str, Any]:
    event = copy.deepcopy(kwargs)
    last = event["standard_logging_object"]["messages"][-1]
    last["content"] = f"{last['content']} token ghp_{'x7' * 18} from ops@example.com"
    return event


def _client() -> Client:
    export = GenerationExportConfig(
        protocol="none",
        endpoint="localhost:1",
        batch_size=100_000,
        queue_size=100_000,
        flush_interval=timedelta(hours=1),
    )
    return Client(ClientConfig(generation_export=export))


def _per_event_us(step: Callable[[], object], events: int) -> float:
    cpu0 = time.process_time()
    for _ in range(events):
        step()
    return (time.process_time() - cpu0) / events * 1e6


def _steps(tier: str, kwargs: dict[str, Any], response: Any) -> dict[str, Callable[[], object]]:
    redactor = None if tier == "off" else SecretRedactor(tier)  # type: ignore[arg-type]
    slim = slim_event(kwargs, response)
    handoff = OffloadingSigilLogger(link=_KeptFrames(), redactor=redactor)
    client = _client()
    if redactor is None:
        inprocess: SigilLiteLLMLogger = SigilLiteLLMLogger(client=client)
    else:
        inprocess = SecretRedactingLogger(client=client, options=MappingOptions(), redactor=redactor)
    return {
        "redact_us": (lambda: None) if redactor is None else (lambda: redactor(slim)),
        "handoff_us": lambda: handoff.handle_event(kwargs, response, failed=False),
        "inprocess_us": lambda: inprocess.handle_event(kwargs, response, failed=False),
    }


def measure(n_messages: int, event: tuple[dict[str, Any], Any], events: int, rounds: int) -> dict[str, Any]:
    kwargs, response = event
    steps = {tier: _steps(tier, kwargs, response) for tier in TIERS}
    for tier_steps in steps.values():  # warm-up: imports, compiled patterns, caches
        for step in tier_steps.values():
            _per_event_us(step, 10)
    samples: dict[str, dict[str, list[float]]] = {t: {k: [] for k in steps[t]} for t in TIERS}
    for _ in range(rounds):
        for figure in ("redact_us", "handoff_us", "inprocess_us"):
            for tier in TIERS:
                samples[tier][figure].append(_per_event_us(steps[tier][figure], events))
    counting = _Counting("full")
    counting(slim_event(kwargs, response))
    return {
        "messages": n_messages,
        "texts": len(counting.seen),
        "characters": sum(map(len, counting.seen)),
        **{tier: {k: round(statistics.median(v), 1) for k, v in samples[tier].items()} for tier in TIERS},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, nargs="+", default=[2, 12, 42])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--secret", action="store_true", help="a secret in the last user message of each chat")
    args = parser.parse_args()
    captured = capture_events(args.messages)
    if args.secret:
        captured = {n: (_with_secret(kwargs), response) for n, (kwargs, response) in captured.items()}
    rows = [measure(n, captured[n], args.events, args.rounds) for n in args.messages]
    print("µs per event (CPU, median of rounds)   " + " | ".join(f"{t:>24}" for t in TIERS))
    print("messages texts chars  figure          " + " | ".join(f"{'µs':>24}" for _ in TIERS))
    for row in rows:
        for figure in ("redact_us", "handoff_us", "inprocess_us"):
            cells = " | ".join(f"{row[t][figure]:>24,.1f}" for t in TIERS)
            print(f"{row['messages']:>8} {row['texts']:>5} {row['characters']:>6}  {figure:<14}  {cells}")
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
