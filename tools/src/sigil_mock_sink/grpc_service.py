"""The sink's gRPC side (grpc.aio): ``sigil.v1.GenerationIngestService/ExportGenerations`` and
``sigil.v1.WorkflowStepIngestService/ExportWorkflowSteps`` with the same rules as HTTP, and the same
two under ``agento11y.v1`` (the successor's schema: the same messages on the wire under another
service name, so the handlers are registered a second time with sigil.v1's message classes). Each
stored item says which service it came by (``_via``).

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

from . import otlp
from .auth import AuthError
from .core import Sink
from .faults import GRPC_CODES
from .store import GENERATION, VIA_GRPC_AGENTO11Y, VIA_GRPC_SIGIL, WORKFLOW_STEP

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


def _results(sink: Sink, kind: str, tenant: str, items: Any, response: Any, id_field: str, via: str) -> Any:
    for item, error in zip(items, sink.take("grpc", kind, tenant, items, via), strict=True):
        result = response.results.add(**{id_field: item.id})
        if error is None:
            result.accepted = True
        else:
            result.error = error
    sink.count("grpc", "OK")
    return response


class GenerationService(pb_grpc.GenerationIngestServiceServicer):
    def __init__(self, sink: Sink, via: str = VIA_GRPC_SIGIL) -> None:
        self.sink = sink
        self.via = via

    async def ExportGenerations(
        self, request: pb.ExportGenerationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExportGenerationsResponse:
        tenant = await _admit(self.sink, context)
        response = pb.ExportGenerationsResponse()
        return _results(self.sink, GENERATION, tenant, request.generations, response, "generation_id", self.via)


class WorkflowStepService(pb_grpc.WorkflowStepIngestServiceServicer):
    def __init__(self, sink: Sink, via: str = VIA_GRPC_SIGIL) -> None:
        self.sink = sink
        self.via = via

    async def ExportWorkflowSteps(
        self, request: pb.ExportWorkflowStepsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExportWorkflowStepsResponse:
        tenant = await _admit(self.sink, context)
        response = pb.ExportWorkflowStepsResponse()
        return _results(self.sink, WORKFLOW_STEP, tenant, request.workflow_steps, response, "step_id", self.via)


def _agento11y_handlers(sink: Sink) -> tuple[grpc.GenericRpcHandler, grpc.GenericRpcHandler]:
    """Both services under ``agento11y.v1``, parsed with sigil.v1's classes (same field numbers)."""
    generations = GenerationService(sink, VIA_GRPC_AGENTO11Y)
    steps = WorkflowStepService(sink, VIA_GRPC_AGENTO11Y)

    def unary(method: Any, request: Any, response: Any) -> grpc.RpcMethodHandler:
        return grpc.unary_unary_rpc_method_handler(
            method, request_deserializer=request.FromString, response_serializer=response.SerializeToString
        )

    generation_service = grpc.method_handlers_generic_handler(
        "agento11y.v1.GenerationIngestService",
        {
            "ExportGenerations": unary(
                generations.ExportGenerations, pb.ExportGenerationsRequest, pb.ExportGenerationsResponse
            )
        },
    )
    step_service = grpc.method_handlers_generic_handler(
        "agento11y.v1.WorkflowStepIngestService",
        {
            "ExportWorkflowSteps": unary(
                steps.ExportWorkflowSteps, pb.ExportWorkflowStepsRequest, pb.ExportWorkflowStepsResponse
            )
        },
    )
    return generation_service, step_service


def create_server(
    sink: Sink,
    address: str,
    max_receive_bytes: int = DEFAULT_MAX_RECEIVE_BYTES,
    credentials: grpc.ServerCredentials | None = None,
) -> grpc.aio.Server:
    """A server with both services of both schemas, and OTLP's trace and metrics services, on
    ``address``: plaintext, or TLS with ``credentials``."""
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", max_receive_bytes)])
    pb_grpc.add_GenerationIngestServiceServicer_to_server(GenerationService(sink), server)
    pb_grpc.add_WorkflowStepIngestServiceServicer_to_server(WorkflowStepService(sink), server)
    server.add_generic_rpc_handlers(_agento11y_handlers(sink))
    server.add_generic_rpc_handlers(otlp.grpc_handlers(sink))
    bound = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    if bound == 0:
        raise OSError(f"cannot listen on {address} for gRPC")
    return server
