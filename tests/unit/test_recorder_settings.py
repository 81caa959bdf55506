"""The settings a proxy worker hands its recorder process: the same values, secrets hidden in reprs."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from sigil_sdk_litellm._factory import auth_headers, handler_options, load_settings, tenant_settings
from sigil_sdk_litellm._recorder_settings import RecorderSettings, handover, taken_over
from sigil_sdk_litellm._secret import Secret

ENV = {
    "SIGIL_ENDPOINT": "https://sigil.example.invalid:4317",
    "SIGIL_PROTOCOL": "grpc",
    "SIGIL_AUTH_MODE": "basic",
    "SIGIL_AUTH_TENANT_ID": "42",
    "SIGIL_AUTH_TOKEN": "glc_top_secret",
    "SIGIL_HEADERS": "X-Team=blue",
    "SIGIL_TAGS": "env=prod",
    "SIGIL_EXTRA_METADATA": '{"cost_center": 7, "nested": {"a": [1, 2]}}',
    "SIGIL_AGENT_NAME_METADATA_KEYS": "agent,app",
    "SIGIL_SPOOL_DIR": "/tmp/spool-of-test",
    "SIGIL_SHUTDOWN_GRACE": "12.5",
    "SIGIL_METRICS": "true",
    "SIGIL_TENANT_MAP": json.dumps(
        {
            "team_id:t-1": {"tenant_id": "ml", "token": "tok-ml"},
            "team_alias:ml": {"tenant_id": "ml", "token": "tok-ml"},
            "key_alias:batch": {"tenant_id": "batch", "auth_mode": "tenant", "endpoint": "http://other:8080"},
        }
    ),
}


def _revealed(value: object) -> object:
    get = getattr(value, "get_secret_value", None)
    return get() if get is not None else value


def test_every_handed_over_field_equals_the_workers_setting() -> None:
    settings = load_settings(ENV)
    handed = taken_over(handover(settings))
    for item in fields(RecorderSettings):
        ours, theirs = getattr(handed, item.name), getattr(settings, item.name)
        if item.name == "headers":
            assert {k: v.get_secret_value() for k, v in ours.items()} == {"X-Team": "blue"}
            assert {k: v.get_secret_value() for k, v in theirs.items()} == {"X-Team": "blue"}
        elif item.name == "auth_token":
            assert ours.get_secret_value() == theirs.get_secret_value() == "glc_top_secret"
        else:
            assert ours == theirs, item.name
    assert handed.spool_dir == Path("/tmp/spool-of-test")
    assert handed.agent_name_metadata_keys == ("agent", "app")
    assert handler_options(handed) == handler_options(settings)
    assert auth_headers(handed) == auth_headers(settings)


@pytest.mark.parametrize("tenant", ["default", "ml", "batch"])
def test_each_tenants_settings_are_the_same_from_the_handed_over_ones(tenant: str) -> None:
    settings = load_settings(ENV)
    ours, theirs = tenant_settings(taken_over(handover(settings)), tenant), tenant_settings(settings, tenant)
    for item in fields(RecorderSettings):
        if item.name != "headers":
            assert _revealed(getattr(ours, item.name)) == _revealed(getattr(theirs, item.name)), item.name
    assert auth_headers(ours) == auth_headers(theirs)
    assert ours.tenant_map is not None and theirs.tenant_map is not None
    assert dict(ours.tenant_map.routes) == dict(theirs.tenant_map.routes)


def test_handed_over_secrets_stay_out_of_reprs() -> None:
    handed = taken_over(handover(load_settings(ENV)))
    for secret in ("glc_top_secret", "tok-ml", "blue"):
        assert secret not in repr(handed)
    assert repr(Secret("x")) == "Secret('**********')" and str(Secret("x")) == "**********"


def test_settings_too_large_for_one_environment_string_are_not_handed_over(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from sigil_sdk_litellm import bootstrap

    settings = load_settings(ENV)
    assert bootstrap.HANDOVER_VARIABLE in bootstrap.recorder_environment(settings)
    token = tmp_path / "token"
    token.write_text("t" * 60_000)  # two tenants' tokens from files: over the limit together
    big = dict(
        ENV,
        SIGIL_TENANT_MAP=json.dumps(
            {f"team_id:{n}": {"tenant_id": f"t{n}", "token_file": str(token)} for n in range(2)}
        ),
    )
    env = bootstrap.recorder_environment(load_settings(big))
    assert bootstrap.HANDOVER_VARIABLE not in env  # the recorder reads the environment (and the files) itself
