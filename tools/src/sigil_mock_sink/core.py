"""What the HTTP and gRPC sides share: the stores, the authenticator, the faults, and how a batch is
taken in and logged. Both sides run on one asyncio loop, so nothing here needs to be thread-safe
beyond what the store already is."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from .auth import Authenticator
from .faults import Faults
from .otlp_store import TelemetryStore
from .store import Store


@dataclass
class Sink:
    store: Store
    auth: Authenticator
    faults: Faults = field(default_factory=Faults)
    log_requests: bool = False
    log: TextIO = field(default=sys.stdout, repr=False)
    # OTLP spans and metric points (otlp.py receives them)
    telemetry: TelemetryStore = field(default_factory=TelemetryStore)

    def tenant(self, headers: Mapping[str, str]) -> str:
        """The request's tenant (headers with lower-case keys), or AuthError."""
        return self.auth.tenant(headers)

    def count(self, transport: str, outcome: str) -> None:
        self.store.stats.requests[(transport, outcome)] += 1

    def take(self, transport: str, kind: str, tenant: str, messages: Any, via: str = "") -> list[str | None]:
        """Keep a batch (per-item results: None or the rejection message) and log it if asked.
        ``via`` is how it came (``store.VIA_*``), default ``transport``."""
        reject = self.faults.reject_item if self.faults.reject_fraction else None
        via = via or transport
        results = self.store.ingest(kind, tenant, messages, reject, via)
        if self.log_requests:
            rejected = [r for r in results if r is not None]
            reasons = "; ".join(sorted(set(rejected)))
            print(
                f"sigil-mock-sink: {via} {kind} tenant={tenant} accepted={len(results) - len(rejected)}"
                f" rejected={len(rejected)}" + (f" ({reasons})" if reasons else ""),
                file=self.log,
                flush=True,
            )
        return results

    def note(self, transport: str, outcome: str, detail: str) -> None:
        """Count a refused request and log it if asked (``detail`` never contains credentials)."""
        self.count(transport, outcome)
        if self.log_requests:
            print(f"sigil-mock-sink: {transport} refused {outcome}: {detail}", file=self.log, flush=True)
