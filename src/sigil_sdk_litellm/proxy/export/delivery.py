"""Durable delivery: a bounded buffer between the SDK client and Sigil that outlasts outages.

:class:`DeliveryExporter` is what the ``sigil_sdk.Client`` exports to (``ClientConfig(
generation_exporter=...)``). It encodes each generation once, keeps it in a buffer bounded by items
and bytes, and answers the SDK at once; a sender thread delivers the buffer in batches (bounded by
items and bytes) in order:

- a transient failure (endpoint down, 5xx, 429, timeout) is retried with jittered exponential
  backoff, for as long as it takes — the buffer keeps filling meanwhile, so an outage costs a delay, not data;
- a permanent rejection (401, 403, 400, 404 …) is logged once per cause and interval, naming the
  cause; those generations are dropped and counted (retrying cannot help, and must not storm);
- a full buffer drops the *new* generation, counted and logged at most once per interval.

``shutdown()`` (the SDK client's, at exit) keeps delivering for at most ``drain_timeout`` seconds,
then drops what is left, counted and logged. Every drop is counted in ``stats()``.

The SDK's own retry loop never runs: ``export_generations`` does not fail.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable

from sigil_sdk.models import (
    ExportGenerationResult,
    ExportGenerationsRequest,
    ExportGenerationsResponse,
    ExportWorkflowStepsRequest,
    ExportWorkflowStepsResponse,
)

from sigil_sdk_litellm.problem_log import ProblemLog
from sigil_sdk_litellm.proxy.export.transport import PermanentRejection, TransientFailure, Transport
from sigil_sdk_litellm.proxy.metrics import DeliveryMetrics

logger = logging.getLogger("sigil_sdk_litellm")

# gRPC servers accept 4 MiB messages by default: a batch stays well below.
DEFAULT_BATCH_BYTES = 3 << 20


class DeliveryExporter:
    """A ``sigil_sdk`` generation exporter with a bounded, retrying delivery buffer (see module doc)."""

    def __init__(
        self,
        transport: Transport,
        *,
        max_items: int,
        max_bytes: int,
        batch_items: int = 100,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
        initial_backoff: float = 0.1,
        max_backoff: float = 5.0,
        drain_timeout: float = 20.0,
        problems: ProblemLog | None = None,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        spooled: bool = False,
        tenant: str = "default",
        metrics: DeliveryMetrics | None = None,
    ) -> None:
        self.transport = transport
        self.tenant = tenant  # the Sigil tenant this buffer delivers to ("default" unless SIGIL_TENANT_MAP)
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.batch_items = max(1, batch_items)
        self.batch_bytes = max(1, batch_bytes)
        self.initial_backoff = initial_backoff
        self.max_backoff = max(max_backoff, initial_backoff)
        self.drain_timeout = drain_timeout
        self.problems = problems or ProblemLog()
        self._clock = clock
        self._jitter = jitter  # a number in [0, 1) per retry; tests pass their own
        self.spooled = spooled  # a copy of everything buffered is on disk (SIGIL_SPOOL_DIR)
        self.metrics = metrics
        self._buffer: deque[tuple[str, bytes]] = deque()
        self._bytes = 0
        self._in_flight = 0
        self._cond = threading.Condition()
        self._closing = False
        self._abandoned = False
        self._deadline = float("inf")
        self._linger_until: float | None = None  # when single generations stop waiting for a batch
        self._hurry = 0  # flush() callers waiting: no lingering
        self._stats = {"buffered": 0, "delivered": 0, "rejected": 0, "dropped_full": 0, "dropped_shutdown": 0}
        self._retries = 0
        self._failing_since: float | None = None
        self._thread = threading.Thread(target=self._run, name="sigil-delivery", daemon=True)
        self._thread.start()

    # ----------------------------------------------------------------------------------------
    # The SDK side

    def export_generations(self, request: ExportGenerationsRequest) -> ExportGenerationsResponse:
        if self.metrics is not None:
            self.metrics.recorded.inc(len(request.generations))
        encoded: list[tuple[str, bytes]] = []
        for generation in request.generations:
            try:
                encoded.append((generation.id, self.transport.encode(generation)))
            except Exception as exc:  # noqa: BLE001 - one bad generation must not lose the batch
                if self.metrics is not None:
                    self.metrics.dropped["encode_error"].inc()
                self.problems.report(
                    f"encode:{type(exc).__name__}", f"could not encode a generation ({type(exc).__name__}: {exc})"
                )
        accepted = self._offer(encoded)
        return ExportGenerationsResponse(
            results=[ExportGenerationResult(generation_id=ident, accepted=True) for ident in accepted]
        )

    def export_encoded(self, ident: str, piece: bytes, linger: float = 0.0) -> bool:
        """One generation already encoded by this buffer's transport (the in-process direct writer,
        :mod:`.direct`): buffered as ``export_generations`` would; False when it was dropped.

        One at a time, each would otherwise be sent alone: the sender waits up to ``linger`` seconds
        from the first of them (the SDK's flush interval, what its queue waited) for a full batch."""
        if self.metrics is not None:
            self.metrics.recorded.inc()
        if linger > 0:
            with self._cond:
                if self._linger_until is None and not self._buffer:
                    self._linger_until = self._clock() + linger
        return bool(self._offer([(ident, piece)]))

    def export_workflow_steps(self, request: ExportWorkflowStepsRequest) -> ExportWorkflowStepsResponse:
        """Workflow steps are not produced by this package."""
        return ExportWorkflowStepsResponse(results=[])

    def _offer(self, encoded: list[tuple[str, bytes]]) -> list[str]:
        """Buffer what fits (all at once, so a batch is not split by the sender); the ids buffered."""
        accepted: list[str] = []
        with self._cond:
            if self._closing and self._clock() >= self._deadline:
                self._stats["dropped_shutdown"] += len(encoded)
                if self.metrics is not None:
                    self.metrics.dropped["shutdown_deadline"].inc(len(encoded))
                return accepted
            was_empty = not self._buffer
            for ident, piece in encoded:
                # the bounds count what is being sent too: it is held until it is delivered
                if len(self._buffer) + self._in_flight >= self.max_items or self._bytes + len(piece) > self.max_bytes:
                    self._stats["dropped_full"] += 1
                    continue
                self._buffer.append((ident, piece))
                self._bytes += len(piece)
                accepted.append(ident)
            self._stats["buffered"] += len(accepted)
            dropped = self._stats["dropped_full"]
            if self.metrics is not None:
                self.metrics.dropped["buffer_full"].inc(len(encoded) - len(accepted))
                self._measure_buffer()
            # a lingering sender is woken only to start its wait, or when its batch is full: not per event
            if self._linger_until is None or was_empty or self._linger_left() <= 0:
                self._cond.notify()
        if len(accepted) < len(encoded):
            self.problems.report(
                "delivery:full",
                f"export buffer full ({self.max_items} generations or {self.max_bytes} bytes, see "
                "SIGIL_BUFFER_MAX_ITEMS / SIGIL_BUFFER_MAX_BYTES) while Sigil is unreachable or slow; "
                f"new generations are dropped ({dropped} so far)",
            )
        return accepted

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything buffered so far was delivered or given up; False on timeout."""
        end = None if timeout is None else self._clock() + timeout
        with self._cond:
            self._hurry += 1
            self._cond.notify_all()
            try:
                while self._buffer or self._in_flight:
                    left = None if end is None else end - self._clock()
                    if left is not None and left <= 0:
                        return False
                    self._cond.wait(0.05 if left is None else min(left, 0.05))
            finally:
                self._hurry -= 1
        return True

    def shutdown(self) -> None:
        """Deliver what is buffered for at most ``drain_timeout`` seconds, drop the rest, close."""
        with self._cond:
            if not self._closing:
                self._closing = True
                self._deadline = self._clock() + self.drain_timeout
            self._cond.notify_all()
        self._thread.join(self.drain_timeout + TRANSPORT_GRACE)
        with self._cond:
            dropped_before = self._stats["dropped_shutdown"]
            self._stats["dropped_shutdown"] += len(self._buffer)
            if self._thread.is_alive():  # a send still hangs: its batch counts as not delivered
                self._stats["dropped_shutdown"] += self._in_flight
                self._in_flight = 0
                self._abandoned = True
            if self.metrics is not None:
                self.metrics.dropped["shutdown_deadline"].inc(self._stats["dropped_shutdown"] - dropped_before)
            self._buffer.clear()
            self._bytes = 0
            self._measure_buffer()
            dropped = self._stats["dropped_shutdown"]
        if dropped:
            logger.warning(
                "sigil: %d generations not delivered to %s within SIGIL_SHUTDOWN_GRACE (%g s); %s",
                dropped,
                self.transport.endpoint,
                self.drain_timeout,
                "they stay in SIGIL_SPOOL_DIR for the next start" if self.spooled else "dropped",
            )
        with contextlib.suppress(Exception):  # closing is best effort
            self.transport.close()

    def stats(self) -> dict[str, int]:
        with self._cond:
            out = dict(self._stats)
            out["pending"] = len(self._buffer) + self._in_flight
            out["pending_bytes"] = self._bytes
            out["retries"] = self._retries
            return out

    # ----------------------------------------------------------------------------------------
    # The sender thread

    def _take_batch(self) -> list[tuple[str, bytes]] | None:
        with self._cond:
            while True:
                while not self._buffer:
                    if self._closing:
                        return None
                    self._cond.wait()
                # single generations (export_encoded) wait for a batch, until their linger ends
                left = self._linger_left()
                if left <= 0:
                    break
                self._cond.wait(left)
            self._linger_until = None
            batch: list[tuple[str, bytes]] = []
            size = 0
            while self._buffer and len(batch) < self.batch_items:
                ident, piece = self._buffer[0]
                if batch and size + len(piece) > self.batch_bytes:
                    break
                self._buffer.popleft()
                batch.append((ident, piece))
                size += len(piece)
            self._in_flight = len(batch)
            return batch

    def _linger_left(self) -> float:
        if self._linger_until is None or self._closing or self._hurry:
            return 0.0
        if len(self._buffer) >= self.batch_items or self._bytes >= self.batch_bytes:
            return 0.0
        return self._linger_until - self._clock()

    def _done(self, batch: list[tuple[str, bytes]], outcome: str, rejected: int = 0) -> None:
        """``batch`` has left the buffer: counted as ``outcome`` (but ``rejected`` of them as rejected)."""
        with self._cond:
            if self._abandoned:
                return
            self._stats[outcome] += len(batch) - rejected
            self._stats["rejected"] += rejected
            self._in_flight = max(0, self._in_flight - len(batch))
            self._bytes -= sum(len(piece) for _, piece in batch)
            if self.metrics is not None:
                kept = len(batch) - rejected
                if outcome == "delivered":
                    self.metrics.exported.inc(kept)
                elif outcome == "rejected":
                    self.metrics.rejected.inc(kept)
                else:
                    self.metrics.dropped["shutdown_deadline"].inc(kept)
                self.metrics.rejected.inc(rejected)
                self._measure_buffer()
            self._cond.notify_all()

    def _measure_buffer(self) -> None:
        """Update the buffer gauges (with ``_cond`` held, so they agree with the counters)."""
        if self.metrics is not None:
            self.metrics.buffer_items.set(len(self._buffer) + self._in_flight)
            self.metrics.buffer_bytes.set(self._bytes)

    def _run(self) -> None:
        while True:
            batch = self._take_batch()
            if batch is None:
                return
            try:
                self._deliver(batch)
            except Exception as exc:  # noqa: BLE001 - the sender must survive anything
                self.problems.report(f"delivery:{type(exc).__name__}", f"export failed unexpectedly ({exc}); dropped")
                self._done(batch, "rejected")

    def _deliver(self, batch: list[tuple[str, bytes]]) -> None:
        backoff = self.initial_backoff
        pieces = [piece for _, piece in batch]
        while True:
            started = time.monotonic()
            try:
                result = self.transport.send(pieces)
            except PermanentRejection as rejection:
                self._measure_attempt("rejected", started)
                if rejection.status == 413 and len(batch) > 1:
                    half = len(batch) // 2
                    self._deliver(batch[:half])
                    self._deliver(batch[half:])
                    return
                self.problems.report(f"rejected:{rejection.kind}", f"{rejection}; {len(batch)} generations dropped")
                self._recovered()
                self._done(batch, "rejected")
                return
            except TransientFailure as failure:
                self._measure_attempt("transient_failure", started)
                if self._failing_since is None:
                    self._failing_since = self._clock()
                self.problems.report(
                    f"transient:{failure.kind}",
                    f"{failure}; retrying, {self.stats()['pending']} generations buffered",
                )
                if not self._wait(self._retry_delay(backoff)):
                    self._done(batch, "dropped_shutdown")
                    return
                with self._cond:
                    self._retries += 1
                if self.metrics is not None:
                    self.metrics.retries.inc()
                backoff = min(backoff * 2, self.max_backoff)
                continue
            self._measure_attempt("success", started)
            self._recovered()
            if result.rejected:
                ident, reason = result.rejected[0]
                self.problems.report(
                    "rejected:items",
                    f"Sigil rejected {len(result.rejected)} of {len(batch)} generations (first: {ident}: {reason})",
                )
            self._done(batch, "delivered", rejected=len(result.rejected))
            return

    def _retry_delay(self, backoff: float) -> float:
        """Equal jitter: half of ``backoff`` fixed, half random. Buffers that failed together (workers,
        tenants) spread their retries, yet none retries sooner than half the backoff; never over the max."""
        return backoff / 2 + self._jitter() * backoff / 2

    def _measure_attempt(self, outcome: str, started: float) -> None:
        if self.metrics is not None:
            self.metrics.attempts[outcome].inc()
            self.metrics.duration.observe(time.monotonic() - started)
            if outcome == "success":
                self.metrics.last_success.set(time.time())

    def _recovered(self) -> None:
        if self._failing_since is not None:
            outage = self._clock() - self._failing_since
            self._failing_since = None
            logger.warning(
                "sigil: export to %s works again after %.1f s; %d generations buffered meanwhile are being delivered",
                self.transport.endpoint,
                outage,
                self.stats()["pending"],
            )

    def _wait(self, seconds: float) -> bool:
        """Sleep before a retry; False when the shutdown deadline passes first."""
        start = self._clock()
        with self._cond:
            while True:
                now = self._clock()
                if self._closing and now >= self._deadline:
                    return False
                end = min(start + seconds, self._deadline)
                if now >= end:
                    return True
                self._cond.wait(end - now)


# After the drain deadline, how long shutdown waits for a send in progress (a hung one is abandoned).
TRANSPORT_GRACE = 1.0
