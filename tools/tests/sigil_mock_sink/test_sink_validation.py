"""The mock sink's pure rules: per-item normalisation and rejections, strict proto-JSON, tenant and
credential checks, faults, and the store (bounded, SQLite)."""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from pathlib import Path

import pytest
from sigil_mock_sink import ingest
from sigil_mock_sink.auth import Authenticator, AuthError, tenant_id_error, valid_tenant_id
from sigil_mock_sink.faults import Faults
from sigil_mock_sink.protojson import ProtoJSONError, parse, valid_base64
from sigil_mock_sink.store import VIA_GRPC_AGENTO11Y, VIA_GRPC_SIGIL, Store
from sigil_sdk.internal.gen.sigil.v1 import generation_ingest_pb2 as pb


def gen(**fields: object) -> pb.Generation:
    base: dict[str, object] = {"id": "g1", "model": pb.ModelRef(provider="openai", name="gpt")}
    base.update(fields)
    return pb.Generation(**{k: v for k, v in base.items() if v is not None})


def test_defaults_are_filled_in_like_the_server() -> None:
    new_id = ingest.id_counter("gen")
    g = gen(id="", mode=pb.GENERATION_MODE_UNSPECIFIED)
    assert ingest.normalize_generation(g, new_id) is None
    assert (g.id, g.mode, g.operation_name) == ("gen-1", pb.GENERATION_MODE_SYNC, "generateText")
    assert abs(g.started_at.ToSeconds() - time.time()) < 5 and abs(g.completed_at.ToSeconds() - time.time()) < 5
    stream = gen(id="", mode=pb.GENERATION_MODE_STREAM)
    ingest.normalize_generation(stream, new_id)
    assert (stream.id, stream.operation_name) == ("gen-2", "streamText")
    # each missing timestamp becomes now on its own: a given started_at is not copied
    started_only = gen()
    started_only.started_at.FromSeconds(1_000)
    ingest.normalize_generation(started_only, new_id)
    assert started_only.started_at.ToSeconds() == 1_000 and started_only.completed_at.ToSeconds() > 1_000_000


@pytest.mark.parametrize(
    ("generation", "error"),
    [
        (gen(model=None), "generation.model is required"),
        (gen(model=pb.ModelRef(name="gpt")), "generation.model.provider is required"),
        (gen(model=pb.ModelRef(provider="openai")), "generation.model.name is required"),
        (gen(model=None, mode=7), "generation.model is required"),  # the server checks the model first
        (gen(mode=7), "generation.mode is invalid"),
        (gen(model=pb.ModelRef(provider=" ", name=" ")), None),  # only "" is missing
    ],
)
def test_items_are_rejected_like_the_real_server(generation: pb.Generation, error: str | None) -> None:
    assert ingest.normalize_generation(generation, ingest.id_counter("gen")) == error


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("", True),
        ("YQ==", True),
        ("YWI=", True),
        ("YQ", True),  # unpadded when the length is not a multiple of 4
        ("-_-_", True),  # URL alphabet
        ("YW\nI=", True),  # line breaks are ignored
        ("YQ=", False),
        ("Y", False),
        ("Y===", False),
        ("a+b_", False),  # mixed alphabets
        ("!!", False),  # json_format would decode this to b""
    ],
)
def test_base64_as_go_protojson_decodes_it(value: str, ok: bool) -> None:
    assert valid_base64(value) is ok


def test_protojson_is_strict_where_json_format_is_lax() -> None:
    request = parse(
        b'{"generations":[{"id":"a","toolChoice":"auto","mode":"GENERATION_MODE_STREAM"}]}',
        pb.ExportGenerationsRequest(),
    )
    assert request.generations[0].tool_choice == "auto"
    for body in (b"[]", b"null", b'{"a":1,"a":1}', b'{"generations":[{"temperature":NaN}]}', "{}".encode("utf-16")):
        with pytest.raises(ProtoJSONError):
            parse(body, pb.ExportGenerationsRequest())
    with pytest.raises(ProtoJSONError, match=r"tools\[0\]\.input_schema_json"):
        parse(b'{"generations":[{"tools":[{"input_schema_json":"%%"}]}]}', pb.ExportGenerationsRequest())


@pytest.mark.parametrize(
    ("org_id", "error"),
    [
        ("acme", None),
        ("a-b_c.d*e!f'(g)", None),
        ("x" * 150, None),
        ("x" * 151, "tenant ID is too long: max 150 characters"),
        (".", "tenant ID is '.' or '..'"),
        ("..", "tenant ID is '.' or '..'"),
        ("a/b", "tenant ID 'a/b' contains unsupported character '/'"),
        ("a b", "tenant ID 'a b' contains unsupported character ' '"),
        ("a|b", "multiple org IDs present"),
        ("a|b/c", "tenant ID 'b/c' contains unsupported character '/'"),
    ],
)
def test_tenant_ids_as_dskit_validates_them(org_id: str, error: str | None) -> None:
    assert tenant_id_error(org_id) == error
    assert valid_tenant_id(org_id) is (error is None)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_authenticator_modes() -> None:
    assert Authenticator("none").tenant({}) == "fake"
    tenant = Authenticator("tenant")
    assert tenant.tenant({"x-scope-orgid": " acme "}) == "acme"
    with pytest.raises(AuthError, match="no org id"):
        tenant.tenant({})
    with pytest.raises(AuthError, match=r"tenant ID is '\.' or '\.\.'"):
        tenant.tenant({"x-scope-orgid": ".."})
    bearer = Authenticator("bearer", bearer_token="s3cret")
    assert bearer.tenant({"authorization": "Bearer s3cret"}) == "fake"
    assert bearer.tenant({"authorization": "bearer s3cret", "x-scope-orgid": "acme"}) == "acme"
    for wrong in ({}, {"authorization": "Bearer nope"}, {"authorization": "Basic s3cret"}, {"authorization": "s3cret"}):
        with pytest.raises(AuthError, match="invalid bearer token"):
            bearer.tenant(wrong)
    gateway = Authenticator("basic", basic_user="12345", basic_password="pw")
    assert gateway.tenant({"authorization": basic("12345", "pw")}) == "12345"
    assert gateway.tenant({"authorization": basic("12345", "pw"), "x-scope-orgid": "acme"}) == "acme"
    for wrong in ({}, {"authorization": basic("12345", "bad")}, {"authorization": "Basic !!"}, {"authorization": "pw"}):
        with pytest.raises(AuthError, match="invalid basic credentials"):
            gateway.tenant(wrong)
    assert "s3cret" not in repr(bearer) and "'pw'" not in repr(gateway)
    for mode, kwargs in (("bearer", {}), ("basic", {"basic_user": "u"}), ("sometimes", {})):
        with pytest.raises(ValueError):
            Authenticator(mode, **kwargs)


