"""The recorder process of out-of-process recording: ``python -m sigil_sdk_litellm.recorder``.

Reads length-prefixed frames ``(failed, redacted, slim_event)`` from stdin, records each through a
:class:`~sigil_sdk_litellm._recording.Recorder` (a real ``sigil_sdk.Client`` and the handler's
options) built by ``--factory module:function``, and when stdin closes (the proxy worker exited or
closed the link) shuts the client down, which exports everything still queued.

SIGTERM and SIGINT are ignored: they reach the whole process group when a container or terminal
stops the proxy, and this process must outlive its parent's shutdown long enough to flush. It never
outlives it for long: stdin closes when the parent goes, however it goes.

This module does not import LiteLLM.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pickle
import signal
import struct
import sys
from collections.abc import Callable
from typing import BinaryIO

from ._recording import Recorder

FRAME_HEADER = struct.Struct(">I")


def load_factory(spec: str) -> Callable[[], Recorder]:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"--factory must be module:function, got {spec!r}")
    factory = getattr(importlib.import_module(module_name), attr)
    if not callable(factory):
        raise TypeError(f"{spec} is not callable")
    return factory  # type: ignore[no-any-return]


def read_frames(stream: BinaryIO) -> object:
    """Yield decoded frames until EOF (a truncated last frame ends the stream)."""
    while True:
        header = stream.read(FRAME_HEADER.size)
        if len(header) < FRAME_HEADER.size:
            return
        (size,) = FRAME_HEADER.unpack(header)
        body = stream.read(size)
        if len(body) < size:
            return
        yield pickle.loads(body)


def serve(recorder: Recorder, stream: BinaryIO) -> int:
    count = 0
    for frame in read_frames(stream):  # type: ignore[attr-defined]
        try:
            failed, redacted, event = frame
        except (TypeError, ValueError):
            recorder.problems.report("recorder:frame", "recorder received a malformed frame; skipped")
            continue
        recorder.record(event, None, failed=bool(failed), redacted=bool(redacted))
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sigil_sdk_litellm.recorder", description=__doc__)
    parser.add_argument("--factory", required=True, help="module:function returning a Recorder")
    args = parser.parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    recorder = load_factory(args.factory)()
    try:
        serve(recorder, sys.stdin.buffer)
    finally:
        recorder.client.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
