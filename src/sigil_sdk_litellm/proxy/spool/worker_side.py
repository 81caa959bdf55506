"""The proxy worker's side of the disk spool (``SIGIL_SPOOL_DIR``).

The callback's frame (:mod:`sigil_sdk_litellm.proxy.handoff.frames`) is committed to this worker's
spool on the event loop — one SQLite transaction, tens of microseconds — and only then counts as
accepted. Its consumer delivers from the file: a thread of this worker (``SIGIL_RECORDER=inprocess``)
or the recorder process (``process``), which gets the spool's locked descriptor so that the file
stays leased while either of them lives. A recorder that dies is restarted
(:mod:`sigil_sdk_litellm.proxy.handoff.supervisor`) and resumes from the file; a worker that dies
leaves the file to be adopted by another process (see :mod:`.sender`).

A full spool (``SIGIL_SPOOL_MAX_BYTES``) or a full disk drops the new frame, counted and logged at
most once a minute; the request is never affected.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence

from sigil_sdk_litellm.problem_log import ProblemLog
from sigil_sdk_litellm.proxy.handoff.supervisor import RecorderSupervisor
from sigil_sdk_litellm.proxy.metrics import pipeline_metrics
from sigil_sdk_litellm.proxy.settings import Settings
from sigil_sdk_litellm.proxy.spool.sender import SpoolSender
from sigil_sdk_litellm.proxy.spool.store import DiskFull, SpoolFile, SpoolReader, SpoolWriter
from sigil_sdk_litellm.recording import SdkRecorder


class SpoolLink:
    """Frames → this worker's spool file; a consumer thread or recorder process delivers them."""

    def __init__(
        self,
        settings: Settings,
        *,
        recorder: SdkRecorder | None = None,
        command: Sequence[str] | None = None,
        env: dict[str, str] | None = None,
        pass_fds: Sequence[int] = (),
        problems: ProblemLog | None = None,
    ) -> None:
        """Exactly one of ``recorder`` (deliver from a thread here) or ``command`` (the recorder
        process's command line, to which the spool options are appended)."""
        assert settings.spool_dir is not None
        self.problems = problems or ProblemLog()
        self.max_bytes = settings.spool_max_bytes
        self.grace = settings.shutdown_grace
        self.dropped = 0
        metrics = pipeline_metrics(settings.metrics)
        self.metrics = metrics.spool() if metrics is not None else None
        self.spool = SpoolFile.create(settings.spool_dir)
        self.command = [str(self.spool.path)] if command is None else list(command)
        self._writer = SpoolWriter(self.spool.path, self.max_bytes)
        self._lock = threading.Lock()
        self._closed = False
        self._sender: SpoolSender | None = None
        self._process: RecorderSupervisor | None = None
        if recorder is not None:
            self._sender = SpoolSender(
                self.spool.path,
                recorder,
                recorder.delivery,
                batch_items=settings.batch_size,
                problems=self.problems,
                metrics=self.metrics,
            )
            self._sender.start()
        else:
            assert command is not None
            options = ["--spool", str(self.spool.path), "--spool-lock-fd", str(self.spool.lock_fd)]
            options += ["--grace", f"{max(1.0, self.grace - 2.0):g}", "--batch", str(settings.batch_size)]
            fds = (self.spool.lock_fd, *pass_fds)
            self._process = RecorderSupervisor(
                [*command, *options], env=env, pass_fds=fds, problems=self.problems, watch=True
            )

    def submit(self, frame: bytes) -> bool:
        with self._lock:
            if self._closed:
                return False
            try:
                if self._writer.append(frame):
                    return True
                reason = f"the spool holds SIGIL_SPOOL_MAX_BYTES ({self.max_bytes} bytes)"
            except DiskFull as exc:
                reason = f"the disk of SIGIL_SPOOL_DIR is full ({exc})"
            except sqlite3.Error as exc:
                reason = f"the spool cannot be written ({exc})"
            self.dropped += 1
            dropped = self.dropped
            if self.metrics is not None:
                self.metrics.full.inc()
        self.problems.report(
            "spool:full",
            f"{reason} while Sigil is unreachable or slow: new generations are dropped, {dropped} so far; "
            "requests are not affected",
        )
        return False

    def shutdown(self) -> None:
        """Same as :meth:`close` (the interface the bootstrap's exit hooks call)."""
        self.close()

    def close(self) -> None:
        """Let the consumer deliver within the grace time; what is left stays in the file."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._writer.close()
        if self._sender is not None:
            self._sender.close(self.grace)
        if self._process is not None:
            self._process.close(self.grace)
        if self._empty():
            self.spool.remove()
        else:
            self.spool.release()

    def _empty(self) -> bool:
        try:
            reader = SpoolReader(self.spool.path)
            try:
                return reader.count() == 0
            finally:
                reader.close()
        except sqlite3.Error:
            return False
