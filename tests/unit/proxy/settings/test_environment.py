"""The environment reader behind Settings: *_FILE variables, the secrets directory, SIGIL_ENABLED=false,
unknown names and the AGENTO11Y_* aliases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from sigil_sdk_litellm.proxy.settings import environment, unknown_variables
from tests.unit.proxy.settings.test_settings import EVERY_VARIABLE, PREFIX, TOKEN, assert_clean, config_error, load


@pytest.fixture(autouse=True)
def _no_default_secrets_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A /run/secrets/sigil on the test machine must not leak into the tests."""
    monkeypatch.setattr(environment, "DEFAULT_SECRETS_DIR", tmp_path / "no-such-default-dir")


# ---------------------------------------------------------------------------------------------
# Files: *_FILE variables and the secrets directory


def test_file_variables(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"{TOKEN}\n")
    tenant_file = tmp_path / "tenant"
    tenant_file.write_text("  777  ")
    settings = load(
        {
            "SIGIL_AUTH_MODE": "basic",
            "SIGIL_AUTH_TOKEN_FILE": str(token_file),
            "SIGIL_AUTH_TENANT_ID_FILE": str(tenant_file),
        }
    )
    assert settings.auth_token == SecretStr(TOKEN)
    assert settings.auth_tenant_id == "777"


def test_secrets_directory(tmp_path: Path) -> None:
    (tmp_path / "SIGIL_AUTH_TOKEN").write_text(TOKEN + "\n")
    (tmp_path / "SIGIL_AUTH_TENANT_ID").write_text("dir-tenant")
    (tmp_path / "SIGIL_ENDPOINT").write_text("https://from-dir.example.com\n")
    (tmp_path / "unrelated.txt").write_text("ignored")
    settings = load({"SIGIL_SECRETS_DIR": str(tmp_path), "SIGIL_AUTH_MODE": "basic"})
    assert settings.auth_token == SecretStr(TOKEN)
    assert settings.auth_tenant_id == "dir-tenant"
    assert settings.endpoint == "https://from-dir.example.com"


def test_kubernetes_style_symlinked_secret(tmp_path: Path) -> None:
    """A mounted Secret: keys are symlinks into a timestamped ..data directory."""
    data = tmp_path / "..2026_01_01_00_00_00.123"
    data.mkdir()
    (data / "SIGIL_AUTH_TOKEN").write_text(TOKEN)
    (tmp_path / "..data").symlink_to(data.name)
    (tmp_path / "SIGIL_AUTH_TOKEN").symlink_to("..data/SIGIL_AUTH_TOKEN")
    assert load({"SIGIL_SECRETS_DIR": str(tmp_path), "SIGIL_AUTH_MODE": "bearer"}).auth_token == SecretStr(TOKEN)


def test_default_secrets_directory_is_read_when_it_exists(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(environment, "DEFAULT_SECRETS_DIR", tmp_path)
    (tmp_path / "SIGIL_AUTH_TOKEN").write_text(TOKEN)
    assert load({"SIGIL_AUTH_MODE": "bearer"}).auth_token == SecretStr(TOKEN)
    # ... and a token lying there while no auth mode is set is the SDK's silent failure: an error
    message = assert_clean(config_error({}))
    assert f"SIGIL_AUTH_TOKEN (from {tmp_path / 'SIGIL_AUTH_TOKEN'}) is set but would not be sent" in message


def test_precedence_environment_then_file_then_directory(tmp_path: Path) -> None:
    directory = tmp_path / "dir"
    directory.mkdir()
    (directory / "SIGIL_AGENT_NAME").write_text("from-dir")
    (directory / "SIGIL_AGENT_VERSION").write_text("from-dir")
    (directory / "SIGIL_USER_ID").write_text("from-dir")
    version_file = tmp_path / "version"
    version_file.write_text("from-file")
    settings = load(
        {
            "SIGIL_SECRETS_DIR": str(directory),
            "SIGIL_AGENT_NAME": "from-env",
            "SIGIL_AGENT_VERSION_FILE": str(version_file),
        }
    )
    assert (settings.agent_name, settings.agent_version, settings.user_id) == ("from-env", "from-file", "from-dir")


def test_empty_files_count_as_unset(tmp_path: Path) -> None:
    (tmp_path / "SIGIL_AUTH_TOKEN").write_text("\n")
    message = assert_clean(config_error({"SIGIL_SECRETS_DIR": str(tmp_path), "SIGIL_AUTH_MODE": "bearer"}))
    assert "SIGIL_AUTH_TOKEN is not set" in message


def test_a_bad_value_from_a_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "SIGIL_BATCH_SIZE").write_text("lots")
    (tmp_path / "SIGIL_AUTH_TOKEN").write_text(f"{TOKEN}\r\nsecond line")
    env = {"SIGIL_SECRETS_DIR": str(tmp_path), "SIGIL_AUTH_MODE": "bearer"}
    message = assert_clean(config_error(env), "second line")
    assert f"SIGIL_BATCH_SIZE='lots' (from {tmp_path / 'SIGIL_BATCH_SIZE'})" in message
    assert f"SIGIL_AUTH_TOKEN (value hidden, from {tmp_path / 'SIGIL_AUTH_TOKEN'})" in message


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"\xff\xfe\x00bad", "not UTF-8 text"), (b"x" * (64 * 1024 + 1), "larger than 64 KiB")],
)
def test_unreadable_files(tmp_path: Path, content: bytes, reason: str) -> None:
    bad = tmp_path / "token"
    bad.write_bytes(content)
    message = assert_clean(config_error({"SIGIL_AUTH_MODE": "bearer", "SIGIL_AUTH_TOKEN_FILE": str(bad)}))
    assert message.startswith(f"{PREFIX}SIGIL_AUTH_TOKEN_FILE='{bad}'") and reason in message
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "SIGIL_AUTH_TOKEN").write_bytes(content)
    message = assert_clean(config_error({"SIGIL_AUTH_MODE": "bearer", "SIGIL_SECRETS_DIR": str(tmp_path / "dir")}))
    assert message.startswith(f"{PREFIX}SIGIL_SECRETS_DIR=")
    assert f"cannot read SIGIL_AUTH_TOKEN in it ({reason})" in message


