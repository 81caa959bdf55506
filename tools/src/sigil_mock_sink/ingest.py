"""What the real Sigil ingest does to each item: defaults filled in, then per-item rejections.

Pure functions over the protobuf classes shipped inside sigil-sdk (so the sink and the SDK can never
disagree on the schema). They follow grafana/sigil's ``internal/ingest/generation``: a missing id gets
``gen-<n>``, mode UNSPECIFIED becomes SYNC, a missing operation name becomes ``generateText`` (SYNC) or
``streamText`` (STREAM), a missing ``started_at`` / ``completed_at`` becomes now; then an item without
a model, a provider or a model name, or whose mode is neither SYNC nor STREAM, is rejected with the
server's message. A second generation with an id the tenant already has is ``generation already
exists`` (the server's storage has a unique key on tenant and id); that check lives in the store.

The real workflow-step ingest is not public in the same detail; the sink treats steps the same way
(id ``step-<n>`` and timestamps filled in, duplicates per tenant rejected).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from google.protobuf import timestamp_pb2
from sigil_sdk.internal.gen.sigil.v1 import generation_ingest_pb2 as pb

OPERATION_SYNC = "generateText"
OPERATION_STREAM = "streamText"
VALID_MODES = frozenset({pb.GENERATION_MODE_SYNC, pb.GENERATION_MODE_STREAM})

ERR_MODEL = "generation.model is required"
ERR_PROVIDER = "generation.model.provider is required"
ERR_NAME = "generation.model.name is required"
ERR_MODE = "generation.mode is invalid"
ERR_DUPLICATE = "generation already exists"
ERR_STEP_DUPLICATE = "workflow step already exists"

# every per-item rejection the rules can produce (the fault injector adds its own)
REJECTIONS = (ERR_MODEL, ERR_PROVIDER, ERR_NAME, ERR_MODE, ERR_DUPLICATE)


def id_counter(prefix: str) -> Callable[[], str]:
    """``prefix-1``, ``prefix-2``, … (the server numbers generated ids per process)."""
    counter = itertools.count(1)
    return lambda: f"{prefix}-{next(counter)}"


def _now() -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.GetCurrentTime()
    return stamp


def normalize_generation(generation: pb.Generation, new_id: Callable[[], str]) -> str | None:
    """Fill the server's defaults in place; return the rejection message, or None when acceptable."""
    if not generation.id:
        generation.id = new_id()
    if generation.mode == pb.GENERATION_MODE_UNSPECIFIED:
        generation.mode = pb.GENERATION_MODE_SYNC
    if not generation.operation_name:
        stream = generation.mode == pb.GENERATION_MODE_STREAM
        generation.operation_name = OPERATION_STREAM if stream else OPERATION_SYNC
    if not generation.HasField("started_at"):
        generation.started_at.CopyFrom(_now())
    if not generation.HasField("completed_at"):
        generation.completed_at.CopyFrom(_now())
    return validate_generation(generation)


def validate_generation(generation: pb.Generation) -> str | None:
    """The server's checks, in its order (after defaults are filled in)."""
    if not generation.HasField("model"):
        return ERR_MODEL
    if generation.model.provider == "":
        return ERR_PROVIDER
    if generation.model.name == "":
        return ERR_NAME
    if generation.mode not in VALID_MODES:
        return ERR_MODE
    return None


def normalize_workflow_step(step: pb.WorkflowStep, new_id: Callable[[], str]) -> str | None:
    """Fill defaults in place (id, timestamps); steps have no per-item checks beyond duplicates."""
    if not step.id:
        step.id = new_id()
    if not step.HasField("started_at"):
        step.started_at.CopyFrom(_now())
    if not step.HasField("completed_at"):
        step.completed_at.CopyFrom(_now())
    return None
