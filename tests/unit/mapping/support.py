"""Map one chat event built by :mod:`tests.support`, as most mapping tests do."""

from __future__ import annotations

from sigil_sdk_litellm.mapping.event import MappingOptions
from sigil_sdk_litellm.mapping.generation import GenerationRecord, map_generation
from tests.support import callback_kwargs


def generation(slo: dict | None = None, options: MappingOptions | None = None, **kw: object) -> GenerationRecord:
    failed = bool(kw.pop("failed", False))
    redacted = bool(kw.pop("redacted", False))
    kwargs = callback_kwargs(slo, **kw)
    return map_generation(kwargs, None, options or MappingOptions(), failed=failed, redacted=redacted)
