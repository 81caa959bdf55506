"""``/v1/images/generations``: one tiny PNG per requested image, the prompt given back as ``revised_prompt``.

The shape of OpenAI's Images API answer (``created``, ``data[].b64_json`` / ``url``, ``revised_prompt``),
enough for LiteLLM's OpenAI provider and the ``openai`` client; the image itself is a fixed 1x1 PNG.
"""

from __future__ import annotations

import time
from typing import Any

# a 1x1 transparent PNG
_PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="


def response(body: dict[str, Any]) -> dict[str, Any]:
    count = body.get("n") if isinstance(body.get("n"), int) and body["n"] > 0 else 1
    prompt = body.get("prompt") if isinstance(body.get("prompt"), str) else ""
    if body.get("response_format") == "url":
        image: dict[str, Any] = {"url": "https://fake-llm.invalid/image.png"}
    else:
        image = {"b64_json": _PIXEL}
    return {"created": int(time.time()), "data": [{**image, "revised_prompt": prompt} for _ in range(min(count, 4))]}
