"""SdkRecorder factories for recorder processes started by tests (``--factory tests.recorder_factories:…``).

Each writes the generations its client exports to the JSON-lines file named by ``TEST_CAPTURE_PATH``
(proto-JSON, as the SDK's HTTP exporter would send them), so a test can read what a separate
process recorded.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from sigil_sdk import Client, ClientConfig, GenerationExportConfig
from sigil_sdk.models import ExportGenerationResult, ExportGenerationsResponse
from sigil_sdk.proto_mapping import generation_to_proto

from sigil_sdk_litellm.mapping import MappingOptions
from sigil_sdk_litellm.recording import SdkRecorder


class FileExporter:
    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()

    def export_generations(self, request: Any) -> ExportGenerationsResponse:
        lines = [
            json.dumps(json_format.MessageToDict(generation_to_proto(g), preserving_proto_field_name=True))
            for g in request.generations
        ]
        with self._lock, open(self.path, "a", encoding="utf-8") as out:
            out.write("".join(line + "\n" for line in lines))
        return ExportGenerationsResponse(
            results=[ExportGenerationResult(generation_id=g.id, accepted=True) for g in request.generations]
        )

    def export_workflow_steps(self, request: Any) -> Any:
        raise NotImplementedError

    def shutdown(self) -> None:
        pass


def _client() -> Client:
    return Client(
        ClientConfig(
            generation_export=GenerationExportConfig(
                protocol="none", endpoint="localhost:1", flush_interval=timedelta(milliseconds=200)
            ),
            generation_exporter=FileExporter(os.environ["TEST_CAPTURE_PATH"]),
        )
    )


def recorder() -> SdkRecorder:
    return SdkRecorder(_client(), MappingOptions(agent_name="offloaded"))


class _SlowRecorder(SdkRecorder):
    def record(self, kwargs: Any, response_obj: Any, *, failed: bool, redacted: bool) -> None:
        time.sleep(float(os.environ.get("TEST_RECORD_DELAY", "0.05")))
        super().record(kwargs, response_obj, failed=failed, redacted=redacted)


def slow_recorder() -> SdkRecorder:
    return _SlowRecorder(_client(), MappingOptions())


class _CrashingRecorder(SdkRecorder):
    def record(self, kwargs: Any, response_obj: Any, *, failed: bool, redacted: bool) -> None:
        slo = kwargs.get("standard_logging_object") or {}
        if slo.get("litellm_call_id") == "crash" and not os.path.exists(os.environ["TEST_CAPTURE_PATH"] + ".crashed"):
            open(os.environ["TEST_CAPTURE_PATH"] + ".crashed", "w").close()
            sys.stderr.flush()
            os._exit(3)
        super().record(kwargs, response_obj, failed=failed, redacted=redacted)


def crashing_recorder() -> SdkRecorder:
    return _CrashingRecorder(_client(), MappingOptions())


def recorder_from_env_listing_modules() -> SdkRecorder:
    """The production factory, then the names of every module loaded written to ``TEST_MODULES_PATH``."""
    from sigil_sdk_litellm.proxy.builders import recorder_from_env

    built = recorder_from_env()
    Path(os.environ["TEST_MODULES_PATH"]).write_text("\n".join(sorted(sys.modules)), encoding="utf-8")
    return built
