"""The pipe to a recorder process: the frames the callback submits, written to the recorder's stdin.

:class:`RecorderLink` is the link of :class:`~sigil_sdk_litellm.proxy.offload.callback.OffloadingSigilLogger`
under ``SIGIL_RECORDER=process`` without a spool. A writer thread streams the queued frames to a recorder
process (``python -m sigil_sdk_litellm.proxy.offload.recorder_process``) over its stdin; that process maps,
records and exports through a real ``sigil_sdk.Client`` on the machine's other cores.

Failure handling:
- the queue is bounded (items and bytes); when the recorder cannot keep up, events are dropped,
  counted and logged at most once a minute — a request is never blocked or failed;
- a recorder that dies is restarted (with a back-off, :mod:`sigil_sdk_litellm.proxy.handoff.supervisor`);
  the frames it had not read are counted lost;
- at exit the queue is drained into the recorder, its stdin closed, and the recorder flushes and
  exits within the grace time; SIGTERM/SIGINT sent to the whole process group do not cut it short.
"""

from __future__ import annotations

import queue
import subprocess
import threading
import time
from collections.abc import Sequence
from typing import IO

from sigil_sdk_litellm.problem_log import ProblemLog
from sigil_sdk_litellm.proxy.handoff.frames import pack_frames
from sigil_sdk_litellm.proxy.handoff.supervisor import RecorderSupervisor
from sigil_sdk_litellm.proxy.metrics import HandoffMetrics

_CLOSE = b""  # sentinel in the queue


class RecorderLink:
    """The proxy side of one recorder process: bounded queue → writer thread → child's stdin."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        pass_fds: Sequence[int] = (),
        max_items: int = 20_000,
        max_bytes: int = 64 << 20,
        shutdown_grace: float = 20.0,
        batch_interval: float = 0.005,
        problems: ProblemLog | None = None,
        metrics: HandoffMetrics | None = None,
    ) -> None:
        self.command = list(command)
        self.metrics = metrics
        self.env = env
        self.pass_fds = tuple(pass_fds)
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.shutdown_grace = shutdown_grace
        self.batch_interval = batch_interval
        self.problems = problems or ProblemLog()
        self.sent = 0
        self.dropped = 0
        self.lost = 0
        self._queue: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._queued_items = 0
        self._queued_bytes = 0
        self._lock = threading.Lock()
        self._closed = False
        self._recorder = RecorderSupervisor(self.command, env=env, pass_fds=pass_fds, problems=self.problems)
        self._writer = threading.Thread(target=self._write_loop, name="sigil-recorder-writer", daemon=True)
        self._writer.start()

    # -- proxy side (event loop) -----------------------------------------------------------------

    def submit(self, frame: bytes) -> bool:
        size = len(frame)
        with self._lock:
            if self._closed:
                return False
            if self._queued_items >= self.max_items or self._queued_bytes + size > self.max_bytes:
                self.dropped += 1
                full = True
            else:
                self._queued_items += 1
                self._queued_bytes += size
                full = False
        if full:
            if self.metrics is not None:
                self.metrics.full.inc()
            self.problems.report(
                "offload:queue-full",
                f"recorder queue full ({self.max_items} events / {self.max_bytes} bytes): "
                f"telemetry dropped, {self.dropped} events so far; requests are not affected",
            )
            return False
        self._queue.put(frame)
        return True

    @property
    def pending(self) -> int:
        with self._lock:
            return self._queued_items

    # -- writer thread ----------------------------------------------------------------------------

    @property
    def restarts(self) -> int:
        return self._recorder.restarts

    @property
    def _child(self) -> subprocess.Popen[bytes]:  # the recorder process running now (read by its tests)
        return self._recorder.child

    def _write_loop(self) -> None:
        # Sleeps in a blocking get while nothing is queued (an idle proxy never wakes this thread);
        # once an event arrives, waits a few milliseconds for more and writes them in one syscall,
        # rather than waking (and taking the GIL from the event loop) once per event.
        closing = False
        while not closing:
            frames: list[bytes] = [self._queue.get()]
            if frames[0] is not _CLOSE:
                time.sleep(self.batch_interval)
            while len(frames) < 1024:
                try:
                    frames.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if _CLOSE in frames:
                closing = True
                frames = [f for f in frames if f != _CLOSE]
            if frames:
                self._write(frames)
        self._recorder.close(self.shutdown_grace)

    def _write(self, frames: list[bytes]) -> None:
        data = pack_frames(frames)
        size = sum(len(f) for f in frames)
        for attempt in range(2):
            stdin: IO[bytes] | None = self._recorder.child.stdin
            try:
                if stdin is None:
                    raise BrokenPipeError("recorder has no stdin")
                stdin.write(data)
                stdin.flush()
                self.sent += len(frames)
                break
            except (BrokenPipeError, OSError, ValueError) as exc:
                if attempt == 0 and self._recorder.restart(exc):
                    continue
                self.lost += len(frames)
                if self.metrics is not None:
                    self.metrics.lost.inc(len(frames))
                self.problems.report(
                    "offload:lost",
                    f"recorder process unavailable ({exc}); {self.lost} events lost so far",
                )
                break
        with self._lock:
            self._queued_items -= len(frames)
            self._queued_bytes -= size

    def shutdown(self) -> None:
        """Same as :meth:`close` (the interface the bootstrap's exit hooks call)."""
        self.close()

    def close(self, timeout: float | None = None) -> None:
        """Drain the queue into the recorder, let it flush and exit (bounded by the grace time)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(_CLOSE)
        self._writer.join(timeout if timeout is not None else self.shutdown_grace + 10)
