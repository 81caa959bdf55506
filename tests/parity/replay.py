"""Replay captured LiteLLM events through whichever ``sigil_sdk_litellm`` this interpreter imports.

``python -I tests/parity/replay.py EVENTS.jsonl`` prints one JSON line per event: the generations the
handler exported (as the wire proto, in JSON) and its embedding spans (name, attributes, times). Run
with this project's interpreter it replays through ours; with the peer virtualenv's
(``side_venvs.peer``) through PyPI ``sigil-sdk-litellm``. ``-I`` keeps the repository's ``src`` off the
path; the repository root is added for ``tests.support`` only.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import litellm
from google.protobuf.json_format import MessageToDict
from sigil_sdk.proto_mapping import generation_to_proto

from sigil_sdk_litellm import SigilLiteLLMLogger
from tests.support import span_capturing_client


def decode(value: Any) -> Any:
    """The inverse of ``capture_callback.encode``: tagged datetimes, exceptions and LiteLLM responses."""
    if isinstance(value, list):
        return [decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "__datetime__" in value:
        return datetime.fromisoformat(value["__datetime__"])
    if "__exception__" in value:
        return RuntimeError(value["message"])
    if "__model__" in value:
        data = decode(value["data"])
        cls = getattr(litellm, value["__model__"], None)
        try:
            return cls(**data) if cls is not None else data
        except Exception:  # noqa: BLE001 - both handlers then get the same plain dict
            return data
    return {key: decode(item) for key, item in value.items()}


async def replay(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    client, exporter, spans = span_capturing_client()
    handler = SigilLiteLLMLogger(client=client)
    out = []
    for event in events:
        kwargs, response_obj = decode(event["kwargs"]), decode(event["response_obj"])
        start_time, end_time = decode(event["start_time"]), decode(event["end_time"])
        seen = len(exporter.generations)
        spans.clear()
        hook = handler.async_log_failure_event if event["failed"] else handler.async_log_success_event
        await hook(kwargs, response_obj, start_time, end_time)
        client.flush()
        out.append(
            {
                "generations": [
                    MessageToDict(generation_to_proto(g), preserving_proto_field_name=True)
                    for g in exporter.generations[seen:]
                ],
                "embeddings": [
                    {
                        "name": span.name,
                        "start_time": span.start_time,
                        "attributes": dict(span.attributes or {}),
                    }
                    for span in spans.get_finished_spans()
                    if span.name.startswith("embeddings")
                ],
            }
        )
    client.shutdown()
    return out


def main() -> None:
    lines = Path(sys.argv[1]).read_text(encoding="utf-8").splitlines()
    results = asyncio.run(replay([json.loads(line) for line in lines if line.strip()]))
    for result in results:
        print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
