"""Where the sink keeps what it accepted: bounded memory (oldest dropped first, counted), optionally
mirrored to a SQLite file so a compose user keeps history across restarts.

Items are kept as the parsed protobuf messages; they are rendered to proto-JSON (proto field names)
only when read, and the last ``RENDER_CACHE`` renderings are kept, so ingest stays cheap, polling
stays cheap and memory stays bounded. With
a database every batch is written in one transaction, evicted items are deleted from it too, and the
newest ``max_items`` are loaded back at start.

Duplicates are detected among the stored items: an id whose generation was already evicted is
accepted again (the real server would still refuse it).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from sigil_sdk.internal.gen.sigil.v1 import generation_ingest_pb2 as pb

from . import ingest
from .faults import REJECTED_BY_FAULT

GENERATION = "generation"
WORKFLOW_STEP = "workflow_step"
KINDS = {GENERATION: pb.Generation, WORKFLOW_STEP: pb.WorkflowStep}
_NORMALIZE = {GENERATION: ingest.normalize_generation, WORKFLOW_STEP: ingest.normalize_workflow_step}
_DUPLICATE = {GENERATION: ingest.ERR_DUPLICATE, WORKFLOW_STEP: ingest.ERR_STEP_DUPLICATE}
RENDER_CACHE = 2_000
# How an item reached the sink: the HTTP path is the same for both schemas; gRPC names its service.
VIA_HTTP = "http"
VIA_GRPC_SIGIL = "grpc sigil.v1"
VIA_GRPC_AGENTO11Y = "grpc agento11y.v1"


@dataclass
class Stored:
    """One accepted item: its tenant, when it arrived (epoch seconds) and the normalised message."""

    kind: str
    tenant: str
    received_at: float
    message: Any  # pb.Generation or pb.WorkflowStep
    via: str = ""  # how it came: "http", "grpc sigil.v1" or "grpc agento11y.v1" (see VIAS)
    cached_json: bytes | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        """Proto-JSON with proto field names, plus ``_tenant``, ``_received_at`` and ``_via``."""
        data: dict[str, Any] = json_format.MessageToDict(self.message, preserving_proto_field_name=True)
        data["_tenant"] = self.tenant
        data["_received_at"] = self.received_at
        data["_via"] = self.via
        return data

    def json_bytes(self) -> bytes:
        """:meth:`to_json` serialised (cached while the store keeps it among the recently rendered)."""
        if self.cached_json is not None:
            return self.cached_json
        return json.dumps(self.to_json(), separators=(",", ":")).encode()

    def summary(self) -> dict[str, Any]:
        """The few fields the page's list shows (cheap: no proto-JSON rendering)."""
        g = self.message
        return {
            "id": g.id,
            "_tenant": self.tenant,
            "_received_at": self.received_at,
            "_via": self.via,
            "started_at": g.started_at.ToJsonString() if g.HasField("started_at") else "",
            "agent_name": g.agent_name,
            "model": {"provider": g.model.provider, "name": g.model.name},
            "mode": pb.GenerationMode.Name(g.mode) if g.mode in ingest.VALID_MODES else str(g.mode),
            "usage": {"input_tokens": g.usage.input_tokens, "output_tokens": g.usage.output_tokens},
            "conversation_id": g.conversation_id,
            "call_error": g.call_error,
        }


@dataclass
class Stats:
    """Monotonic counters (they survive ``clear()``, not a restart)."""

    received: Counter[str] = field(default_factory=Counter)  # kind
    accepted: Counter[str] = field(default_factory=Counter)  # kind
    rejected: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, reason)
    evicted: Counter[str] = field(default_factory=Counter)  # kind
    requests: Counter[tuple[str, str]] = field(default_factory=Counter)  # (transport, outcome)


