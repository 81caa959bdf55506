"""Out-of-process recording: the proxy pays for handing an event over, a recorder process pays the rest.

In the proxy, recording a generation through the SDK (mapping, the SDK's validation and copies, its
proto size check, then serialising the export) costs a few hundred microseconds to milliseconds of
CPU per request on the worker's event loop. :class:`OffloadingSigilLogger` does only the cheap part
there: it picks the fields the mapping reads (:func:`~sigil_sdk_litellm.proxy.offload.slim.slim_event`),
pickles them and queues the bytes. A writer thread streams the frames to a recorder process
(``python -m sigil_sdk_litellm.proxy.offload.recorder_process``) over its stdin; that process maps, records and exports
through a real ``sigil_sdk.Client`` on the machine's other cores.

Failure handling:
- the queue is bounded (items and bytes); when the recorder cannot keep up, events are dropped,
  counted and logged at most once a minute — a request is never blocked or failed;
- a recorder that dies is restarted (with a back-off); the frames it had not read are counted lost;
- at exit the queue is drained into the recorder, its stdin closed, and the recorder flushes and
  exits within the grace time; SIGTERM/SIGINT sent to the whole process group do not cut it short.
"""

from __future__ import annotations

import contextlib
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import IO, Any, Protocol

from litellm.integrations.custom_logger import CustomLogger

from sigil_sdk_litellm.entry_points import EventEntryPoints
from sigil_sdk_litellm.mapping import DEFAULT_AGENT_NAME_METADATA_KEYS, call_type_of, classify_call
from sigil_sdk_litellm.problems import ProblemLog
from sigil_sdk_litellm.proxy.handoff.frames import encode_frame, pack_frames
from sigil_sdk_litellm.proxy.metrics import HandoffMetrics, forget_process
from sigil_sdk_litellm.proxy.offload.slim import slim_event
from sigil_sdk_litellm.proxy.tenants import TenantRouter
from sigil_sdk_litellm.redaction import content_redacted

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
        self.restarts = 0
        self._queue: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._queued_items = 0
        self._queued_bytes = 0
        self._lock = threading.Lock()
        self._closed = False
        self._child: subprocess.Popen[bytes] | None = None
        self._spawn()
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

    def _spawn(self) -> None:
        self._child = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            env=self.env,
            close_fds=True,
            pass_fds=self.pass_fds,
        )

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
        self._finish_child()

    def _write(self, frames: list[bytes]) -> None:
        data = pack_frames(frames)
        size = sum(len(f) for f in frames)
        for attempt in range(2):
            child = self._child
            stdin: IO[bytes] | None = child.stdin if child is not None else None
            try:
                if stdin is None:
                    raise BrokenPipeError("recorder has no stdin")
                stdin.write(data)
                stdin.flush()
                self.sent += len(frames)
                break
            except (BrokenPipeError, OSError, ValueError) as exc:
                if attempt == 0 and self._restart(exc):
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

    def _restart(self, reason: BaseException) -> bool:
        child = self._child
        code = child.poll() if child is not None else None
        self.problems.report("offload:restart", f"recorder process exited ({code}, {reason}); restarting it")
        if child is not None:
            if child.poll() is None:
                child.kill()
                child.wait(5)
            forget_process(child.pid)  # a recorder that died cannot mark its buffer gauges dead itself
        time.sleep(min(5.0, 0.2 * (2**self.restarts)))
        try:
            self._spawn()
        except OSError as exc:
            self.problems.report("offload:spawn", f"could not restart the recorder process: {exc}")
            return False
        self.restarts += 1
        return True

    def _finish_child(self) -> None:
        child = self._child
        if child is None:
            return
        if child.stdin is not None:
            with contextlib.suppress(OSError):
                child.stdin.close()
        try:
            child.wait(self.shutdown_grace)
        except subprocess.TimeoutExpired:
            self.problems.report("offload:grace", f"recorder did not finish within {self.shutdown_grace}s; stopping it")
            child.kill()
            child.wait(5)
        forget_process(child.pid)

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


class EventLink(Protocol):
    """Where the callback's frames go: a recorder process's pipe, or the disk spool."""

    command: list[str]
    problems: ProblemLog

    def submit(self, frame: bytes) -> bool: ...


class OffloadingSigilLogger(EventEntryPoints, CustomLogger):  # type: ignore[misc]
    """The proxy-side callback of out-of-process recording (see the module docstring).

    Whoever creates the link closes it when the process stops (the bootstrap does, after the proxy's
    own shutdown): closing drains what is queued and lets the recorder export it.
    """

    def __init__(
        self,
        *,
        link: EventLink,
        agent_name_metadata_keys: tuple[str, ...] = DEFAULT_AGENT_NAME_METADATA_KEYS,
        router: TenantRouter[Any] | None = None,
    ) -> None:
        super().__init__()
        self.link = link  # with a router (a spool per tenant): the default tenant's
        self.router = router
        # the recorder's keys (same settings): the slim event carries these metadata keys
        self.agent_name_metadata_keys = agent_name_metadata_keys
        self.problems = link.problems

    def __repr__(self) -> str:
        return f"OffloadingSigilLogger(recorder={self.link.command[-1]!r})"

    def handle_event(self, kwargs: Any, response_obj: Any, *, failed: bool) -> None:
        """Hand one LiteLLM event to the link. Never raises: LiteLLM awaits failure callbacks inline, so
        this stays cheap and safe."""
        try:
            if not isinstance(kwargs, dict) or classify_call(call_type_of(kwargs)) is None:
                return
            redacted = content_redacted(self, kwargs)
            event = slim_event(
                kwargs, response_obj, redacted=redacted, agent_name_metadata_keys=self.agent_name_metadata_keys
            )
            link = self.link if self.router is None else self.router.route(event)[1]
            link.submit(encode_frame(failed, redacted, event))
        except Exception as exc:  # noqa: BLE001 - telemetry never breaks the host
            self.problems.report(
                f"offload:{type(exc).__name__}",
                f"could not hand a LiteLLM event to the recorder ({type(exc).__name__}: {exc})",
            )


def recorder_command(factory: str) -> list[str]:
    """The command line of a recorder process whose SdkRecorder comes from ``module:function``."""
    return [sys.executable, "-m", "sigil_sdk_litellm.proxy.offload.recorder_process", "--factory", factory]
