"""SIGIL_TENANT_MAP: parsed into tenants and their credentials, refused in one line naming the variable."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from sigil_sdk_litellm.proxy.settings import ConfigError, Settings
from sigil_sdk_litellm.proxy.tenants.tenant_map import MAX_TENANTS, TenantMap, build_tenant_map
from tests.support import callback_kwargs, standard_logging_object

TOKEN = "tok-" + secrets.token_hex(12)


def settings(tenant_map: object, **env: str) -> Settings:
    raw = tenant_map if isinstance(tenant_map, str) else json.dumps(tenant_map)
    return Settings.from_env({"SIGIL_TENANT_MAP": raw, **env})


def error_of(tenant_map: object, **env: str) -> str:
    with pytest.raises(ConfigError) as info:
        settings(tenant_map, **env)
    return str(info.value)


def event(*, requester: dict[str, Any] | None = None, **identity: str) -> dict[str, Any]:
    """Callback kwargs whose logging payload carries the proxy-written identity ``identity``."""
    slo = standard_logging_object()
    slo["metadata"] = {**identity, "requester_metadata": requester}
    return callback_kwargs(slo)


# ---------------------------------------------------------------------------------------------
# Parsing


def test_an_inline_map_names_tenants_and_their_credentials() -> None:
    s = settings(
        {
            "team_id:t-1": {"tenant_id": "ml", "token": TOKEN},
            "team_alias:search": {"tenant_id": "search"},
            "key_alias:batch": {"tenant_id": "ml", "token": TOKEN},
            "team_id:t-9": {
                "tenant_id": "other",
                "auth_mode": "bearer",
                "token": TOKEN,
                "endpoint": "sigil.x:443",
                "otlp_endpoint": " https://otlp.x/otlp ",
            },
        }
    )
    assert s.tenant_map is not None
    routes = s.tenant_map.routes
    assert routes["team_id:t-1"] is not None and routes["team_id:t-1"] == routes["key_alias:batch"]
    assert [t.tenant_id for t in s.tenant_map.tenants] == ["ml", "search", "other"]
    assert (routes["team_id:t-1"].auth_mode, routes["team_alias:search"].auth_mode) == ("basic", "tenant")
    assert routes["team_id:t-9"].endpoint == "sigil.x:443"
    assert routes["team_id:t-9"].otlp_endpoint == "https://otlp.x/otlp"
    assert routes["team_id:t-1"].otlp_endpoint == ""  # OTEL_EXPORTER_OTLP_ENDPOINT's
    assert routes["team_id:t-1"].token is not None and routes["team_id:t-1"].token.get_secret_value() == TOKEN
    for text in (repr(s), str(s), repr(s.tenant_map), repr(routes["team_id:t-1"])):
        assert TOKEN not in text


def test_a_map_file_json_or_yaml_with_token_files_beside_it(tmp_path: Path) -> None:
    (tmp_path / "ml.token").write_text(TOKEN + "\n")
    (tmp_path / "map.yaml").write_text("team_alias:ml:\n  tenant_id: ml\n  token_file: ml.token\n")
    (tmp_path / "map.json").write_text(json.dumps({"team_alias:ml": {"tenant_id": "ml", "token_file": "ml.token"}}))
    for name in ("map.yaml", "map.json"):
        tenant_map = settings(str(tmp_path / name)).tenant_map
        assert tenant_map is not None
        token = tenant_map.routes["team_alias:ml"].token
        assert token is not None and token.get_secret_value() == TOKEN


@pytest.mark.parametrize("text", [json.dumps({"team_id:a": {"tenant_id": "a"}}), "team_id:a:\n  tenant_id: a\n"])
def test_the_map_from_a_file_variable_json_or_yaml(tmp_path: Path, text: str) -> None:
    (tmp_path / "map").write_text(text)
    s = Settings.from_env({"SIGIL_TENANT_MAP_FILE": str(tmp_path / "map")})
    assert s.tenant_map is not None and list(s.tenant_map.routes) == ["team_id:a"]
    assert Settings.from_env({}).tenant_map is None


@pytest.mark.parametrize(
    ("tenant_map", "reason"),
    [
        ("{bad", "not JSON: Expecting property name enclosed in double quotes at character 1"),
        ('{"team_id:a": {"tenant_id": "a"}, "team_id:a": {"tenant_id": "b"}}', "key 'team_id:a' appears twice"),
        ({}, "not a non-empty object"),
        ({"team:a": {"tenant_id": "a"}}, "key 'team:a' is not team_id:<id>, team_alias:<alias> or key_alias:<alias>"),
        ({"team_id:a": {"tenant_id": "a", "tokn": TOKEN}}, "entry 'team_id:a' has unknown keys 'tokn'"),
        ({"team_id:a": {"token": TOKEN}}, "entry 'team_id:a' needs a tenant_id (one line of text)"),
        ({"team_id:a": {"tenant_id": "a", "auth_mode": "bearer"}}, "entry 'team_id:a': auth_mode bearer needs token"),
        ({"team_id:a": {"tenant_id": "a", "auth_mode": "none"}}, "entry 'team_id:a': auth_mode 'none' is not one of"),
        (
            {"team_id:a": {"tenant_id": "a", "token_file": "/nonexistent/t"}},
            "cannot read entry 'team_id:a': token_file '/nonexistent/t' (No such file or directory)",
        ),
        ({"team_id:a": {"tenant_id": "a", "token": TOKEN, "token_file": "/t"}}, "has both token and token_file"),
        (
            {"team_id:a": {"tenant_id": "a", "token": TOKEN}, "team_id:b": {"tenant_id": "a", "token": TOKEN + "x"}},
            "tenant 'a' appears with different credentials or endpoints",
        ),
        ({"team_id:a": {"tenant_id": "default"}}, "tenant id 'default' is reserved for the default tenant"),
        ({"team_id:a": {"tenant_id": "../etc"}}, "entry 'team_id:a': tenant_id has characters other than"),
        ({"team_id:a": {"tenant_id": "a b"}}, "entry 'team_id:a': tenant_id has characters other than"),
        ({"team_id:a": {"tenant_id": "a", "endpoint": "no port"}}, "entry 'team_id:a': endpoint 'no port' is not"),
        (
            {"team_id:a": {"tenant_id": "a", "otlp_endpoint": "alloy:4318"}},
            "entry 'team_id:a': otlp_endpoint 'alloy:4318' is not an http:// or https:// URL with a host",
        ),
        (
            {"team_id:a": {"tenant_id": "a", "otlp_endpoint": f"https://a:{TOKEN}@otlp.example"}},
            "entry 'team_id:a': otlp_endpoint has credentials in it; give token or token_file instead",
        ),
        ({"team_id:a": {"tenant_id": "a", "otlp_endpoint": 4318}}, "entry 'team_id:a': otlp_endpoint is not text"),
        (
            {
                "team_id:a": {"tenant_id": "a", "otlp_endpoint": "http://x:4318"},
                "team_id:b": {"tenant_id": "a", "otlp_endpoint": "http://y:4318"},
            },
            "tenant 'a' appears with different credentials or endpoints",
        ),
        (
            {f"team_id:{i}": {"tenant_id": f"t{i}"} for i in range(MAX_TENANTS + 1)},
            f"{MAX_TENANTS + 1} tenants, more than {MAX_TENANTS}",
        ),
        ("/nonexistent/map.json", "cannot read the map file '/nonexistent/map.json' (No such file or directory)"),
        ("a: [b", "cannot read the map file"),
    ],
)
def test_a_bad_map_is_one_line_naming_the_variable_never_a_token(tenant_map: object, reason: str) -> None:
    line = error_of(tenant_map)
    assert line.startswith("sigil: invalid configuration: SIGIL_TENANT_MAP (value hidden) — accepted: a JSON object")
    assert f"at most {MAX_TENANTS} tenants" in line
    assert reason in line, line
    assert "\n" not in line and TOKEN not in line


def test_an_entry_may_not_smuggle_a_control_character_into_a_header(tmp_path: Path) -> None:
    (tmp_path / "t").write_text("a\x00b")
    assert "control character" in error_of({"team_id:a": {"tenant_id": "a", "token_file": str(tmp_path / "t")}})
    assert "tenant_id (one line" in error_of({"team_id:a": {"tenant_id": "a\nb"}})


# ---------------------------------------------------------------------------------------------
# Routing (plain dicts)


def test_a_map_is_typed_and_frozen() -> None:
    tenant_map = build_tenant_map({"team_id:t": {"tenant_id": "t"}}, base=Path("."))
    assert isinstance(tenant_map, TenantMap)
    assert repr(tenant_map) == "TenantMap(1 selectors, tenants=['t'])"
