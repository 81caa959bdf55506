"""The recorder process of out-of-process recording: ``python -m sigil_sdk_litellm.proxy.offload.recorder_process``.

Reads length-prefixed frames ``(failed, redacted, slim_event)`` from stdin, records each through a
:class:`~sigil_sdk_litellm.recording.SdkRecorder` (a real ``sigil_sdk.Client`` and the handler's
options) built by ``--factory module:function``, and when stdin closes (the proxy worker exited or
closed the link) shuts the client down, which exports everything still queued.

SIGTERM and SIGINT are ignored: they reach the whole process group when a container or terminal
stops the proxy, and this process must outlive its parent's shutdown long enough to flush. It never
outlives it for long: stdin closes when the parent goes, however it goes.

With ``--spool FILE`` (``SIGIL_SPOOL_DIR``) the events come from the worker's spool file instead and
are deleted from it once delivered (:mod:`sigil_sdk_litellm.proxy.spool.sender`); stdin then only
tells when the worker is gone. The worker passes its lock on the file as ``--spool-lock-fd``, which
this process keeps open.

This module does not import LiteLLM.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from sigil_sdk_litellm.proxy.handoff.frames import decode_frame, read_frames
from sigil_sdk_litellm.proxy.metrics import active_metrics, forget_process
from sigil_sdk_litellm.proxy.telemetry.lifecycle import shutdown_within
from sigil_sdk_litellm.recording import SdkRecorder


def load_factory(spec: str) -> Callable[[], SdkRecorder]:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"--factory must be module:function, got {spec!r}")
    factory = getattr(importlib.import_module(module_name), attr)
    if not callable(factory):
        raise TypeError(f"{spec} is not callable")
    return factory  # type: ignore[no-any-return]


def serve(recorder: SdkRecorder, stream: BinaryIO) -> int:
    count = 0
    for body in read_frames(stream):
        try:
            failed, redacted, event = decode_frame(body)
        except (TypeError, ValueError):
            recorder.problems.report("recorder:frame", "recorder received a malformed frame; skipped")
            continue
        recorder.record(event, None, failed=failed, redacted=redacted)
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sigil_sdk_litellm.proxy.offload.recorder_process", description=__doc__
    )
    parser.add_argument("--factory", required=True, help="module:function returning an SdkRecorder")
    parser.add_argument("--spool", type=Path, help="deliver from this spool file instead of stdin")
    parser.add_argument("--spool-lock-fd", type=int, help="the worker's locked descriptor of the spool (kept open)")
    parser.add_argument("--grace", type=float, default=18.0, help="seconds to deliver after stdin closes")
    parser.add_argument("--batch", type=int, default=100, help="spooled events per export batch")
    args = parser.parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    recorder = load_factory(args.factory)()
    if args.spool is not None:
        return deliver_spool(recorder, args.spool, grace=args.grace, batch=args.batch)
    try:
        serve(recorder, sys.stdin.buffer)
    finally:
        shutdown_within(recorder.shutdown, args.grace)  # OTEL_*: within the same grace
        forget_process(os.getpid())  # its buffer is empty now: out of the pod's live gauges
    return 0


def deliver_spool(recorder: SdkRecorder, spool: Path, *, grace: float, batch: int) -> int:
    from sigil_sdk_litellm.proxy.spool.sender import SpoolSender

    metrics = active_metrics()  # on when the delivery buffer of this process turned them on
    sender = SpoolSender(
        spool, recorder, recorder.delivery, batch_items=batch, metrics=metrics.spool() if metrics else None
    )
    sender.start()
    while sys.stdin.buffer.read(65536):  # nothing is sent: EOF means the worker is gone or closing
        pass
    shutdown_within(lambda: sender.close(grace), grace)  # OTEL_*: within the same grace
    forget_process(os.getpid())  # what is left stays on disk, but no live process holds it
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
