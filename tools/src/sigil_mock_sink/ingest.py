"""What the real Sigil ingest does to each item: defaults filled in, per-item rejections.

Pure functions over the protobuf classes shipped inside sigil-sdk (so the sink and the SDK can never
disagree on the schema). Messages follow grafana/sigil's ``internal/ingest``: a missing id gets
``gen-<n>``, mode UNSPECIFIED becomes SYNC, a missing operation name and missing timestamps are
filled in; an item without a model, provider or name, or with an unknown mode, is rejected.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

from google.protobuf import timestamp_pb2
from sigil_sdk.internal.gen.sigil.v1 import generation_ingest_pb2 as pb

MODE_VALUES = frozenset(pb.GenerationMode.values())
DEFAULT_OPERATION = {pb.GENERATION_MODE_SYNC: "generateText", pb.GENERATION_MODE_STREAM: "streamText"}

ERR_MODEL = "generation.model is required"
ERR_PROVIDER = "generation.model.provider is required"
ERR_NAME = "generation.model.name is required"
ERR_MODE = "generation.mode is invalid"
ERR_DUPLICATE = "generation already exists"
ERR_STEP_ID = "workflow_step.id is required"
ERR_STEP_DUPLICATE = "workflow step already exists"


def id_counter(prefix: str) -> Callable[[], str]:
    counter: Iterator[int] = itertools.count(1)
    return lambda: f"{prefix}-{next(counter)}"


def _now() -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.GetCurrentTime()
    return stamp


def normalize_generation(generation: pb.Generation, new_id: Callable[[], str]) -> str | None:
    """Fill defaults in place; return the rejection message, or None when the item is acceptable."""
    if not generation.id:
        generation.id = new_id()
    if not generation.HasField("model"):
        return ERR_MODEL
    if not generation.model.provider.strip():
        return ERR_PROVIDER
    if not generation.model.name.strip():
        return ERR_NAME
    if generation.mode == pb.GENERATION_MODE_UNSPECIFIED:
        generation.mode = pb.GENERATION_MODE_SYNC
    if generation.mode not in MODE_VALUES:
        return ERR_MODE
    if not generation.operation_name:
        generation.operation_name = DEFAULT_OPERATION.get(generation.mode, "generateText")
    if not generation.HasField("started_at") and not generation.HasField("completed_at"):
        now = _now()
        generation.started_at.CopyFrom(now)
        generation.completed_at.CopyFrom(now)
    elif not generation.HasField("completed_at"):
        generation.completed_at.CopyFrom(generation.started_at)
    elif not generation.HasField("started_at"):
        generation.started_at.CopyFrom(generation.completed_at)
    return None


def normalize_workflow_step(step: pb.WorkflowStep, new_id: Callable[[], str]) -> str | None:
    if not step.id:
        step.id = new_id()
    if not step.HasField("started_at"):
        step.started_at.CopyFrom(_now())
    if not step.HasField("completed_at"):
        step.completed_at.CopyFrom(step.started_at)
    return None
