"""The settings a proxy worker hands its recorder process: the same values, secrets hidden in reprs."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from sigil_sdk_litellm.proxy.builders import auth_headers, handler_options, tenant_settings
from sigil_sdk_litellm.proxy.handoff.recorder_settings import RecorderSettings, handover, taken_over
from sigil_sdk_litellm.proxy.secret import Secret
from sigil_sdk_litellm.proxy.settings import Settings
from sigil_sdk_litellm.proxy.settings.loading import load_settings

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
    assert handed.names() == Settings.handed_over()
    for name in handed.names():
        ours, theirs = getattr(handed, name), getattr(settings, name)
        if name == "headers":
            assert {k: v.get_secret_value() for k, v in ours.items()} == {"X-Team": "blue"}
            assert {k: v.get_secret_value() for k, v in theirs.items()} == {"X-Team": "blue"}
        elif name == "auth_token":
            assert ours.get_secret_value() == theirs.get_secret_value() == "glc_top_secret"
        else:
            assert ours == theirs, name
    assert handed.spool_dir == Path("/tmp/spool-of-test")
    assert handed.agent_name_metadata_keys == ("agent", "app")
    assert handler_options(handed) == handler_options(settings)
    assert auth_headers(handed) == auth_headers(settings)


@pytest.mark.parametrize("tenant", ["default", "ml", "batch"])
def test_each_tenants_settings_are_the_same_from_the_handed_over_ones(tenant: str) -> None:
    settings = load_settings(ENV)
    ours, theirs = tenant_settings(taken_over(handover(settings)), tenant), tenant_settings(settings, tenant)
    assert isinstance(ours, RecorderSettings) and ours.names() == Settings.handed_over()
    for name in ours.names():
        if name != "headers":
            assert _revealed(getattr(ours, name)) == _revealed(getattr(theirs, name)), name
    assert auth_headers(ours) == auth_headers(theirs)
    assert ours.tenant_map is not None and theirs.tenant_map is not None
    assert dict(ours.tenant_map.routes) == dict(theirs.tenant_map.routes)


def test_handed_over_secrets_stay_out_of_reprs() -> None:
    handed = taken_over(handover(load_settings(ENV)))
    for secret in ("glc_top_secret", "tok-ml", "blue"):
        assert secret not in repr(handed)
    assert repr(Secret("x")) == "Secret('**********')" and str(Secret("x")) == "**********"


def test_settings_of_any_size_are_handed_over_in_memory_not_in_the_environment(tmp_path: Path) -> None:
    """Linux refuses one environment string over 128 KiB; the in-memory file has no such limit, and
    tokens read from files stay out of the recorder's environment."""
    from sigil_sdk_litellm.proxy import bootstrap
    from sigil_sdk_litellm.proxy.handoff.recorder_settings import read_handover_file

    token = tmp_path / "token"
    token.write_text("t" * 60_000 + "-secret")  # three tenants' tokens from files: 180 KB together
    big = dict(
        ENV,
        SIGIL_TENANT_MAP=json.dumps(
            {f"team_id:{n}": {"tenant_id": f"t{n}", "token_file": str(token)} for n in range(3)}
        ),
    )
    settings = load_settings(big)
    env, pass_fds = bootstrap.recorder_handover(settings)
    assert env[bootstrap.HANDOVER_VARIABLE] == str(pass_fds[0])
    assert not any("-secret" in value for value in env.values())
    for _ in range(2):  # a restarted recorder reads it again: the worker's descriptor stays readable
        handed = read_handover_file(os.dup(pass_fds[0]))
        assert handed.tenant_map is not None
        assert {t.token.get_secret_value() for t in handed.tenant_map.tenants if t.token} == {"t" * 60_000 + "-secret"}
    os.close(pass_fds[0])


def test_worker_only_settings_stay_with_the_worker() -> None:
    """The recorder is handed every setting but the worker's own: on/off, secrets dir, placement, hooks, and
    secret redaction (the worker redacts before the hand-off)."""
    handed = taken_over(handover(load_settings(ENV)))
    worker_only = set(Settings.model_fields) - set(handed.names())
    hooks = {name for name in Settings.model_fields if name.startswith("hooks_")}
    assert worker_only == {"enabled", "secrets_dir", "recorder", "redact_secrets"} | hooks and len(hooks) == 9
    with pytest.raises(AttributeError, match="hooks_enabled is not handed over"):
        _ = handed.hooks_enabled
    with pytest.raises(dataclasses.FrozenInstanceError):
        handed.endpoint = "elsewhere:1"
    assert handed.model_copy(update={"batch_size": 7}).batch_size == 7 and handed.batch_size == 100
