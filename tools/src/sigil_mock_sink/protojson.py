"""Proto-JSON request bodies parsed as strictly as the real server's Go ``protojson.Unmarshal``.

Python's ``json_format`` is laxer than Go in a few places that matter for a faithful sink, so the
body is loaded here first and checked, then handed to ``json_format.ParseDict`` (which rejects unknown
fields and unknown enum names and checks every type):

* the top level must be a JSON object (``json_format`` takes ``[]`` for an empty message);
* the body must be UTF-8; a key may appear only once per object; bare ``NaN`` / ``Infinity`` are
  not JSON;
* ``bytes`` fields must be valid base64 as Go decodes it (standard or URL alphabet, padded when the
  length is a multiple of 4, unpadded otherwise); ``json_format`` silently drops bad characters.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor


class ProtoJSONError(ValueError):
    """The body is not a valid proto-JSON encoding of the message (HTTP 400, with this text)."""


_B64 = {
    False: re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"),
    True: re.compile(r"(?:[A-Za-z0-9\-_]{4})*(?:[A-Za-z0-9\-_]{2}==|[A-Za-z0-9\-_]{3}=)?"),
}
_B64_UNPADDED = {False: re.compile(r"[A-Za-z0-9+/]*"), True: re.compile(r"[A-Za-z0-9\-_]*")}


def valid_base64(value: str) -> bool:
    """Go protojson's rule for a ``bytes`` value (line breaks are ignored, as Go's decoder does)."""
    text = value.replace("\r", "").replace("\n", "")
    url = "-" in text or "_" in text
    if len(text) % 4 == 0:
        return _B64[url].fullmatch(text) is not None
    return len(text) % 4 != 1 and _B64_UNPADDED[url].fullmatch(text) is not None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ProtoJSONError(f"duplicate field {key!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ProtoJSONError(f"invalid JSON value {name}")


@cache
def _bytes_paths(descriptor: Descriptor) -> dict[str, FieldDescriptor]:
    """Fields of this message (by proto and JSON name) that are bytes or lead to bytes fields."""
    out: dict[str, FieldDescriptor] = {}
    for f in descriptor.fields:
        relevant = f.type == FieldDescriptor.TYPE_BYTES or (
            f.type == FieldDescriptor.TYPE_MESSAGE
            and not f.message_type.full_name.startswith("google.protobuf.")
            and _leads_to_bytes(f.message_type, frozenset())
        )
        if relevant:
            out[f.name] = f
            out[f.json_name] = f
    return out


def _leads_to_bytes(descriptor: Descriptor, seen: frozenset[str]) -> bool:
    if descriptor.full_name in seen:
        return False
    seen = seen | {descriptor.full_name}
    for f in descriptor.fields:
        if f.type == FieldDescriptor.TYPE_BYTES:
            return True
        if (
            f.type == FieldDescriptor.TYPE_MESSAGE
            and not f.message_type.full_name.startswith("google.protobuf.")
            and _leads_to_bytes(f.message_type, seen)
        ):
            return True
    return False


def _check_bytes(data: Any, descriptor: Descriptor, path: str) -> None:
    if not isinstance(data, dict):
        return  # json_format reports the type error
    fields = _bytes_paths(descriptor)
    if not fields:
        return
    for key, value in data.items():
        field = fields.get(key)
        if field is None or value is None:
            continue
        values = value if isinstance(value, list) else [value]
        for index, item in enumerate(values):
            where = f"{path}.{key}" + (f"[{index}]" if isinstance(value, list) else "")
            if field.type == FieldDescriptor.TYPE_BYTES:
                if isinstance(item, str) and not valid_base64(item):
                    raise ProtoJSONError(f"invalid base64 value for bytes field {where}: {item[:40]!r}")
            elif field.message_type.GetOptions().map_entry:
                _check_map(item, field.message_type.fields_by_name["value"], where)
            else:
                _check_bytes(item, field.message_type, where)


def _check_map(entries: Any, value_field: FieldDescriptor, where: str) -> None:
    if not isinstance(entries, dict):
        return
    for map_key, map_value in entries.items():
        if value_field.type == FieldDescriptor.TYPE_BYTES:
            if isinstance(map_value, str) and not valid_base64(map_value):
                raise ProtoJSONError(f"invalid base64 value for bytes field {where}[{map_key!r}]")
        else:
            _check_bytes(map_value, value_field.message_type, f"{where}[{map_key!r}]")


def parse(body: bytes, message: Any) -> Any:
    """Fill ``message`` from a proto-JSON body; ProtoJSONError with a readable reason otherwise."""
    try:
        data = json.loads(body.decode("utf-8"), object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise ProtoJSONError(f"invalid UTF-8 in body: {exc.reason}") from None
    except json.JSONDecodeError as exc:
        raise ProtoJSONError(f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ProtoJSONError(f"expected a JSON object for {message.DESCRIPTOR.full_name}")
    _check_bytes(data, message.DESCRIPTOR, message.DESCRIPTOR.name)
    try:
        json_format.ParseDict(data, message)
    except (json_format.ParseError, TypeError, ValueError, AttributeError) as exc:
        raise ProtoJSONError(str(exc).split("\n Available Fields")[0]) from None
    return message
