"""Tolerant readers for values found in LiteLLM payloads.

LiteLLM payloads are loosely typed: any field may be missing, ``None``, a pydantic object instead of a
dict, or a value of an unexpected type. Every reader here returns a well-typed default instead of
raising, so the mapping code can stay a straight line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any


def as_dict(value: Any) -> dict[str, Any]:
    """A plain dict view of ``value`` (dicts, pydantic models, objects with attributes), else ``{}``.

    An object read by attribute (a custom provider's response, a test double: ``usage.prompt_tokens_details``,
    ``choices``) becomes plain data all the way down, as a pydantic model's dump does, so that it reads
    the same by key and survives the recorder hand-off.
    """
    if type(value) is dict:
        return value
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    if isinstance(value, Mapping):
        return dict(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            dumped = dump()
        except Exception:  # noqa: BLE001 - a broken model is just "no data"
            return {}
        return dumped if isinstance(dumped, dict) else {}
    attributes = _attributes(value)
    return {key: _plain(item, 1) for key, item in attributes.items()} if attributes else {}


_SCALARS = (str, int, float, bool, bytes, type(None))


def _attributes(value: Any) -> dict[str, Any]:
    """The public data attributes of a plain object (its ``__dict__``), ``{}`` for anything else."""
    if isinstance(value, (*_SCALARS, list, tuple, set, frozenset, type)) or callable(value):
        return {}
    try:
        attributes = vars(value)
    except TypeError:
        return {}
    return {key: item for key, item in attributes.items() if isinstance(key, str) and not key.startswith("_")}


def _plain(value: Any, depth: int) -> Any:
    """``value`` with every object read by attribute turned into a dict (nesting cut at 8 levels)."""
    if isinstance(value, _SCALARS) or depth > 8:
        return value
    if isinstance(value, dict):
        return {key: _plain(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item, depth + 1) for item in value]
    if callable(getattr(value, "model_dump", None)):
        return as_dict(value)
    attributes = _attributes(value)
    return {key: _plain(item, depth + 1) for key, item in attributes.items()} if attributes else value


def as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    return []


def as_str(value: Any) -> str:
    """Strings as they are; numbers rendered; everything else (None, containers, bools) empty."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    return ""


# Sigil's proto carries counts as int64: a larger number cannot be encoded and would fail the export
INT64_MAX = 2**63 - 1


def as_int(value: Any) -> int:
    """A non-negative int, or 0 for anything that is not a finite number up to ``INT64_MAX``."""
    if isinstance(value, bool) or value is None:
        return 0
    number: int
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        number = int(value) if math.isfinite(value) else 0
    elif isinstance(value, str):
        try:
            parsed = float(value)
        except ValueError:
            return 0
        number = int(parsed) if math.isfinite(parsed) else 0
    else:
        return 0
    return number if 0 <= number <= INT64_MAX else 0


def as_opt_int(value: Any) -> int | None:
    """A non-negative int up to ``INT64_MAX``, or None for anything else."""
    number = as_opt_float(value)
    if number is None or number < 0:
        return None
    whole = int(value) if isinstance(value, int) and not isinstance(value, bool) else int(number)
    return whole if whole <= INT64_MAX else None


def as_opt_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, str)):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
    return None


def as_datetime(value: Any) -> datetime | None:
    """Epoch seconds (LiteLLM's ``startTime``) or a datetime, as an aware UTC datetime.

    A naive datetime is local time: LiteLLM makes its times with ``datetime.now()``.
    """
    if isinstance(value, datetime):
        try:
            return value.astimezone(timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
        try:
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def json_bytes(value: Any) -> bytes:
    """JSON bytes for tool arguments / schemas: valid JSON text is kept, anything else is encoded."""
    if value is None or value == "":
        return b""
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return json.dumps(value, ensure_ascii=False).encode("utf-8")
        return value.encode("utf-8", errors="replace")
    try:
        return json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
    except (TypeError, ValueError):
        return json.dumps(str(value), ensure_ascii=False).encode("utf-8")


def json_value(value: Any, depth: int = 0) -> Any:
    """A value protobuf's ``Struct`` accepts (metadata): JSON scalars, lists and str-keyed dicts.

    Integers become floats (Struct numbers are doubles; huge ones become text), non-finite floats
    become ``None``, anything else becomes its text, and nesting deeper than 8 levels is cut to text.
    """
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return float(value) if abs(value) < 2**53 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth < 8:
        if isinstance(value, Mapping):
            return {str(k): json_value(v, depth + 1) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [json_value(v, depth + 1) for v in value]
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - a __str__ that raises is still not our caller's problem
        return f"<{type(value).__name__}>"