def test_faults() -> None:
    faults = Faults()
    faults.update({"unavailable_seconds": 0.2, "delay_ms": 5, "reject_fraction": 1})
    assert faults.error() == 503 and faults.reject_item() and faults.delay_ms == 5
    time.sleep(0.25)
    assert faults.error() is None
    faults.update({"unavailable": True})
    assert faults.unavailable() and faults.as_dict()["unavailable_seconds_left"] is None
    faults.clear()
    faults.update({"fail_next": 2, "error_status": 429})
    assert [faults.error(), faults.error(), faults.error()] == [429, 429, None]
    assert not faults.unavailable() and not faults.reject_item()
    for bad in ({"reject_fraction": 2}, {"error_status": 418}, {"drop_connections": "yes"}, {"nope": 1}):
        with pytest.raises(ValueError):
            faults.update({"delay_ms": 99, **bad})
        assert faults.delay_ms == 0  # a refused update changes nothing


def test_store_rejects_duplicates_per_tenant_and_bounds_memory() -> None:
    store = Store(max_items=2)
    assert store.add_generation("t1", gen(id="a")) is None
    assert store.add_generation("t1", gen(id="a")) == "generation already exists"
    assert store.add_generation("t2", gen(id="a")) is None  # another tenant's id space
    assert store.add_generation("t1", gen(id="b")) is None
    assert store.count() == 2 and store.stats.evicted["generation"] == 1
    assert [(s.tenant, s.message.id) for s in store.query()] == [("t1", "b"), ("t2", "a")]
    assert store.stats.rejected[("generation", "generation already exists")] == 1
    assert store.ingest("generation", "t1", [gen(id="c"), gen(id="c"), gen(id="d", model=None)]) == [
        None,
        "generation already exists",
        "generation.model is required",
    ]
    assert store.add_generation("t1", gen(id="e"), reject=True) == "fault injected: item rejected"


def test_store_sqlite_keeps_the_bounded_history(tmp_path: Path) -> None:
    db = str(tmp_path / "sink.db")
    store = Store(max_items=2, db_path=db)
    store.ingest("generation", "t", [gen(id=f"g{i}") for i in range(4)])
    store.add_workflow_step("t", pb.WorkflowStep(step_name="plan"))
    store.close()
    again = Store(max_items=2, db_path=db)
    assert [s.message.id for s in again.query()] == ["g3", "g2"]
    assert [s.message.step_name for s in again.query("workflow_step")] == ["plan"]
    assert again.get("g3") is not None and again.get("g0") is None
    again.clear()
    again.close()
    assert Store(db_path=db).count() == 0


def test_store_keeps_how_each_item_came_across_restarts(tmp_path: Path) -> None:
    db = tmp_path / "sink.db"
    # a database written before the via column existed opens, its items with an empty via
    old = sqlite3.connect(db)
    old.execute(
        "CREATE TABLE sink_items (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, tenant TEXT NOT NULL,"
        " id TEXT NOT NULL, received_at REAL NOT NULL, body BLOB NOT NULL, UNIQUE (kind, tenant, id))"
    )
    old.execute(
        "INSERT INTO sink_items (kind, tenant, id, received_at, body) VALUES (?, ?, ?, ?, ?)",
        ("generation", "t", "old", 1.0, gen(id="old").SerializeToString()),
    )
    old.commit()
    old.close()
    store = Store(db_path=str(db))
    store.ingest("generation", "t", [gen(id="a")], via=VIA_GRPC_AGENTO11Y)
    store.ingest("generation", "t", [gen(id="s")], via=VIA_GRPC_SIGIL)
    store.close()
    again = Store(db_path=str(db))
    assert [(s.message.id, s.via) for s in again.query()] == [
        ("s", VIA_GRPC_SIGIL),
        ("a", VIA_GRPC_AGENTO11Y),
        ("old", ""),
    ]
    assert again.query()[0].to_json()["_via"] == again.query()[0].summary()["_via"] == "grpc sigil.v1"
    again.close()


def test_store_renders_lazily_and_caches_a_bounded_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sigil_mock_sink.store.RENDER_CACHE", 2)
    store = Store()
    store.ingest("generation", "t", [gen(id=f"g{i}") for i in range(3)])
    items = store.query()
    assert all(s.cached_json is None for s in items)  # nothing rendered at ingest
    rendered = [store.rendered(s) for s in items]
    assert [s.cached_json is not None for s in items] == [False, True, True]  # the oldest rendering dropped
    assert json.loads(rendered[0]) == items[0].to_json()
    assert (json.loads(rendered[0])["_tenant"], json.loads(rendered[0])["id"]) == ("t", "g2")
