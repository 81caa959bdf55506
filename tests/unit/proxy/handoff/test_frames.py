"""The recorder hand-off frame: what a worker writes is what the recorder process and the spool read."""

from __future__ import annotations

import io
import pickle

import pytest

from sigil_sdk_litellm.mapping import MappingOptions
from sigil_sdk_litellm.proxy.handoff.frames import FRAME_HEADER, decode_frame, encode_frame, pack_frames, read_frames
from sigil_sdk_litellm.proxy.offload.recorder_process import serve
from sigil_sdk_litellm.proxy.offload.slim_event import slim_event
from sigil_sdk_litellm.recording import SdkRecorder
from tests.support import callback_kwargs, capturing_client, chat_response, failure_slo, standard_logging_object


def event(call_id: str) -> dict[str, object]:
    slo = standard_logging_object(id=call_id, litellm_call_id=call_id)
    return slim_event(callback_kwargs(slo, litellm_call_id=call_id), chat_response(id=call_id), redacted=False)


def test_a_stream_of_frames_reads_back_in_order_and_a_truncated_last_one_ends_it() -> None:
    frames = [encode_frame(n % 2 == 1, n == 2, {"n": n}) for n in range(3)]
    data = pack_frames(frames)
    assert len(data) == sum(FRAME_HEADER.size + len(frame) for frame in frames)
    assert [decode_frame(body) for body in read_frames(io.BytesIO(data))] == [
        (False, False, {"n": 0}),
        (True, False, {"n": 1}),
        (False, True, {"n": 2}),
    ]
    assert list(read_frames(io.BytesIO(data[:-1]))) == frames[:2]
    assert list(read_frames(io.BytesIO(data[:2]))) == []


@pytest.mark.parametrize("body", [pickle.dumps("not a tuple"), pickle.dumps((True, False))])
def test_a_frame_of_another_shape_is_refused(body: bytes) -> None:
    with pytest.raises((TypeError, ValueError)):
        decode_frame(body)


def test_the_recorder_process_records_each_frame_and_skips_a_malformed_one() -> None:
    client, exporter = capturing_client()
    recorder = SdkRecorder(client, MappingOptions(agent_name="handed-over"))
    failure = slim_event(callback_kwargs(failure_slo(), litellm_call_id="call-2"), None, redacted=False)
    stream = io.BytesIO(
        pack_frames(
            [encode_frame(False, False, event("call-1")), pickle.dumps(("odd",)), encode_frame(True, False, failure)]
        )
    )
    try:
        assert serve(recorder, stream) == 2
        client.flush()
        assert [g.agent_name for g in exporter.generations] == ["handed-over", "handed-over"]
        assert [bool(g.call_error) for g in exporter.generations] == [False, True]
        assert recorder.problems.count("recorder:frame") == 1
    finally:
        client.shutdown()