# ---------------------------------------------------------------------------------------------
# SIGIL_ENABLED=false: nothing else is read


@pytest.mark.parametrize("word", ["false", "0", "no", "OFF"])
def test_disabled_ignores_every_other_variable(word: str, tmp_path: Path) -> None:
    settings = load(
        {
            "SIGIL_ENABLED": word,
            "SIGIL_AUTH_MODE": "bearr",
            "SIGIL_BATCH_SIZE": "lots",
            "SIGIL_AUTH_TOKEN_FILE": "/nonexistent",
            "SIGIL_SECRETS_DIR": "/nonexistent",
            "SIGIL_AGENT_NAME": "ignored",
        }
    )
    assert settings.enabled is False
    assert settings.auth_mode == "none" and settings.agent_name == ""


def test_disabled_by_file(tmp_path: Path) -> None:
    (tmp_path / "SIGIL_ENABLED").write_text("false\n")
    assert load({"SIGIL_SECRETS_DIR": str(tmp_path), "SIGIL_AUTH_MODE": "bearer"}).enabled is False


# ---------------------------------------------------------------------------------------------
# Unknown names, and directories that cannot be looked into


def test_unknown_variables() -> None:
    env = {
        "SIGIL_AUTH_TOKN": "x",
        "SIGIL_AUTH_TOKEN_FILE": "/x",
        "SIGIL_ENDPOINT": "h:1",
        "SIGIL_SECRETS_DIR_FILE": "/x",
        "SIGIL_INGEST_ACTOR": "sdk-only",
        "OTHER": "x",
    }
    assert unknown_variables(env) == ["SIGIL_AUTH_TOKN", "SIGIL_INGEST_ACTOR", "SIGIL_SECRETS_DIR_FILE"]


