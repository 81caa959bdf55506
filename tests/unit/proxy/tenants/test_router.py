"""Per-team tenants: events routed by the trusted identity only (plain dicts), each tenant's client checked
on the wire, the hand-off and the spool routed alike."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from sigil_sdk_litellm.mapping.event import MappingOptions
from sigil_sdk_litellm.proxy.builders import build_recorder, build_tenant_router
from sigil_sdk_litellm.proxy.settings import Settings
from sigil_sdk_litellm.proxy.tenants.router import TenantRouter, selector_of, split_bound, trusted_identity
from sigil_sdk_litellm.proxy.tenants.tenant_map import build_tenant_map
from sigil_sdk_litellm.recording import SdkRecorder
from tests.capture_sink import CaptureSink
from tests.support import chat_response, mcp_tool_call_kwargs
from tests.unit.mapping.test_tool_execution import tracing_client
from tests.unit.proxy.tenants.test_tenant_map import TOKEN, event, settings

ROUTES = {"team_id:t-1": "one", "team_alias:search": "search", "key_alias:bot": "bot"}


def test_the_trusted_identity_is_what_the_proxy_wrote_after_authenticating_the_key() -> None:
    kwargs = event(user_api_key_team_id="t-1", user_api_key_team_alias="search", user_api_key_alias="bot")
    assert trusted_identity(kwargs) == {"team_id": "t-1", "team_alias": "search", "key_alias": "bot"}
    assert trusted_identity({}) == {} and trusted_identity(None) == {}
    assert trusted_identity({"standard_logging_object": {"metadata": "x"}}) == {}


@pytest.mark.parametrize(
    ("identity", "expected"),
    [
        ({"user_api_key_team_id": "t-1", "user_api_key_team_alias": "search"}, "team_id:t-1"),
        ({"user_api_key_team_id": "t-2", "user_api_key_team_alias": "search"}, "team_alias:search"),
        ({"user_api_key_team_id": "t-2", "user_api_key_alias": "bot"}, "key_alias:bot"),
        ({"user_api_key_team_id": "t-2"}, None),
        ({}, None),
    ],
)
def test_team_id_then_team_alias_then_key_alias(identity: dict[str, str], expected: str | None) -> None:
    assert selector_of(event(**identity), ROUTES) == expected


def test_a_requests_own_metadata_never_chooses_the_tenant() -> None:
    claimed = {"user_api_key_team_id": "t-1", "team_id": "t-1", "user_api_key_alias": "bot"}
    kwargs = event(requester=claimed, team_id="t-1", team_alias="search")
    kwargs["litellm_params"]["metadata"] = dict(claimed)
    kwargs["metadata"] = dict(claimed)
    assert selector_of(kwargs, ROUTES) is None


def test_the_router_sends_unknown_teams_to_the_default_and_creates_nothing() -> None:
    tenant_map = build_tenant_map({"team_id:t-1": {"tenant_id": "one"}}, base=Path("."))
    router = TenantRouter("DEFAULT", {"one": "ONE"}, tenant_map)
    assert router.route(event(user_api_key_team_id="t-1")) == ("one", "ONE")
    for n in range(50):
        assert router.route(event(user_api_key_team_id=f"new-{n}")) == ("default", "DEFAULT")
    assert router.clients == {"one": "ONE"}
    assert repr(router) == "TenantRouter(tenants=['default', 'one'])"


def test_the_buffer_bounds_are_split_between_the_tenants() -> None:
    assert split_bound(20000, 4, 1) == 5000
    assert split_bound(3000, 4, 1024) == 1024
    s = settings(
        {"team_id:a": {"tenant_id": "a"}, "team_id:b": {"tenant_id": "b"}},
        SIGIL_BUFFER_MAX_ITEMS="300",
        SIGIL_BUFFER_MAX_BYTES="3000000",
        SIGIL_PROTOCOL="http",
        SIGIL_ENDPOINT="http://127.0.0.1:9",
    )
    router = build_tenant_router(s, drain_timeout=0.1)
    assert router is not None
    try:
        exporters = [client._config.generation_exporter for client in router.all_clients()]
        assert [(e.max_items, e.max_bytes) for e in exporters] == [(100, 1_000_000)] * 3
        assert [e.tenant for e in exporters] == ["default", "a", "b"]  # the metrics' tenant label
    finally:
        router.shutdown()
    assert build_tenant_router(Settings.from_env({})) is None


# ---------------------------------------------------------------------------------------------
# On the wire


def test_each_tenant_exports_with_its_own_credentials_and_the_default_keeps_its_own() -> None:
    with CaptureSink() as sink:
        s = settings(
            {
                "team_id:t-1": {"tenant_id": "one", "token": TOKEN},
                "team_alias:search": {"tenant_id": "search", "auth_mode": "tenant"},
            },
            SIGIL_PROTOCOL="http",
            SIGIL_ENDPOINT=sink.url,
            SIGIL_AUTH_MODE="tenant",
            SIGIL_AUTH_TENANT_ID="platform",
            SIGIL_HEADERS="X-Scope-OrgID=platform,X-Env=test",
            SIGIL_FLUSH_INTERVAL="0.05",
        )
        recorder = build_recorder(s, drain_timeout=5)
        for n, identity in enumerate(
            [{"user_api_key_team_id": "t-1"}, {"user_api_key_team_alias": "search"}, {"user_api_key_team_id": "zz"}]
        ):
            kwargs = event(**identity)
            kwargs["standard_logging_object"]["litellm_call_id"] = kwargs["litellm_call_id"] = f"call-{n}"
            assert recorder.route(kwargs)[0] == ["one", "search", "default"][n]
            recorder.record(kwargs, chat_response(), failed=False, redacted=False)
        recorder.shutdown()
        seen = {}
        for export in sink.exports:
            for generation in export.body.get("generations", []):
                headers = {name.lower(): value for name, value in export.headers.items()}
                seen[generation["id"]] = (
                    headers.get("x-scope-orgid"),
                    headers.get("authorization", ""),
                    headers.get("x-env"),
                )
    basic = "Basic " + base64.b64encode(f"one:{TOKEN}".encode()).decode()
    assert seen == {
        "call-0": ("one", basic, "test"),
        "call-1": ("search", "", "test"),
        "call-2": ("platform", "", "test"),
    }


def test_the_recorder_process_routes_the_slim_hand_off_like_the_full_event() -> None:
    """SIGIL_RECORDER=process maps slim_event(kwargs): it carries the trusted identity, nothing else."""
    from sigil_sdk_litellm.proxy.offload.slim_event import slim_event

    kwargs = event(
        requester={"user_api_key_team_id": "t-1"},
        user_api_key_team_id="t-2",
        user_api_key_team_alias="search",
        user_api_key_alias="bot",
    )
    slim = slim_event(kwargs, chat_response())
    assert (
        trusted_identity(slim)
        == trusted_identity(kwargs)
        == {
            "team_id": "t-2",
            "team_alias": "search",
            "key_alias": "bot",
        }
    )
    assert selector_of(slim, ROUTES) == selector_of(kwargs, ROUTES) == "team_alias:search"


def test_with_the_disk_spool_each_tenant_spools_and_delivers_on_its_own(tmp_path: Path) -> None:
    """SIGIL_SPOOL_DIR + SIGIL_TENANT_MAP: a spool and consumer per tenant (the default's in the directory
    itself, the others' in tenants/<id>/), routed on the worker by the slim event's trusted identity."""
    from sigil_sdk_litellm.proxy.bootstrap import build_tenant_spool_links
    from sigil_sdk_litellm.proxy.offload.callback import OffloadingSigilLogger

    with CaptureSink() as sink:
        s = settings(
            {"team_id:t-1": {"tenant_id": "one", "auth_mode": "tenant"}},
            SIGIL_PROTOCOL="http",
            SIGIL_ENDPOINT=sink.url,
            SIGIL_AUTH_MODE="tenant",
            SIGIL_AUTH_TENANT_ID="platform",
            SIGIL_SPOOL_DIR=str(tmp_path),
            SIGIL_RECORDER="inprocess",
            SIGIL_FLUSH_INTERVAL="0.05",
            SIGIL_SHUTDOWN_GRACE="4",
        )
        spools = build_tenant_spool_links(s)
        try:
            assert spools.default.spool.path.parent == tmp_path
            assert spools.clients["one"].spool.path.parent == tmp_path / "tenants" / "one"
            handler = OffloadingSigilLogger(link=spools.default, router=spools)
            for n, team in enumerate(["t-1", "zz", "t-1"]):
                kwargs = event(user_api_key_team_id=team)
                kwargs["standard_logging_object"]["litellm_call_id"] = kwargs["litellm_call_id"] = f"call-{n}"
                handler.handle_event(kwargs, chat_response(), failed=False)
            sink.wait_for_generations(3)
        finally:
            spools.shutdown()
        tenants = {}
        for export in sink.exports:
            headers = {name.lower(): value for name, value in export.headers.items()}
            for generation in export.body.get("generations", []):
                tenants[generation["id"]] = headers.get("x-scope-orgid")
    assert tenants == {"call-0": "one", "call-1": "platform", "call-2": "one"}
    assert spools.default.problems.count("spool:skipped:tenants") == 0  # the tenants' directory is no stray file
    assert not list(tmp_path.glob("*.spool.sqlite3")) and not list(tmp_path.glob("tenants/one/*.spool.sqlite3"))


def test_an_mcp_tool_call_is_recorded_by_its_teams_tenant() -> None:
    """A tool execution is routed as a generation is: the key's team chooses the tenant's client."""
    (default, default_spans), (team, team_spans) = tracing_client(), tracing_client()
    tenant_map = build_tenant_map({"team_id:team-ml": {"tenant_id": "ml"}}, base=Path("."))
    recorder = SdkRecorder(default, MappingOptions(), router=TenantRouter(default, {"ml": team}, tenant_map))
    recorder.record(mcp_tool_call_kwargs(), None, failed=False, redacted=False)
    other = mcp_tool_call_kwargs(user_api_key_team_id="team-other")
    recorder.record(other, None, failed=False, redacted=False)
    assert [s.attributes["litellm.team_id"] for s in team_spans.get_finished_spans()] == ["team-ml"]
    assert [s.attributes["litellm.team_id"] for s in default_spans.get_finished_spans()] == ["team-other"]
    assert recorder.problems.counts == {}
