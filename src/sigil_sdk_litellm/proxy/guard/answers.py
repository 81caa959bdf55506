"""The model's answer as the guard's postflight reads it, and a transform put back into a stream.

LiteLLM hands the post-call hook a response object, or the chunks of a stream (held back until it ends):
:func:`response_body` and :func:`assembled_answer` turn them into the plain dict that
:func:`~sigil_sdk_litellm.proxy.guard.requests.postflight_request` maps; :func:`rewrite_answer_stream` puts
a rule's transformed texts into the chunks before they go out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sigil_sdk_litellm.mapping.coerce import as_dict, as_list
from sigil_sdk_litellm.proxy.guard.requests import answer_output, output_text, rewrite_stream


def response_body(response: Any) -> dict[str, Any]:
    """A (non-streamed) answer as the plain dict the postflight mapping reads."""
    body: dict[str, Any] = response.model_dump() if hasattr(response, "model_dump") else dict(response)
    return body


def assembled_answer(chunks: list[Any]) -> dict[str, Any]:
    """A streamed answer as one response dict, choice by choice: LiteLLM's ``stream_chunk_builder`` joins
    text, tool calls and the rest, but only of one choice, so each choice index is built on its own."""
    from litellm import stream_chunk_builder  # the proxy's; loaded already when streams reach us

    groups: dict[int, list[Any]] = {}
    for chunk in chunks:
        choices = getattr(chunk, "choices", None) or []
        if not isinstance(choices, list):
            raise TypeError(f"chunk choices are a {type(choices).__name__}, not a list")
        for choice in choices:
            index = getattr(choice, "index", 0)
            index = index if isinstance(index, int) and index >= 0 else 0
            groups.setdefault(index, []).append(
                chunk if len(choices) == 1 else chunk.model_copy(update={"choices": [choice]})
            )
    out: list[dict[str, Any]] = []
    for index in sorted(groups):
        built = stream_chunk_builder(chunks=groups[index])
        if built is not None and built.choices:
            out.append(dict(built.model_dump()["choices"][0], index=index))
    return {"choices": out}


def changed_texts(body: Mapping[str, Any], output: list[Any]) -> dict[int, str]:
    """The transformed text of each choice (by its ``index``) whose text the transform changed."""
    choices = as_list(body.get("choices"))
    texts: dict[int, str] = {}
    for (position, _), message in zip(answer_output(body), output, strict=False):
        choice = as_dict(choices[position])
        text = output_text(message)
        if text and text != as_dict(choice.get("message")).get("content"):
            index = choice.get("index")
            texts[index if isinstance(index, int) and index >= 0 else position] = text
    return texts


def rewrite_answer_stream(
    chunks: list[Any], body: Mapping[str, Any], output: list[Any]
) -> tuple[dict[int, str], set[int]]:
    """The transformed texts of ``body``'s choices, and the choices of ``chunks`` rewritten with them."""
    texts = changed_texts(body, output)
    return texts, rewrite_stream(chunks, texts)
