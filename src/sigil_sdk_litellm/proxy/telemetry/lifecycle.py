"""Stopping this process's telemetry within one grace: the generations' flush and OpenTelemetry's together.

Kept apart from :mod:`.otlp` (which reads the settings) so that a recorder process imports it without the
settings package; :mod:`.otlp` registers the providers it builds here, one set per tenant.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

__all__ = ["Stoppable", "register", "shutdown_within"]


class Stoppable(Protocol):
    """What :func:`shutdown_within` needs of the OpenTelemetry providers (``otlp.Providers``)."""

    grace: float

    def begin_flush(self) -> None: ...

    def shutdown(self, deadline: float | None = None) -> None: ...


_registered: list[Stoppable] = []
_lock = threading.Lock()


def register(providers: Stoppable) -> None:
    """Providers this process built (one set per tenant); stopped by :func:`shutdown_within`, else at exit."""
    with _lock:
        if not _registered:
            atexit.register(_at_exit)
        _registered.append(providers)


def shutdown_within(flush_generations: Callable[[], None], grace: float | None = None) -> None:
    """Stop this process's telemetry within one grace (``SIGIL_SHUTDOWN_GRACE`` unless ``grace`` says
    less): the generations' flush (``flush_generations``) and OpenTelemetry's together, not each its own.
    OpenTelemetry's queues start exporting at once beside the generations (a Sigil outage that takes the
    whole grace costs no span); what their flush adds (a recorder process records while it drains) is
    exported in what remains of the grace. Every tenant's providers stop at once, within the same
    deadline. Without ``OTEL_*``: the generations' flush alone."""
    with _lock:
        registered = list(_registered)
    if not registered:
        flush_generations()
        return
    longest = max(providers.grace for providers in registered)
    deadline = time.monotonic() + (longest if grace is None else min(grace, longest))
    for providers in registered:
        providers.begin_flush()
    try:
        flush_generations()
    finally:
        _stop_all(registered, deadline)


def _stop_all(registered: Sequence[Stoppable], deadline: float) -> None:
    """Each set's ``shutdown(deadline)`` on its own thread, so that one unreachable receiver costs the
    others nothing and all end by ``deadline``."""
    if len(registered) == 1:
        registered[0].shutdown(deadline)
        return
    threads = [
        threading.Thread(target=providers.shutdown, args=(deadline,), name="sigil-otel-stop", daemon=True)
        for providers in registered
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


def _at_exit() -> None:
    with _lock:
        registered = list(_registered)
    if registered:  # those stopped already return at once
        _stop_all(registered, time.monotonic() + max(providers.grace for providers in registered))
