"""The gRPC ingest services (``sigil.v1.GenerationIngestService`` / ``WorkflowStepIngestService``)."""

from __future__ import annotations

import asyncio

import grpc
from sigil_sdk.internal.gen.sigil.v1 import generation_ingest_pb2 as pb
from sigil_sdk.internal.gen.sigil.v1 import generation_ingest_pb2_grpc as pb_grpc

from .auth import Authenticator, AuthError
from .faults import Faults
from .store import Store


class _Base:
    def __init__(self, store: Store, auth: Authenticator, faults: Faults) -> None:
        self.store = store
        self.auth = auth
        self.faults = faults

    async def _admit(self, context: grpc.aio.ServicerContext) -> str:
        headers = {key.lower(): value for key, value in context.invocation_metadata() or ()}
        if self.faults.delay_ms:
            await asyncio.sleep(self.faults.delay_ms / 1000)
        if self.faults.drop_connections:
            self.store.stats.requests[("grpc", "dropped")] += 1
            await context.abort(grpc.StatusCode.UNAVAILABLE, "fault injected: connection dropped")
        if self.faults.unavailable():
            self.store.stats.requests[("grpc", "UNAVAILABLE")] += 1
            await context.abort(grpc.StatusCode.UNAVAILABLE, "fault injected: unavailable")
        try:
            return self.auth.tenant(headers)
        except AuthError as exc:
            self.store.stats.requests[("grpc", "UNAUTHENTICATED")] += 1
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
        raise AssertionError("unreachable")


class GenerationService(_Base, pb_grpc.GenerationIngestServiceServicer):
    async def ExportGenerations(
        self, request: pb.ExportGenerationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExportGenerationsResponse:
        tenant = await self._admit(context)
        response = pb.ExportGenerationsResponse()
        for generation in request.generations:
            error = self.store.add_generation(tenant, generation, reject=self.faults.reject_item())
            result = response.results.add(generation_id=generation.id)
            if error is None:
                result.accepted = True
            else:
                result.error = error
        self.store.stats.requests[("grpc", "OK")] += 1
        return response


class WorkflowStepService(_Base, pb_grpc.WorkflowStepIngestServiceServicer):
    async def ExportWorkflowSteps(
        self, request: pb.ExportWorkflowStepsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExportWorkflowStepsResponse:
        tenant = await self._admit(context)
        response = pb.ExportWorkflowStepsResponse()
        for step in request.workflow_steps:
            error = self.store.add_workflow_step(tenant, step, reject=self.faults.reject_item())
            result = response.results.add(step_id=step.id)
            if error is None:
                result.accepted = True
            else:
                result.error = error
        self.store.stats.requests[("grpc", "OK")] += 1
        return response


def create_server(store: Store, auth: Authenticator, faults: Faults, address: str) -> grpc.aio.Server:
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 64 << 20)])
    pb_grpc.add_GenerationIngestServiceServicer_to_server(GenerationService(store, auth, faults), server)
    pb_grpc.add_WorkflowStepIngestServiceServicer_to_server(WorkflowStepService(store, auth, faults), server)
    server.add_insecure_port(address)
    return server
