"""The sink's gRPC side (grpc.aio): ``sigil.v1.GenerationIngestService/ExportGenerations`` and
``sigil.v1.WorkflowStepIngestService/ExportWorkflowSteps`` with the same rules as HTTP.

The tenant comes from the ``x-scope-orgid`` metadata (UNAUTHENTICATED with dskit's text otherwise);
a fault's status maps to the gRPC code a client would see (503 → UNAVAILABLE, 429 →
RESOURCE_EXHAUSTED, …). A dropped connection cannot be faked from inside a grpc.aio handler, so
``drop_connections`` aborts the call with UNAVAILABLE, which is what a client sees for a reset
connection. The receive limit defaults to grpc-go's 4 MiB.
"""

from __future__ import annotations

import asyncio
from typing import Any, NoReturn

import grpc
from sigil_sdk.internal.gen.sigil.v1 import generation_ingest_pb2 as pb
from sigil_sdk.internal.gen.sigil.v1 import generation_ingest_pb2_grpc as pb_grpc

from .auth import AuthError
from .core import Sink
from .faults import GRPC_CODES
from .store import GENERATION, WORKFLOW_STEP

DEFAULT_MAX_RECEIVE_BYTES = 4 << 20


async def _abort(context: grpc.aio.ServicerContext, sink: Sink, code: grpc.StatusCode, detail: str) -> NoReturn:
    sink.note("grpc", code.name, detail)
    await context.abort(code, detail)
    raise AssertionError("abort returns only by raising")


async def _admit(sink: Sink, context: grpc.aio.ServicerContext) -> str:
    """Faults, then the tenant; the tenant or an aborted call."""
    faults = sink.faults
    if faults.delay_ms:
        await asyncio.sleep(faults.delay_ms / 1000)
    if faults.drop_connections:
        await _abort(context, sink, grpc.StatusCode.UNAVAILABLE, "fault injected: connection dropped")
    status = faults.error()
    if status is not None:
        await _abort(context, sink, GRPC_CODES[status], f"fault injected: {status}")
    headers = {key.lower(): value for key, value in context.invocation_metadata() or ()}
    try:
        return sink.tenant(headers)
    except AuthError as exc:
        await _abort(context, sink, grpc.StatusCode.UNAUTHENTICATED, str(exc))


def _results(sink: Sink, kind: str, tenant: str, items: Any, response: Any, id_field: str) -> Any:
    for item, error in zip(items, sink.take("grpc", kind, tenant, items), strict=True):
        result = response.results.add(**{id_field: item.id})
        if error is None:
            result.accepted = True
        else:
            result.error = error
    sink.count("grpc", "OK")
    return response


class GenerationService(pb_grpc.GenerationIngestServiceServicer):
    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def ExportGenerations(
        self, request: pb.ExportGenerationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExportGenerationsResponse:
        tenant = await _admit(self.sink, context)
        response = pb.ExportGenerationsResponse()
        return _results(self.sink, GENERATION, tenant, request.generations, response, "generation_id")


class WorkflowStepService(pb_grpc.WorkflowStepIngestServiceServicer):
    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def ExportWorkflowSteps(
        self, request: pb.ExportWorkflowStepsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExportWorkflowStepsResponse:
        tenant = await _admit(self.sink, context)
        response = pb.ExportWorkflowStepsResponse()
        return _results(self.sink, WORKFLOW_STEP, tenant, request.workflow_steps, response, "step_id")


def create_server(
    sink: Sink,
    address: str,
    max_receive_bytes: int = DEFAULT_MAX_RECEIVE_BYTES,
    credentials: grpc.ServerCredentials | None = None,
) -> grpc.aio.Server:
    """A server with both services on ``address``: plaintext, or TLS with ``credentials``."""
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", max_receive_bytes)])
    pb_grpc.add_GenerationIngestServiceServicer_to_server(GenerationService(sink), server)
    pb_grpc.add_WorkflowStepIngestServiceServicer_to_server(WorkflowStepService(sink), server)
    bound = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    if bound == 0:
        raise OSError(f"cannot listen on {address} for gRPC")
    return server
