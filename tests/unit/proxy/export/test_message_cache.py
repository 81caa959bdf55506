"""The caching gRPC encoder's bytes are sigil-sdk's, byte for byte, over the benchmark's conversations."""

from __future__ import annotations

from sigil_sdk.internal.gen.sigil.v1 import generation_ingest_pb2 as pb
from sigil_sdk.models import Generation
from sigil_sdk.proto_mapping import generation_to_proto

from sigil_sdk_litellm.mapping import MappingOptions
from sigil_sdk_litellm.proxy.export.message_cache import ENTRY_OVERHEAD, CachingEncoder, fields_before
from sigil_sdk_litellm.proxy.export.transport import _repeated_generation_field
from sigil_sdk_litellm.recording import SdkRecorder
from tests.bench_events import bench_events
from tests.support import capturing_client, flushed


def recorded() -> list[Generation]:
    """The benchmark's events as sigil-sdk hands them to the exporter."""
    client, exporter = capturing_client(batch_size=1000, queue_size=1000)
    recorder = SdkRecorder(client, MappingOptions())
    for kwargs, failed in bench_events():
        recorder.record(kwargs, None, failed=failed, redacted=False)
    generations = flushed(client, exporter)
    assert len(generations) == len(bench_events())
    return generations


def test_every_generation_encodes_to_sigil_sdks_bytes() -> None:
    generations = recorded()
    encoder = CachingEncoder()
    for generation in generations:
        assert encoder.encode(generation) == generation_to_proto(generation).SerializeToString()
    # the second time every message and tool comes from the cache, and still the same bytes
    hits = encoder.messages.hits
    for generation in generations:
        assert encoder.encode(generation) == generation_to_proto(generation).SerializeToString()
    assert encoder.messages.hits - hits == sum(len(g.input) + len(g.output) + len(g.tools) for g in generations)
    # an agent chat growing turn by turn: each turn's history was encoded the turn before
    assert hits > sum(len(g.input) for g in generations[:41]) - 41 * 2


def test_a_batch_is_the_bytes_the_transport_sent_before_the_cache() -> None:
    """Before: each generation through ``generation_to_proto`` alone. (A request built by copying the
    protos in, as sigil-sdk's own exporter does, may order the map entries differently: it parses equal.)"""
    generations = recorded()
    encoder = CachingEncoder()
    batch = b"".join(_repeated_generation_field(encoder.encode(g)) for g in generations)
    before = b"".join(_repeated_generation_field(generation_to_proto(g).SerializeToString()) for g in generations)
    assert batch == before
    sdk_request = pb.ExportGenerationsRequest(generations=[generation_to_proto(g) for g in generations])
    assert pb.ExportGenerationsRequest.FromString(batch) == sdk_request


def test_the_cache_stays_within_its_budget_and_the_bytes_stay_right() -> None:
    generations = recorded()
    budget = 20 * ENTRY_OVERHEAD
    encoder = CachingEncoder(budget=budget)
    for _ in range(2):
        for generation in generations:
            assert encoder.encode(generation) == generation_to_proto(generation).SerializeToString()
            assert encoder.messages.size <= budget
    assert 0 < len(encoder.messages) < 20


def test_the_encoder_leaves_the_generation_as_it_found_it() -> None:
    [generation, *_] = recorded()
    inputs, outputs = generation.input, generation.output
    CachingEncoder().encode(generation)
    assert generation.input is inputs and generation.output is outputs


def test_fields_before_finds_the_first_field_at_or_after_a_number() -> None:
    encoded = generation_to_proto(Generation(id="g", system_prompt="s", stop_reason="stop")).SerializeToString()
    cut = fields_before(encoded, 11)
    assert encoded[cut:].startswith(b"\x72")  # usage (14): the first field after the messages
    assert encoded[:cut].endswith(b"\x52\x01s")  # system_prompt (10) = "s": the last field before them
    assert fields_before(encoded, 99) == len(encoded)
