"""Where the sink keeps what it accepted: bounded memory (oldest dropped, counted), optionally SQLite.

Items are the parsed protobuf messages; they are rendered to proto-JSON only when read, so ingest
stays cheap. With a database file every accepted item is also written there and the newest
``max_items`` are loaded back at start, so a compose user keeps history across restarts.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from sigil_sdk.internal.gen.sigil.v1 import generation_ingest_pb2 as pb

from . import ingest


@dataclass
class Stored:
    tenant: str
    received_at: float
    message: Any  # pb.Generation or pb.WorkflowStep

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = json_format.MessageToDict(self.message, preserving_proto_field_name=True)
        data["_tenant"] = self.tenant
        data["_received_at"] = self.received_at
        return data


@dataclass
class Stats:
    received: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)
    rejected: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, reason)
    evicted: Counter[str] = field(default_factory=Counter)
    requests: Counter[tuple[str, str]] = field(default_factory=Counter)  # (transport, status)


class Store:
    def __init__(self, max_items: int = 10_000, db_path: str | None = None) -> None:
        self.max_items = max_items
        self.stats = Stats()
        self._lock = threading.Lock()
        self._items: dict[str, OrderedDict[tuple[str, str], Stored]] = {
            "generation": OrderedDict(),
            "workflow_step": OrderedDict(),
        }
        self._new_id = {"generation": ingest.id_counter("gen"), "workflow_step": ingest.id_counter("step")}
        self._db: sqlite3.Connection | None = None
        if db_path:
            self._open_db(db_path)

    # -- ingest ----------------------------------------------------------------------------------

    def add_generation(self, tenant: str, generation: pb.Generation, *, reject: bool = False) -> str | None:
        """Normalise and keep one generation; returns its rejection message or None."""
        return self._add("generation", tenant, generation, ingest.normalize_generation, reject)

    def add_workflow_step(self, tenant: str, step: pb.WorkflowStep, *, reject: bool = False) -> str | None:
        return self._add("workflow_step", tenant, step, ingest.normalize_workflow_step, reject)

    def _add(self, kind: str, tenant: str, message: Any, normalize: Any, reject: bool) -> str | None:
        with self._lock:
            self.stats.received[kind] += 1
            error = normalize(message, self._new_id[kind])
            items = self._items[kind]
            key = (tenant, message.id)
            if error is None and reject:
                error = "fault injected: item rejected"
            if error is None and key in items:
                error = ingest.ERR_DUPLICATE if kind == "generation" else ingest.ERR_STEP_DUPLICATE
            if error is not None:
                self.stats.rejected[(kind, error)] += 1
                return error
            stored = Stored(tenant, time.time(), message)
            items[key] = stored
            self.stats.accepted[kind] += 1
            while len(items) > self.max_items:
                items.popitem(last=False)
                self.stats.evicted[kind] += 1
            if self._db is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?)",
                    (kind, tenant, message.id, stored.received_at, message.SerializeToString()),
                )
                self._db.commit()
            return None

    # -- read-back --------------------------------------------------------------------------------

    def query(
        self,
        kind: str = "generation",
        *,
        tenant: str = "",
        conversation_id: str = "",
        agent_name: str = "",
        limit: int = 0,
    ) -> list[Stored]:
        """Newest first."""
        with self._lock:
            values = list(self._items[kind].values())
        out: list[Stored] = []
        for stored in reversed(values):
            message = stored.message
            if tenant and stored.tenant != tenant:
                continue
            if conversation_id and message.conversation_id != conversation_id:
                continue
            if agent_name and message.agent_name != agent_name:
                continue
            out.append(stored)
            if limit and len(out) >= limit:
                break
        return out

    def get(self, item_id: str, kind: str = "generation", tenant: str = "") -> Stored | None:
        with self._lock:
            for (item_tenant, stored_id), stored in reversed(self._items[kind].items()):
                if stored_id == item_id and (not tenant or tenant == item_tenant):
                    return stored
        return None

    def conversations(self, tenant: str = "") -> list[dict[str, Any]]:
        summary: dict[tuple[str, str], dict[str, Any]] = {}
        for stored in reversed(self.query(tenant=tenant)):
            message = stored.message
            if not message.conversation_id:
                continue
            entry = summary.setdefault(
                (stored.tenant, message.conversation_id),
                {
                    "conversation_id": message.conversation_id,
                    "tenant": stored.tenant,
                    "generation_count": 0,
                    "agents": [],
                    "last_received_at": 0.0,
                },
            )
            entry["generation_count"] += 1
            if message.agent_name and message.agent_name not in entry["agents"]:
                entry["agents"].append(message.agent_name)
            entry["last_received_at"] = max(entry["last_received_at"], stored.received_at)
        return sorted(summary.values(), key=lambda e: e["last_received_at"], reverse=True)

    def clear(self) -> None:
        with self._lock:
            for items in self._items.values():
                items.clear()
            if self._db is not None:
                self._db.execute("DELETE FROM items")
                self._db.commit()

    def count(self, kind: str = "generation") -> int:
        with self._lock:
            return len(self._items[kind])

    # -- persistence -------------------------------------------------------------------------------

    def _open_db(self, db_path: str) -> None:
        Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(db_path, check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS items (kind TEXT, tenant TEXT, id TEXT, received_at REAL, body BLOB,"
            " PRIMARY KEY (kind, tenant, id))"
        )
        self._db.commit()
        classes = {"generation": pb.Generation, "workflow_step": pb.WorkflowStep}
        for kind, message_class in classes.items():
            rows = self._db.execute(
                "SELECT tenant, id, received_at, body FROM items WHERE kind = ? ORDER BY received_at DESC LIMIT ?",
                (kind, self.max_items),
            ).fetchall()
            for tenant, item_id, received_at, body in reversed(rows):
                message = message_class()
                message.ParseFromString(body)
                self._items[kind][(tenant, item_id)] = Stored(tenant, received_at, message)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