class Store:
    """Accepted items per kind, oldest first, at most ``max_items`` of each kind."""

    def __init__(self, max_items: int = 10_000, db_path: str | None = None) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.max_items = max_items
        self.stats = Stats()
        self._lock = threading.Lock()
        self._items: dict[str, OrderedDict[tuple[str, str], Stored]] = {kind: OrderedDict() for kind in KINDS}
        self._new_id = {GENERATION: ingest.id_counter("gen"), WORKFLOW_STEP: ingest.id_counter("step")}
        self._rendered: deque[Stored] = deque()
        self._db: sqlite3.Connection | None = None
        if db_path:
            self._open_db(db_path)

    # -- ingest ----------------------------------------------------------------------------------

    def ingest(
        self,
        kind: str,
        tenant: str,
        messages: Iterable[Any],
        reject: Callable[[], bool] | None = None,
        via: str = "",
    ) -> list[str | None]:
        """Normalise and keep a batch; one result per item: None (accepted) or the rejection message.
        ``reject`` is asked once per otherwise acceptable item (fault injection)."""
        results: list[str | None] = []
        added: list[Stored] = []
        evicted: list[tuple[str, str]] = []
        normalize, new_id, items = _NORMALIZE[kind], self._new_id[kind], self._items[kind]
        now = time.time()
        with self._lock:
            for message in messages:
                self.stats.received[kind] += 1
                error = normalize(message, new_id)
                key = (tenant, message.id)
                if error is None and key in items:
                    error = _DUPLICATE[kind]
                if error is None and reject is not None and reject():
                    error = REJECTED_BY_FAULT
                results.append(error)
                if error is not None:
                    self.stats.rejected[(kind, error)] += 1
                    continue
                stored = Stored(kind, tenant, now, message, via)
                items[key] = stored
                added.append(stored)
                self.stats.accepted[kind] += 1
                while len(items) > self.max_items:
                    evicted.append(items.popitem(last=False)[0])
                    self.stats.evicted[kind] += 1
            if self._db is not None and (added or evicted):
                self._write(kind, added, evicted)
        return results

    def add_generation(self, tenant: str, generation: pb.Generation, *, reject: bool = False) -> str | None:
        """One generation; its rejection message or None."""
        return self.ingest(GENERATION, tenant, [generation], (lambda: True) if reject else None)[0]

    def add_workflow_step(self, tenant: str, step: pb.WorkflowStep, *, reject: bool = False) -> str | None:
        """One workflow step; its rejection message or None."""
        return self.ingest(WORKFLOW_STEP, tenant, [step], (lambda: True) if reject else None)[0]

    # -- read-back --------------------------------------------------------------------------------

    def query(
        self,
        kind: str = GENERATION,
        *,
        tenant: str = "",
        conversation_id: str = "",
        agent_name: str = "",
        model: str = "",
        limit: int = 0,
    ) -> list[Stored]:
        """Newest first; empty filters match everything; ``model`` matches the model name; ``limit``
        0 means all."""
        with self._lock:
            values = list(self._items[kind].values())
        out: list[Stored] = []
        for stored in reversed(values):
            message = stored.message
            if tenant and stored.tenant != tenant:
                continue
            if conversation_id and message.conversation_id != conversation_id:
                continue
            if agent_name and getattr(message, "agent_name", "") != agent_name:
                continue
            if model and (kind != GENERATION or message.model.name != model):
                continue
            out.append(stored)
            if limit and len(out) >= limit:
                break
        return out

    def rendered(self, stored: Stored) -> bytes:
        """``stored.json_bytes()``, cached for the ``RENDER_CACHE`` most recently rendered items."""
        if stored.cached_json is None:
            stored.cached_json = stored.json_bytes()
            self._rendered.append(stored)
            if len(self._rendered) > RENDER_CACHE:
                self._rendered.popleft().cached_json = None
        return stored.cached_json

    def get(self, item_id: str, kind: str = GENERATION, tenant: str = "") -> Stored | None:
        """The item with this id (of this tenant, if given; else the newest of any tenant)."""
        with self._lock:
            items = self._items[kind]
            if tenant:
                return items.get((tenant, item_id))
            for (_, stored_id), stored in reversed(items.items()):
                if stored_id == item_id:
                    return stored
        return None

    def conversations(self, tenant: str = "") -> list[dict[str, Any]]:
        """Conversations with generation counts, agents, models, tokens and errors; latest first."""
        summary: dict[tuple[str, str], dict[str, Any]] = {}
        latest: dict[tuple[str, str], int] = {}  # position of each conversation's newest generation
        for position, stored in enumerate(reversed(self.query(tenant=tenant))):
            g = stored.message
            if not g.conversation_id:
                continue
            entry = summary.setdefault(
                (stored.tenant, g.conversation_id),
                {
                    "conversation_id": g.conversation_id,
                    "tenant": stored.tenant,
                    "generation_count": 0,
                    "error_count": 0,
                    "agents": [],
                    "models": [],
                    "input_tokens": 0,
                    "output_tokens": 0,
                    "first_received_at": stored.received_at,
                    "last_received_at": stored.received_at,
                },
            )
            entry["generation_count"] += 1
            entry["error_count"] += bool(g.call_error)
            entry["input_tokens"] += g.usage.input_tokens
            entry["output_tokens"] += g.usage.output_tokens
            if g.agent_name and g.agent_name not in entry["agents"]:
                entry["agents"].append(g.agent_name)
            if g.model.name and g.model.name not in entry["models"]:
                entry["models"].append(g.model.name)
            entry["last_received_at"] = stored.received_at
            latest[(stored.tenant, g.conversation_id)] = position
        return [summary[key] for key in sorted(summary, key=latest.__getitem__, reverse=True)]

    def count(self, kind: str = GENERATION) -> int:
        with self._lock:
            return len(self._items[kind])

    def clear(self) -> None:
        """Forget every stored item (generations and workflow steps); counters stay."""
        with self._lock:
            for items in self._items.values():
                items.clear()
            for stored in self._rendered:
                stored.cached_json = None
            self._rendered.clear()
            if self._db is not None:
                self._db.execute("DELETE FROM sink_items")
                self._db.commit()

    # -- persistence -------------------------------------------------------------------------------

    def _open_db(self, db_path: str) -> None:
        Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(db_path, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS sink_items (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
            " tenant TEXT NOT NULL, id TEXT NOT NULL, received_at REAL NOT NULL, body BLOB NOT NULL,"
            " via TEXT NOT NULL DEFAULT '', UNIQUE (kind, tenant, id))"
        )
        columns = {row[1] for row in db.execute("PRAGMA table_info(sink_items)")}
        if "via" not in columns:  # a database written before the column existed
            db.execute("ALTER TABLE sink_items ADD COLUMN via TEXT NOT NULL DEFAULT ''")
        db.commit()
        for kind, message_class in KINDS.items():
            rows = db.execute(
                "SELECT tenant, id, received_at, body, via FROM sink_items WHERE kind = ? ORDER BY seq DESC LIMIT ?",
                (kind, self.max_items),
            ).fetchall()
            for tenant, item_id, received_at, body, via in reversed(rows):
                message = message_class.FromString(body)
                self._items[kind][(tenant, item_id)] = Stored(kind, tenant, received_at, message, via)
        self._db = db

    def _write(self, kind: str, added: list[Stored], evicted: list[tuple[str, str]]) -> None:
        assert self._db is not None
        self._db.executemany(
            "INSERT OR REPLACE INTO sink_items (kind, tenant, id, received_at, body, via) VALUES (?, ?, ?, ?, ?, ?)",
            [(kind, s.tenant, s.message.id, s.received_at, s.message.SerializeToString(), s.via) for s in added],
        )
        self._db.executemany(
            "DELETE FROM sink_items WHERE kind = ? AND tenant = ? AND id = ?",
            [(kind, tenant, item_id) for tenant, item_id in evicted],
        )
        self._db.commit()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