def test_directories_that_cannot_be_looked_into(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """is_dir/is_file raise on EACCES (a mount the proxy's user may not search): one line, no traceback."""
    real_is_file, real_is_dir = Path.is_file, Path.is_dir

    def denied(path: Path, real: Any) -> Any:
        if "locked" in path.parts:
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(Path, "is_file", lambda self: denied(self, real_is_file))
    monkeypatch.setattr(Path, "is_dir", lambda self: denied(self, real_is_dir))
    message = assert_clean(config_error({"SIGIL_SECRETS_DIR": str(tmp_path / "locked")}))
    assert message.endswith("— accepted: an existing directory (Permission denied)")
    monkeypatch.setattr(environment, "DEFAULT_SECRETS_DIR", tmp_path / "locked")
    message = assert_clean(config_error({}))
    assert (
        message == f"{PREFIX}SIGIL_SECRETS_DIR='{tmp_path / 'locked'}' — the default cannot be read (Permission denied)"
    )
    monkeypatch.setattr(environment, "DEFAULT_SECRETS_DIR", tmp_path / "none")
    (tmp_path / "open").mkdir()

    def token_denied(path: Path) -> bool:
        if path.name == "SIGIL_AUTH_TOKEN":
            raise PermissionError(13, "Permission denied")
        return bool(real_is_file(path))

    monkeypatch.setattr(Path, "is_file", token_denied)
    message = assert_clean(config_error({"SIGIL_SECRETS_DIR": str(tmp_path / "open"), "SIGIL_AUTH_MODE": "bearer"}))
    assert (
        f"SIGIL_SECRETS_DIR='{tmp_path / 'open'}' — cannot read SIGIL_AUTH_TOKEN in it (Permission denied)" in message
    )


# ---------------------------------------------------------------------------------------------
# The migration window: AGENTO11Y_* names are aliases of every SIGIL_* variable


def as_agento11y(env: dict[str, str]) -> dict[str, str]:
    """The SIGIL_* names as the successor SDK spells them (the OpenTelemetry names stay)."""
    return {
        ("AGENTO11Y_" + name.removeprefix("SIGIL_") if name.startswith("SIGIL_") else name): value
        for name, value in env.items()
    }


def test_every_sigil_variable_has_an_agento11y_alias(tmp_path: Path) -> None:
    env = dict(EVERY_VARIABLE, SIGIL_SECRETS_DIR=str(tmp_path))
    assert load(as_agento11y(env)) == load(env)
    assert load(as_agento11y(env)).notices() == load(env).notices()
    assert unknown_variables(as_agento11y(env)) == []
    # the OpenTelemetry names have none
    assert load({"AGENTO11Y_OTEL_SERVICE_NAME": "gw"}).otel_service_name == ""


def test_the_sigil_name_wins_and_the_pair_is_named() -> None:
    settings = load({"SIGIL_PROTOCOL": "http", "AGENTO11Y_PROTOCOL": "grpc", "AGENTO11Y_AGENT_NAME": "a"})
    assert (settings.protocol, settings.agent_name) == ("http", "a")
    assert "SIGIL_PROTOCOL and AGENTO11Y_PROTOCOL are both set: SIGIL_PROTOCOL is used" in settings.notices()
    assert not any("AGENT_NAME" in notice for notice in settings.notices())


def test_alias_file_variables_and_secrets_directory(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n")
    (tmp_path / "AGENTO11Y_AUTH_TENANT_ID").write_text("77")
    settings = load(
        {
            "AGENTO11Y_AUTH_MODE": "basic",
            "AGENTO11Y_AUTH_TOKEN_FILE": str(tmp_path / "token"),
            "AGENTO11Y_SECRETS_DIR": str(tmp_path),
        }
    )
    assert settings.auth_token is not None and settings.auth_token.get_secret_value() == TOKEN
    assert (settings.auth_tenant_id, settings.secrets_dir) == ("77", tmp_path)
    # SIGIL_AUTH_TOKEN_FILE wins over the alias's variable, and the pair is named
    (tmp_path / "other").write_text("tok-other")
    both = load(
        {"AGENTO11Y_AUTH_TOKEN": TOKEN, "SIGIL_AUTH_TOKEN_FILE": str(tmp_path / "other"), "SIGIL_AUTH_MODE": "bearer"}
    )
    assert both.auth_token is not None and both.auth_token.get_secret_value() == "tok-other"
    assert "SIGIL_AUTH_TOKEN and AGENTO11Y_AUTH_TOKEN are both set: SIGIL_AUTH_TOKEN is used" in both.notices()


def test_a_bad_alias_value_names_both_names_in_one_line() -> None:
    message = assert_clean(config_error({"AGENTO11Y_PROTOCOL": "grcp"}))
    assert message == PREFIX + "SIGIL_PROTOCOL='grcp' (from AGENTO11Y_PROTOCOL) — accepted: grpc, http"
    message = assert_clean(config_error({"AGENTO11Y_AUTH_MODE": "bearer", "AGENTO11Y_AUTH_TOKEN": "a\nb"}))
    assert "SIGIL_AUTH_TOKEN (value hidden, from AGENTO11Y_AUTH_TOKEN)" in message


def test_alias_disables_too() -> None:
    assert load({"AGENTO11Y_ENABLED": "false", "AGENTO11Y_AUTH_MODE": "bearer"}).enabled is False


def test_unknown_alias_names_are_reported() -> None:
    assert unknown_variables({"AGENTO11Y_ENDPONT": "x", "AGENTO11Y_ENDPOINT": "y", "OTHER": "z"}) == [
        "AGENTO11Y_ENDPONT"
    ]
