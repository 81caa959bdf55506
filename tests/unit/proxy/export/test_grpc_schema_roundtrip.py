"""sigil.v1 and agento11y.v1 share their wire format: proven against the agento11y package's own classes.

``SIGIL_GRPC_SCHEMA=agento11y`` sends the bytes sigil.v1's classes encode to the agento11y.v1 service, and
the mock sink parses agento11y.v1 requests with sigil.v1's classes. That holds only if every field of ours
has the same number, type and name in theirs. Here a request with every field of every message set is
encoded with ours, parsed by theirs (no unknown field), encoded by theirs and parsed back by ours (equal).

The agento11y package is installed into a virtualenv of its own (``side_venvs``: built once per machine,
reused): it is never imported into this one.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from side_venvs import ensure_venv
from sigil_sdk.internal.gen.sigil.v1 import generation_ingest_pb2 as pb

AGENTO11Y = "agento11y==0.21.0"

# Runs in the agento11y virtualenv: parse with theirs, count unknown fields, encode again.
THEIRS = r"""
import base64, json, sys
from google.protobuf.unknown_fields import UnknownFieldSet
from agento11y.internal.gen.agento11y.v1 import generation_ingest_pb2 as theirs

def unknown(message):
    count = len(UnknownFieldSet(message))
    for field, value in message.ListFields():
        if field.type != field.TYPE_MESSAGE:
            continue
        if field.message_type.GetOptions().map_entry:
            values = [v for v in value.values()] if field.message_type.fields_by_name["value"].message_type else []
        elif field.is_repeated:
            values = list(value)
        else:
            values = [value]
        count += sum(unknown(v) for v in values if hasattr(v, "ListFields"))
    return count

request = json.load(sys.stdin)
out = {}
for name, data in request.items():
    message = getattr(theirs, name).FromString(base64.b64decode(data))
    out[name] = {"unknown": unknown(message), "back": base64.b64encode(message.SerializeToString()).decode()}
out["descriptor"] = base64.b64encode(theirs.DESCRIPTOR.serialized_pb).decode()
json.dump(out, sys.stdout)
"""


@pytest.fixture(scope="module")
def agento11y_python() -> Path:
    try:
        return ensure_venv("agento11y", [AGENTO11Y], timeout=600)
    except RuntimeError as error:
        pytest.fail(str(error))


def _fill(message: Any, depth: int = 0, variant: int = 0) -> None:
    """Every field of ``message`` set to a non-default value (one member per oneof, chosen by ``variant``)."""
    chosen = {oneof.name: oneof.fields[variant % len(oneof.fields)] for oneof in message.DESCRIPTOR.oneofs}
    for field in message.DESCRIPTOR.fields:
        oneof = field.containing_oneof
        if oneof is not None and chosen[oneof.name] is not field:
            continue
        _set(message, field, depth, variant)


def _repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def _scalar(field: FieldDescriptor, salt: int) -> Any:
    kind = field.type
    if kind == FieldDescriptor.TYPE_BOOL:
        return True
    if kind == FieldDescriptor.TYPE_STRING:
        return f"{field.name}-{salt}"
    if kind == FieldDescriptor.TYPE_BYTES:
        return f"{field.name}-{salt}".encode()
    if kind == FieldDescriptor.TYPE_ENUM:
        values = field.enum_type.values
        return values[min(1 + salt, len(values) - 1)].number
    if kind in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
        return 1.5 + salt
    return 7 + salt


def _set(message: Any, field: FieldDescriptor, depth: int, variant: int) -> None:
    if field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry:
        key_field, value_field = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
        mapping = getattr(message, field.name)
        key = _scalar(key_field, 0)
        if value_field.type == FieldDescriptor.TYPE_MESSAGE:
            if depth < 3:
                _fill(mapping[key], depth + 1)
        else:
            mapping[key] = _scalar(value_field, 0)
        return
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if depth >= 3:
            return
        if _repeated(field):
            alternatives = max([len(o.fields) for o in field.message_type.oneofs] or [1])
            for index in range(max(2, alternatives)):
                _fill(getattr(message, field.name).add(), depth + 1, index)
        else:
            _fill(getattr(message, field.name), depth + 1, variant)
        return
    if _repeated(field):
        getattr(message, field.name).extend([_scalar(field, 0), _scalar(field, 1)])
    else:
        setattr(message, field.name, _scalar(field, variant))


def _requests() -> dict[str, Any]:
    out = {}
    for name in (
        "ExportGenerationsRequest",
        "ExportGenerationsResponse",
        "ExportWorkflowStepsRequest",
        "ExportWorkflowStepsResponse",
    ):
        message = getattr(pb, name)()
        _fill(message)
        out[name] = message
    return out


def test_every_field_survives_a_round_trip_through_agento11y(agento11y_python: Path) -> None:
    ours = _requests()
    generation = ours["ExportGenerationsRequest"].generations[0]
    assert generation.model.name and generation.input[0].parts and generation.usage.total_tokens, "filled"
    payload = {name: base64.b64encode(message.SerializeToString()).decode() for name, message in ours.items()}
    ran = subprocess.run(
        [agento11y_python, "-c", THEIRS], input=json.dumps(payload), capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    result = json.loads(ran.stdout)
    for name, message in ours.items():
        assert result[name]["unknown"] == 0, f"agento11y.v1 does not know some field of {name}"
        back = type(message).FromString(base64.b64decode(result[name]["back"]))
        assert back == message, name
    # and field by field: the same number carries the same name and type in both schemas
    theirs = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(result["descriptor"]))
    assert theirs.package == "agento11y.v1"
    assert {s.name for s in theirs.service} >= {"GenerationIngestService", "WorkflowStepIngestService"}
    their_messages = _flatten(theirs.message_type, "")
    compared = 0
    for name, descriptor in pb.DESCRIPTOR.message_types_by_name.items():
        for path, mine in _walk(descriptor, name):
            other = their_messages[path]
            fields = {f.number: f for f in other.field}
            for field in mine.fields:
                assert field.number in fields, f"{path}.{field.name}"
                assert (fields[field.number].name, fields[field.number].type) == (field.name, field.type), path
                compared += 1
    assert compared > 50
    # and each enum's values: the same name for the same number
    their_enums = _enums(theirs.enum_type, theirs.message_type, "")
    our_enums = {
        name: {v.name: v.number for v in enum.values} for name, enum in pb.DESCRIPTOR.enum_types_by_name.items()
    }
    for name, descriptor in pb.DESCRIPTOR.message_types_by_name.items():
        for path, mine in _walk(descriptor, name):
            our_enums.update({f"{path}.{e.name}": {v.name: v.number for v in e.values} for e in mine.enum_types})
    assert our_enums, "the schema has enums"
    for name, values in our_enums.items():
        assert their_enums.get(name) == values, name


def _enums(enums: Any, messages: Any, prefix: str) -> dict[str, dict[str, int]]:
    out = {prefix + e.name: {v.name: v.number for v in e.value} for e in enums}
    for message in messages:
        out.update(_enums(message.enum_type, message.nested_type, f"{prefix}{message.name}."))
    return out


def _flatten(messages: Any, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for message in messages:
        path = prefix + message.name
        out[path] = message
        out.update(_flatten(message.nested_type, path + "."))
    return out


def _walk(descriptor: Descriptor, path: str) -> list[tuple[str, Descriptor]]:
    out = [(path, descriptor)]
    for nested in descriptor.nested_types:
        out.extend(_walk(nested, f"{path}.{nested.name}"))
    return out
