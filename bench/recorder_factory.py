"""SdkRecorder factory for benchmark recorder processes: no LiteLLM import, exports serialised, not sent."""

from __future__ import annotations

from sigil_sdk import Client, ClientConfig, GenerationExportConfig

from bench.exporters import SerializingExporter
from sigil_sdk_litellm.mapping import MappingOptions
from sigil_sdk_litellm.recording import SdkRecorder


def bench_recorder() -> SdkRecorder:
    client = Client(
        ClientConfig(
            generation_export=GenerationExportConfig(protocol="none", endpoint="localhost:1", batch_size=500),
            generation_exporter=SerializingExporter(),
        )
    )
    return SdkRecorder(client, MappingOptions())
