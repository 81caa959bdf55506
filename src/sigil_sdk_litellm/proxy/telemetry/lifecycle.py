"""Stopping this process's telemetry within one grace: the generations' flush and OpenTelemetry's together.

Kept apart from :mod:`.otlp` (which reads the settings) so that a recorder process imports it without the
settings package; :mod:`.otlp` registers the providers it builds here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Stoppable", "register", "shutdown_within"]


class Stoppable(Protocol):
    """What :func:`shutdown_within` needs of the OpenTelemetry providers (``otlp.Providers``)."""

    grace: float

    def begin_flush(self) -> None: ...

    def shutdown(self, deadline: float | None = None) -> None: ...


_registered: Stoppable | None = None


def register(providers: Stoppable) -> None:
    """The providers this process built (one set per process)."""
    global _registered
    _registered = providers


def shutdown_within(flush_generations: Callable[[], None], grace: float | None = None) -> None:
    """Stop this process's telemetry within one grace (``SIGIL_SHUTDOWN_GRACE`` unless ``grace`` says
    less): the generations' flush (``flush_generations``) and OpenTelemetry's together, not each its own.
    OpenTelemetry's queue starts exporting at once beside the generations (a Sigil outage that takes the
    whole grace costs no span); what their flush adds (a recorder process records while it drains) is
    exported in what remains of the grace. Without ``OTEL_*``: the generations' flush alone."""
    providers = _registered
    if providers is None:
        flush_generations()
        return
    deadline = time.monotonic() + (providers.grace if grace is None else min(grace, providers.grace))
    providers.begin_flush()
    try:
        flush_generations()
    finally:
        providers.shutdown(deadline)
