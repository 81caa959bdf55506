"""The mock sink's pure rules: per-item normalisation, tenant/credential checks, faults."""

from __future__ import annotations

import base64
import time

import pytest
from sigil_mock_sink import ingest
from sigil_mock_sink.auth import Authenticator, AuthError, valid_tenant_id
from sigil_mock_sink.faults import Faults
from sigil_mock_sink.store import Store
from sigil_sdk.internal.gen.sigil.v1 import generation_ingest_pb2 as pb


def gen(**fields: object) -> pb.Generation:
    base: dict[str, object] = {"id": "g1", "model": pb.ModelRef(provider="openai", name="gpt")}
    base.update(fields)
    return pb.Generation(**{k: v for k, v in base.items() if v is not None})


def test_defaults_are_filled_in() -> None:
    g = gen(id="", mode=pb.GENERATION_MODE_UNSPECIFIED)
    assert ingest.normalize_generation(g, ingest.id_counter("gen")) is None
    assert g.id == "gen-1"
    assert g.mode == pb.GENERATION_MODE_SYNC
    assert g.operation_name == "generateText"
    assert g.HasField("started_at") and g.HasField("completed_at")
    stream = gen(mode=pb.GENERATION_MODE_STREAM)
    ingest.normalize_generation(stream, ingest.id_counter("gen"))
    assert stream.operation_name == "streamText"


@pytest.mark.parametrize(
    ("generation", "error"),
    [
        (gen(model=None), "generation.model is required"),
        (gen(model=pb.ModelRef(name="gpt")), "generation.model.provider is required"),
        (gen(model=pb.ModelRef(provider="openai")), "generation.model.name is required"),
        (gen(mode=7), "generation.mode is invalid"),
    ],
)
def test_items_are_rejected_like_the_real_server(generation: pb.Generation, error: str) -> None:
    assert ingest.normalize_generation(generation, ingest.id_counter("gen")) == error


def test_store_rejects_duplicates_per_tenant_and_bounds_memory() -> None:
    store = Store(max_items=2)
    assert store.add_generation("t1", gen(id="a")) is None
    assert store.add_generation("t1", gen(id="a")) == "generation already exists"
    assert store.add_generation("t2", gen(id="a")) is None  # another tenant's id space
    assert store.add_generation("t1", gen(id="b")) is None
    assert store.count() == 2 and store.stats.evicted["generation"] == 1
    assert [s.message.id for s in store.query()] == ["b", "a"]
    assert store.stats.rejected[("generation", "generation already exists")] == 1


@pytest.mark.parametrize(
    ("tenant", "ok"),
    [
        ("acme", True),
        ("a-b_c.d*e!f'(g)", True),
        ("x" * 150, True),
        ("x" * 151, False),
        (".", False),
        ("..", False),
        ("a/b", False),
        ("a b", False),
        ("", False),
    ],
)
def test_tenant_ids(tenant: str, ok: bool) -> None:
    assert valid_tenant_id(tenant) is ok


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_authenticator_modes() -> None:
    assert Authenticator("none").tenant({}) == "fake"
    tenant = Authenticator("tenant")
    assert tenant.tenant({"x-scope-orgid": "acme"}) == "acme"
    with pytest.raises(AuthError, match="no org id"):
        tenant.tenant({})
    with pytest.raises(AuthError, match="invalid org id"):
        tenant.tenant({"x-scope-orgid": ".."})
    bearer = Authenticator("bearer", bearer_token="s3cret")
    assert bearer.tenant({"authorization": "Bearer s3cret"}) == "fake"
    assert bearer.tenant({"authorization": "Bearer s3cret", "x-scope-orgid": "acme"}) == "acme"
    for wrong in ({}, {"authorization": "Bearer nope"}, {"authorization": "Basic s3cret"}):
        with pytest.raises(AuthError):
            bearer.tenant(wrong)
    gateway = Authenticator("basic", basic_user="12345", basic_password="pw")
    assert gateway.tenant({"authorization": basic("12345", "pw")}) == "12345"
    for wrong in ({}, {"authorization": basic("12345", "bad")}, {"authorization": "Basic !!"}):
        with pytest.raises(AuthError):
            gateway.tenant(wrong)
    assert "s3cret" not in repr(bearer) and "pw" not in repr(gateway)
    with pytest.raises(ValueError):
        Authenticator("bearer")


def test_faults() -> None:
    faults = Faults()
    faults.update({"unavailable_seconds": 0.2, "delay_ms": 5, "reject_fraction": 1})
    assert faults.unavailable() and faults.reject_item() and faults.delay_ms == 5
    time.sleep(0.25)
    assert not faults.unavailable()
    faults.update({"unavailable": True})
    assert faults.unavailable() and faults.as_dict()["unavailable_seconds_left"] is None
    faults.clear()
    assert not faults.unavailable() and not faults.reject_item() and faults.delay_ms == 0
    with pytest.raises(ValueError):
        faults.update({"reject_fraction": 2})
