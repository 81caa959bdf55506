"""The recorder hand-off frame: one slim event as a proxy worker hands it over.

A frame is the pickled ``(failed, redacted, slim_event)`` of one LiteLLM event. Over a recorder
process's stdin frames travel length-prefixed (:data:`FRAME_HEADER`); the disk spool stores them as
rows. The worker writes them (:mod:`sigil_sdk_litellm.proxy.offload.callback`, `.pipe`), the recorder
process and the spool sender read them.

Standard library only: the recorder process imports this and must stay free of LiteLLM and pydantic.
"""

from __future__ import annotations

import pickle
import struct
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO

# the length of the frame that follows, on the recorder's stdin
FRAME_HEADER = struct.Struct(">I")


def encode_frame(failed: bool, redacted: bool, event: dict[str, Any]) -> bytes:
    return pickle.dumps((failed, redacted, event), protocol=pickle.HIGHEST_PROTOCOL)


def decode_frame(body: bytes) -> tuple[bool, bool, Any]:
    """``(failed, redacted, event)`` of one frame; raises TypeError or ValueError when it holds something
    else, and pickle's errors when it is no pickle."""
    failed, redacted, event = pickle.loads(body)
    return bool(failed), bool(redacted), event


def pack_frames(frames: Sequence[bytes]) -> bytes:
    """Frames as one write to the recorder's stdin, each behind its length."""
    return b"".join(FRAME_HEADER.pack(len(frame)) + frame for frame in frames)


def read_frames(stream: BinaryIO) -> Iterator[bytes]:
    """The frames of ``stream`` until EOF (a truncated last frame ends the stream)."""
    while True:
        header = stream.read(FRAME_HEADER.size)
        if len(header) < FRAME_HEADER.size:
            return
        (size,) = FRAME_HEADER.unpack(header)
        body = stream.read(size)
        if len(body) < size:
            return
        yield body
