"""The disk spool's consumer: spooled events → SdkRecorder → Sigil, deleted once Sigil acknowledged them.

It runs where the recording happens: a thread of the proxy worker (``SIGIL_RECORDER=inprocess``) or
the recorder process's main loop. Each round takes the first frames of a spool (one export batch),
records them through the SDK client, flushes the client into the delivery buffer and waits until
the buffer has delivered them (retrying through an outage for as long as it lasts); only then are
the frames deleted. Spools left by dead processes are adopted and delivered first, at start and
then every ``adopt_interval`` seconds.

Frames still undelivered when the process stops stay on disk for the next start; a frame whose
delivery succeeded but whose deletion a crash prevented is delivered again (at least once: the
window is the few milliseconds between Sigil's answer and the commit of the delete).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from pathlib import Path

from sigil_sdk_litellm.problem_log import ProblemLog
from sigil_sdk_litellm.proxy.handoff.frames import decode_frame
from sigil_sdk_litellm.proxy.metrics import SpoolMetrics
from sigil_sdk_litellm.proxy.spool.store import SpoolDirectory, SpoolFile, SpoolReader
from sigil_sdk_litellm.recording import ExportBuffer, SdkRecorder


class SpoolSender:
    def __init__(
        self,
        own: Path,
        recorder: SdkRecorder,
        delivery: ExportBuffer | None,
        *,
        batch_items: int = 100,
        poll_interval: float = 0.05,
        adopt_interval: float = 10.0,
        problems: ProblemLog | None = None,
        metrics: SpoolMetrics | None = None,
    ) -> None:
        self.own = own
        self.metrics = metrics
        self.recorder = recorder
        self.delivery = delivery
        self.batch_items = max(1, batch_items)
        self.poll_interval = poll_interval
        self.adopt_interval = adopt_interval
        self.problems = problems or recorder.problems
        self.directory = SpoolDirectory(own.parent, self.problems)
        self.stop = threading.Event()
        self._handoff = threading.Lock()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._undeleted: dict[Path, tuple[int, int]] = {}
        self.delivered_frames = 0
        self.adopted = 0

    def run(self) -> None:
        """Deliver until :attr:`stop` is set and the own spool is empty (or delivery gave up)."""
        reader = SpoolReader(self.own)
        try:
            next_adoption = 0.0
            while True:
                if time.monotonic() >= next_adoption:
                    self._adopt_orphans()
                    next_adoption = time.monotonic() + self.adopt_interval
                outcome = self._round(reader)
                if self.metrics is not None:
                    self._measure(reader)
                if outcome == "kept":
                    return
                if outcome == "stalled":
                    self.stop.wait(STALL_SECONDS)
                elif outcome == "empty":
                    if self.stop.is_set():
                        return
                    self.stop.wait(self.poll_interval)
        finally:
            reader.close()

    def _measure(self, reader: SpoolReader) -> None:
        """The own spool's fill, as this process's share of the pod's spool gauges."""
        assert self.metrics is not None
        try:
            items, size = reader.size()
        except sqlite3.Error:
            return
        self.metrics.items.set(items)
        self.metrics.bytes.set(size)

    def _adopt_orphans(self) -> None:
        for orphan in self.directory.orphans(self.own):
            self.adopted += 1
            finished = False
            try:
                finished = self._drain(orphan)
            finally:
                if finished:
                    orphan.remove()
                else:
                    orphan.release()
            if not finished:
                return

    def _drain(self, orphan: SpoolFile) -> bool:
        """Deliver all of ``orphan``; False when given up at shutdown (or unreadable) before the end."""
        try:
            reader = SpoolReader(orphan.path)
        except sqlite3.Error as exc:
            self.problems.report("spool:adopt", f"cannot open spool {orphan.path.name}: {exc}; left in place")
            return False
        try:
            while True:
                outcome = self._round(reader)
                if outcome == "empty":
                    return True
                if outcome in ("kept", "stalled"):
                    return False
        finally:
            reader.close()

    def _round(self, reader: SpoolReader) -> str:
        """One batch: "empty" (nothing spooled), "sent" (delivered or given up, deleted), "kept"
        (not delivered before the shutdown deadline: left in the spool), "stalled" (delivered, but
        the delete failed: retried before anything else is read, so nothing is sent twice)."""
        undeleted = self._undeleted.pop(reader.path, None)
        if undeleted is not None and not self._delete(reader, *undeleted):
            return "stalled"
        try:
            rows = reader.first(self.batch_items)
        except sqlite3.Error as exc:
            self.problems.report("spool:read", f"cannot read spool {reader.path.name}: {exc}")
            return "empty"
        if not rows:
            return "empty"
        with self._handoff:
            if self._closing:
                return "kept"
            handed = self._record(rows)
        if not handed or not self._delivered():
            return "kept"
        if not self._delete(reader, rows[-1][0], sum(len(body) for _, body in rows)):
            return "stalled"
        self.delivered_frames += len(rows)
        return "sent"

    def _delete(self, reader: SpoolReader, last_id: int, size: int) -> bool:
        try:
            reader.delete_through(last_id, size)
        except sqlite3.Error as exc:
            self._undeleted[reader.path] = (last_id, size)
            self.problems.report(
                "spool:delete", f"cannot delete delivered events from {reader.path.name} ({exc}); retrying"
            )
            return False
        return True

    def _record(self, rows: list[tuple[int, bytes]]) -> bool:
        """Record the frames and hand them to the delivery buffer; False if the client refused."""
        for _, body in rows:
            try:
                failed, redacted, event = decode_frame(body)
            except Exception as exc:  # noqa: BLE001 - a damaged frame is skipped, not fatal
                self.problems.report("spool:frame", f"skipped an unreadable spooled event ({type(exc).__name__})")
                continue
            self.recorder.record(event, None, failed=failed, redacted=redacted)
        try:
            self.recorder.client.flush()
        except Exception as exc:  # noqa: BLE001 - the client is stopping: the frames stay spooled
            self.problems.report("spool:flush", f"could not hand spooled events to the client ({exc}); kept")
            return False
        return True

    def _delivered(self) -> bool:
        """Wait until the delivery buffer is empty; False if it gave up at shutdown (frames stay spooled)."""
        delivery = self.delivery
        if delivery is None:
            return True
        before = delivery.stats()["dropped_shutdown"]
        delivery.flush()
        return delivery.stats()["dropped_shutdown"] == before

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run_logged, name="sigil-spool-sender", daemon=True)
        self._thread.start()

    def _run_logged(self) -> None:
        try:
            self.run()
        except Exception as exc:  # noqa: BLE001 - what is spooled stays for the next start
            self.problems.report("spool:sender", f"spool sender stopped ({type(exc).__name__}: {exc})")

    def close(self, grace: float) -> None:
        """Deliver what is spooled for most of ``grace`` seconds, then give up the batch in flight
        (it stays spooled) and shut the client down."""
        self.stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(max(0.0, grace - GIVE_UP_SECONDS - 1.0))
        with self._handoff:
            self._closing = True
        if self.delivery is not None:
            self.delivery.drain_timeout = min(self.delivery.drain_timeout, GIVE_UP_SECONDS)
        with contextlib.suppress(Exception):
            self.recorder.client.shutdown()
        if thread is not None:
            thread.join(GIVE_UP_SECONDS + 2.0)


# How long a sender waits before retrying a delete that failed (a full disk, a locked database).
STALL_SECONDS = 1.0

# At the end of the grace time, how long a batch in flight still gets before it is left in the spool.
GIVE_UP_SECONDS = 1.0
