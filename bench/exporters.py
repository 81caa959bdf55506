"""A benchmark exporter: the CPU work of the SDK's gRPC exporter, without a network."""

from __future__ import annotations

from typing import Any

from sigil_sdk.models import ExportGenerationResult, ExportGenerationsResponse
from sigil_sdk.proto_mapping import generation_to_proto


class SerializingExporter:
    """Does the CPU work of the SDK's gRPC exporter (model → proto → bytes), without a network."""

    def __init__(self) -> None:
        self.count = 0
        self.bytes = 0

    def export_generations(self, request: Any) -> ExportGenerationsResponse:
        for generation in request.generations:
            self.bytes += len(generation_to_proto(generation).SerializeToString())
        self.count += len(request.generations)
        return ExportGenerationsResponse(
            results=[ExportGenerationResult(generation_id=g.id, accepted=True) for g in request.generations]
        )

    def export_workflow_steps(self, request: Any) -> Any:
        raise NotImplementedError

    def shutdown(self) -> None:
        pass
