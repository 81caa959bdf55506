"""The env-driven bootstrap: the client it builds (checked on the wire), the handler, the exit paths."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import runpy
import secrets
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litellm.integrations.custom_logger import CustomLogger
from sigil_sdk import Client, ContentCaptureMode, GenerationStart, ModelRef

from sigil_sdk_litellm.proxy import bootstrap
from sigil_sdk_litellm.proxy.bootstrap import (
    SigilDisabledLogger,
    bootstrap_from_env,
    build_client,
    build_handler,
    load_settings,
)
from sigil_sdk_litellm.proxy.export.delivery import DeliveryExporter
from sigil_sdk_litellm.proxy.export.transport import GrpcTransport, HttpTransport
from sigil_sdk_litellm.proxy.settings import ConfigError, Settings
from sigil_sdk_litellm.proxy.settings import environment as settings_environment
from tests.capture_sink import CaptureSink
from tests.support import callback_kwargs, chat_response
from tests.unit.proxy.settings.test_settings import INVALID

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "tok-" + secrets.token_hex(12)


@pytest.fixture(autouse=True)
def _fresh_bootstrap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[Callable[..., Any]]]:
    """No cached handler between tests, no default secrets dir, and exit hooks run by the test."""
    monkeypatch.setattr(bootstrap, "_bootstrapped", None)
    monkeypatch.setattr(settings_environment, "DEFAULT_SECRETS_DIR", tmp_path / "no-such-default-dir")
    # these tests look at the in-process client; the recorder process has tests of its own below
    monkeypatch.setenv("SIGIL_RECORDER", "inprocess")
    # bootstrap chains a flush into the proxy's shutdown event when the proxy module is loaded
    # (another test may have imported it): restore it after each test.
    proxy_server = sys.modules.get("litellm.proxy.proxy_server")
    if proxy_server is not None and hasattr(proxy_server, "proxy_shutdown_event"):
        monkeypatch.setattr(proxy_server, "proxy_shutdown_event", proxy_server.proxy_shutdown_event)
    hooks: list[Callable[..., Any]] = []
    monkeypatch.setattr(bootstrap.atexit, "register", lambda fn, *args: hooks.append(lambda: fn(*args)))
    yield hooks
    for hook in hooks:  # what atexit would do: flush and close the clients the test created
        hook()


@pytest.fixture
def exit_hooks(_fresh_bootstrap: list[Callable[..., Any]]) -> list[Callable[..., Any]]:
    return _fresh_bootstrap


@pytest.fixture
def sink() -> Iterator[CaptureSink]:
    with CaptureSink() as capture:
        yield capture


@pytest.fixture
def sdk_loggers() -> Iterator[None]:
    """Restore the levels build_client(debug=True) sets on the package loggers."""
    saved = {name: logging.getLogger(name).level for name in ("sigil_sdk", "sigil_sdk_litellm")}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def export_one(client: Client) -> None:
    with client.start_generation(GenerationStart(model=ModelRef(provider="openai", name="m"))):
        pass
    client.flush()


def http_env(sink: CaptureSink, **env: str) -> dict[str, str]:
    return {"SIGIL_PROTOCOL": "http", "SIGIL_ENDPOINT": sink.url, **env}


# ---------------------------------------------------------------------------------------------
# build_client: what reaches the wire for each auth mode


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


AUTH_CASES = [
    ("none", {}, {}, ["Authorization", "X-Scope-OrgID"]),
    ("tenant", {"SIGIL_AUTH_TENANT_ID": "tenant-7"}, {"X-Scope-OrgID": "tenant-7"}, ["Authorization"]),
    ("bearer", {"SIGIL_AUTH_TOKEN": TOKEN}, {"Authorization": f"Bearer {TOKEN}"}, ["X-Scope-OrgID"]),
    (
        "basic",
        {"SIGIL_AUTH_TENANT_ID": "123456", "SIGIL_AUTH_TOKEN": TOKEN},
        {"Authorization": basic("123456", TOKEN), "X-Scope-OrgID": "123456"},
        [],
    ),
]


@pytest.mark.parametrize(("mode", "env", "present", "absent"), AUTH_CASES, ids=[c[0] for c in AUTH_CASES])
def test_http_export_carries_the_auth_headers(
    sink: CaptureSink, mode: str, env: dict[str, str], present: dict[str, str], absent: list[str]
) -> None:
    settings = load_settings(http_env(sink, SIGIL_AUTH_MODE=mode, SIGIL_HEADERS="X-Team=ml", **env))
    client = build_client(settings)
    try:
        delivery = client._generation_exporter
        assert isinstance(delivery, DeliveryExporter)
        assert isinstance(delivery.transport, HttpTransport)
        export_one(client)
    finally:
        client.shutdown()
    assert len(sink.exports) == 1
    request = sink.exports[0]
    assert request.path == "/api/v1/generations:export"
    headers = {k.lower(): v for k, v in request.headers.items()}
    for name, value in present.items():
        assert headers[name.lower()] == value
    for name in absent:
        assert name.lower() not in headers
    assert headers["x-team"] == "ml"


def test_grpc_client_has_the_same_headers() -> None:
    settings = load_settings(
        {
            "SIGIL_ENDPOINT": "127.0.0.1:9",
            "SIGIL_INSECURE": "true",
            "SIGIL_AUTH_MODE": "basic",
            "SIGIL_AUTH_TENANT_ID": "123456",
            "SIGIL_AUTH_TOKEN": TOKEN,
            "SIGIL_HEADERS": "X-Team=ml",
        }
    )
    client = build_client(settings)
    try:
        delivery = client._generation_exporter
        assert isinstance(delivery, DeliveryExporter)
        assert isinstance(delivery.transport, GrpcTransport)
        assert delivery.transport.plaintext
        assert dict(delivery.transport._metadata) == {
            "x-team": "ml",
            "authorization": basic("123456", TOKEN),
            "x-scope-orgid": "123456",
        }
        export_config = client._config.generation_export
        assert (export_config.protocol, export_config.endpoint, export_config.insecure) == ("grpc", "127.0.0.1:9", True)
        assert export_config.headers == {
            "X-Team": "ml",
            "Authorization": basic("123456", TOKEN),
            "X-Scope-OrgID": "123456",
        }
    finally:
        client.shutdown()


def test_client_carries_every_setting(sink: CaptureSink, sdk_loggers: None) -> None:
    env = http_env(
        sink,
        SIGIL_AGENT_NAME="gateway",
        SIGIL_AGENT_VERSION="2.0",
        SIGIL_USER_ID="service-user",
        SIGIL_TAGS="team=ml,env=prod",
        SIGIL_CONTENT_CAPTURE_MODE="metadata_only",
        SIGIL_BATCH_SIZE="7",
        SIGIL_FLUSH_INTERVAL="30",
        SIGIL_QUEUE_SIZE="70",
        SIGIL_MAX_RETRIES="2",
        SIGIL_INITIAL_BACKOFF="0.2",
        SIGIL_MAX_BACKOFF="0.8",
        SIGIL_DEBUG="true",
    )
    client = build_client(load_settings(env))
    try:
        config = client._config
        export = config.generation_export
        assert (export.batch_size, export.queue_size, export.max_retries) == (7, 70, 2)
        assert export.flush_interval == timedelta(seconds=30)
        assert (export.initial_backoff, export.max_backoff) == (timedelta(seconds=0.2), timedelta(seconds=0.8))
        assert config.content_capture == ContentCaptureMode.METADATA_ONLY
        assert (config.agent_name, config.agent_version, config.user_id) == ("gateway", "2.0", "service-user")
        assert config.debug is True
        assert logging.getLogger("sigil_sdk").level == logging.DEBUG
        assert logging.getLogger("sigil_sdk_litellm").level == logging.DEBUG
        export_one(client)
    finally:
        client.shutdown()
    (generation,) = sink.generations()
    assert generation["tags"] == {"team": "ml", "env": "prod"}
    assert generation["agent_name"] == "gateway"
    assert generation["agent_version"] == "2.0"
    assert generation["metadata"]["sigil.user.id"] == "service-user"


def test_nothing_is_left_to_the_sdks_env_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK would fill unset ClientConfig fields from SIGIL_* itself: build_client sets them all."""
    for name, value in {
        "SIGIL_ENDPOINT": "elsewhere:1",
        "SIGIL_PROTOCOL": "http",
        "SIGIL_INSECURE": "true",
        "SIGIL_HEADERS": "X-From-Env=1",
        "SIGIL_AUTH_MODE": "tenant",
        "SIGIL_AUTH_TENANT_ID": "env-tenant",
        "SIGIL_AGENT_NAME": "env-agent",
        "SIGIL_AGENT_VERSION": "env-version",
        "SIGIL_USER_ID": "env-user",
        "SIGIL_CONTENT_CAPTURE_MODE": "full",
        "SIGIL_DEBUG": "true",
        "SIGIL_INGEST_ACTOR": "env-actor",
        "SIGIL_USE_EXPERIMENTAL_OTEL": "true",
    }.items():
        monkeypatch.setenv(name, value)
    client = build_client(Settings.from_env({}))
    try:
        config = client._config
        export = config.generation_export
        assert (export.endpoint, export.protocol, export.insecure) == ("localhost:4317", "grpc", False)
        assert export.headers == {}
        assert export.auth.mode == "none"
        assert (config.agent_name, config.agent_version, config.user_id) == ("", "", "")
        assert config.content_capture == ContentCaptureMode.DEFAULT
        assert config.debug is False and config.use_experimental_otel is False and config.ingest_actor == ""
    finally:
        client.shutdown()


# ---------------------------------------------------------------------------------------------
# build_handler and bootstrap_from_env


def test_build_handler_passes_the_handler_options() -> None:
    settings = load_settings(
        {
            "SIGIL_CAPTURE_INPUTS": "false",
            "SIGIL_CAPTURE_OUTPUTS": "false",
            "SIGIL_AGENT_NAME": "gateway",
            "SIGIL_AGENT_VERSION": "2.0",
            "SIGIL_CONVERSATION_ID": "conv-default",
            "SIGIL_EXTRA_METADATA": '{"deployment": "eu-1"}',
        }
    )
    client = build_client(settings)
    try:
        handler = build_handler(settings, client)
        from sigil_sdk_litellm import SigilLiteLLMLogger

        assert isinstance(handler, SigilLiteLLMLogger)
        assert handler.client is client
        options = handler.options
        assert (options.capture_inputs, options.capture_outputs) == (False, False)
        assert (options.agent_name, options.agent_version) == ("gateway", "2.0")
        assert options.conversation_id == "conv-default"
        assert options.extra_metadata == {"deployment": "eu-1"}
    finally:
        client.shutdown()


def test_bootstrap_end_to_end(
    sink: CaptureSink, monkeypatch: pytest.MonkeyPatch, exit_hooks: list[Callable[..., Any]]
) -> None:
    """Environment → handler; a LiteLLM event → a generation; the exit hook exports it."""
    for name, value in http_env(
        sink,
        SIGIL_AUTH_MODE="bearer",
        SIGIL_AUTH_TOKEN=TOKEN,
        SIGIL_FLUSH_INTERVAL="3600",  # only the exit hook exports
        SIGIL_TAGS="team=ml",
        SIGIL_EXTRA_METADATA='{"deployment": "eu-1"}',
        SIGIL_AGENT_NAME="gateway",
        SIGIL_CONVERSATION_ID="conv-default",
    ).items():
        monkeypatch.setenv(name, value)
    handler = bootstrap_from_env(hard_exit=False)
    assert bootstrap_from_env(hard_exit=False) is handler, "built once per process"
    assert len(exit_hooks) == 1
    now = datetime.now()
    handler.log_success_event(callback_kwargs(), chat_response(), now, now)
    assert sink.generations() == []
    exit_hooks.pop()()  # the process exits
    (generation,) = sink.wait_for_generations(1)
    assert sink.exports[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert generation["tags"]["team"] == "ml"
    assert generation["metadata"]["deployment"] == "eu-1"
    assert generation["agent_name"] == "gateway"
    assert generation["conversation_id"] == "conv-default"
    assert generation["model"] == {"provider": "openai", "name": "gpt-4o-mini"}


def test_sigil_callback_module(sink: CaptureSink, monkeypatch: pytest.MonkeyPatch) -> None:
    """Executed as LiteLLM executes it (a file next to config.yaml, afresh each time): one handler."""
    for name, value in http_env(sink).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(bootstrap, "exit_at_startup", _no_exit)
    first = runpy.run_path(str(ROOT / "sigil_callback.py"))["sigil_handler"]
    second = runpy.run_path(str(ROOT / "sigil_callback.py"))["sigil_handler"]
    assert first is second
    assert isinstance(first, CustomLogger)
    assert type(first).__name__ == "SecretRedactingLogger"  # SIGIL_REDACT_SECRETS=full by default


def _no_exit(error: ConfigError, hard_exit: bool | None) -> None:
    raise AssertionError(f"unexpected configuration error: {error}")


def test_bad_configuration_exits_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], exit_hooks: list[Callable[..., Any]]
) -> None:
    monkeypatch.setenv("SIGIL_AUTH_MODE", "bearr")
    monkeypatch.setenv("SIGIL_HEADERS", f"Authorization=Bearer {TOKEN}")
    with pytest.raises(SystemExit) as caught:
        bootstrap_from_env(hard_exit=False)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err == "sigil: invalid configuration: SIGIL_AUTH_MODE='bearr' — accepted: none, tenant, bearer, basic\n"
    assert exit_hooks == [], "no client was built"
    assert bootstrap._bootstrapped is None


def test_bad_configuration_in_the_proxy_ends_the_process_with_status_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    exits: list[int] = []

    def fake_exit(status: int) -> None:
        exits.append(status)
        raise SystemExit(status)  # os._exit would end pytest itself

    monkeypatch.setattr(bootstrap.os, "_exit", fake_exit)
    monkeypatch.setenv("SIGIL_PROTOCOL", "udp")
    with pytest.raises(SystemExit):
        bootstrap_from_env(hard_exit=True)
    assert exits == [3]
    assert capsys.readouterr().err.startswith("sigil: invalid configuration: SIGIL_PROTOCOL='udp'")


def test_disabled(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, exit_hooks: list[Callable[..., Any]]
) -> None:
    monkeypatch.setenv("SIGIL_ENABLED", "false")
    monkeypatch.setenv("SIGIL_AUTH_MODE", "bearer")  # no token: ignored when disabled
    with caplog.at_level(logging.INFO, logger="sigil_sdk_litellm"):
        handler = bootstrap_from_env(hard_exit=False)
        assert bootstrap_from_env(hard_exit=False) is handler
    assert isinstance(handler, SigilDisabledLogger) and isinstance(handler, CustomLogger)
    assert repr(handler) == "SigilDisabledLogger()"
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("sigil_sdk_litellm")]
    assert messages == ["sigil: SIGIL_ENABLED=false: the proxy runs without Sigil telemetry"]
    assert exit_hooks == [], "no client, nothing to flush"


def test_enabled_logs_where_it_exports_without_secrets(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SIGIL_AUTH_MODE", "bearer")
    monkeypatch.setenv("SIGIL_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("SIGIL_AUTH_TENANT_ID", "42")  # a notice: ignored with bearer
    monkeypatch.setenv("SIGIL_AUTH_TOKN", "typo")  # an unknown variable: a warning naming it
    with caplog.at_level(logging.INFO, logger="sigil_sdk_litellm"):
        bootstrap_from_env(hard_exit=False)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("sigil_sdk_litellm")]
    assert messages == [
        "sigil: ignoring SIGIL_AUTH_TOKN: not a setting of this proxy (see the configuration table in the README)",
        "sigil: SIGIL_AUTH_TENANT_ID is ignored with SIGIL_AUTH_MODE=bearer "
        "(basic sends tenant and token; or add X-Scope-OrgID to SIGIL_HEADERS)",
        "sigil: exporting generations to localhost:4317 over grpc (auth: bearer, recorder: inprocess, spool: off, "
        "secrets redacted: full)",
    ]
    assert all(TOKEN not in r.getMessage() for r in caplog.records)


def test_a_failing_flush_at_exit_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def shutdown(self) -> None:
            raise RuntimeError("sink unreachable")

    with caplog.at_level(logging.WARNING, logger="sigil_sdk_litellm"):
        bootstrap._shutdown(Broken())  # type: ignore[arg-type]
    assert "sigil: flushing generations at exit failed: sink unreachable" in caplog.text


def test_flush_is_chained_after_the_proxys_shutdown_event(
    sink: CaptureSink, monkeypatch: pytest.MonkeyPatch, exit_hooks: list[Callable[..., Any]]
) -> None:
    """uvicorn ends the proxy on SIGTERM by re-raising the signal, so atexit never runs there."""
    calls: list[str] = []

    async def proxy_shutdown_event(worker_heartbeat: object = None) -> None:
        calls.append("litellm's shutdown")

    fake = types.ModuleType("litellm.proxy.proxy_server")
    fake.proxy_shutdown_event = proxy_shutdown_event  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "litellm.proxy.proxy_server", fake)
    for name, value in http_env(sink, SIGIL_FLUSH_INTERVAL="3600").items():
        monkeypatch.setenv(name, value)
    handler = bootstrap_from_env(hard_exit=False)
    now = datetime.now()
    handler.log_success_event(callback_kwargs(), chat_response(), now, now)
    assert sink.generations() == []
    wrapped = fake.proxy_shutdown_event  # type: ignore[attr-defined]
    assert wrapped is not proxy_shutdown_event and wrapped.__name__ == "proxy_shutdown_event"
    asyncio.run(wrapped(worker_heartbeat=None))
    assert calls == ["litellm's shutdown"]
    assert len(sink.generations()) == 1, "flushed once LiteLLM's own shutdown is done"
    assert len(exit_hooks) == 1, "atexit too, for the exits that run it"


def test_a_proxy_without_the_shutdown_event_gets_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "litellm.proxy.proxy_server", types.ModuleType("litellm.proxy.proxy_server"))
    with caplog.at_level(logging.WARNING, logger="sigil_sdk_litellm"):
        bootstrap_from_env(hard_exit=False)
    assert "cannot hook the LiteLLM proxy's shutdown" in caplog.text


def test_the_default_records_in_a_recorder_process_given_two_cpus(
    sink: CaptureSink, monkeypatch: pytest.MonkeyPatch, exit_hooks: list[Callable[..., Any]]
) -> None:
    from sigil_sdk_litellm.proxy import placement as _placement
    from sigil_sdk_litellm.proxy.offload.callback import OffloadingSigilLogger

    monkeypatch.setattr(_placement, "usable_cpus", lambda: 2.0)
    monkeypatch.delenv("SIGIL_RECORDER")
    for name, value in http_env(sink, SIGIL_AGENT_NAME="from-env", SIGIL_FLUSH_INTERVAL="3600").items():
        monkeypatch.setenv(name, value)
    handler = bootstrap_from_env(hard_exit=False)
    assert isinstance(handler, OffloadingSigilLogger)
    now = datetime.now()
    handler.log_success_event(callback_kwargs(), chat_response(), now, now)
    handler.log_failure_event(callback_kwargs(), None, now, now)
    assert len(exit_hooks) == 1
    exit_hooks.pop()()  # what the proxy's shutdown does: drain, let the recorder flush and exit
    assert handler.link.sent == 2 and handler.link.dropped == 0
    generations = sink.generations()
    assert len(generations) == 2
    assert {g["agent_name"] for g in generations} == {"from-env"}
    assert sum(1 for g in generations if g.get("call_error")) == 1


def test_recorder_process_configuration_errors_are_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from sigil_sdk_litellm.proxy.builders import recorder_from_env

    monkeypatch.setenv("SIGIL_AUTH_MODE", "bearr")
    with pytest.raises(ConfigError, match=r"^sigil: invalid configuration: SIGIL_AUTH_MODE='bearr'"):
        recorder_from_env()


# a real environment cannot hold a NUL byte (the settings table checks that row on a mapping)
IN_ENVIRON = [c for c in INVALID if not any("\x00" in v for v in c[1].values())]


@pytest.mark.parametrize(("env", "variable", "fragment"), [c[1:] for c in IN_ENVIRON], ids=[c[0] for c in IN_ENVIRON])
def test_every_invalid_configuration_stops_the_bootstrap_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    exit_hooks: list[Callable[..., Any]],
    env: dict[str, str],
    variable: str,
    fragment: str,
) -> None:
    """The settings table's invalid rows, through the proxy's start path: exit ≠ 0, one line naming
    the variable and what is accepted, nothing built."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as caught:
        bootstrap_from_env(hard_exit=False)
    assert caught.value.code not in (0, None)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("sigil: invalid configuration: ") and variable in err and fragment in err, err
    assert TOKEN not in err
    assert exit_hooks == []


def test_tenant_spool_directories_that_cannot_be_made_stop_the_start_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "tenants").write_text("not a directory")
    monkeypatch.setenv("SIGIL_SPOOL_DIR", str(spool))
    monkeypatch.setenv("SIGIL_TENANT_MAP", '{"team_id:t": {"tenant_id": "t", "token": "' + TOKEN + '"}}')
    with pytest.raises(SystemExit) as caught:
        bootstrap_from_env(hard_exit=False)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        f"sigil: invalid configuration: SIGIL_SPOOL_DIR='{spool}' — accepted: a directory where "
        "tenants/<tenant id>/ can be created (Not a directory)\n"
    )


# What a worker recording in process loads: neither the recorder hand-off nor the spool (sqlite3). Checked in
# a fresh interpreter, since this one imported both already. With secret redaction (the default) it loads the
# slim event alone of the hand-off's modules: it maps the slim copy of each event.
LOADED_BY_DEFAULT = """
import json, os, sys
os.environ.update(SIGIL_RECORDER="inprocess", SIGIL_ENDPOINT="127.0.0.1:9", SIGIL_INSECURE="true")
import sigil_callback
print(type(sigil_callback.sigil_handler).__name__)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "sqlite3" or m.startswith(SPOOL_OR_LINK))))
"""
SLIM_EVENT = ["sigil_sdk_litellm.proxy.offload", "sigil_sdk_litellm.proxy.offload.slim_event"]


@pytest.mark.parametrize(
    ("spool", "redact", "handler", "loaded"),
    [
        (False, "off", "SigilLiteLLMLogger", []),
        (True, "off", "OffloadingSigilLogger", ["sqlite3", "sigil_sdk_litellm.proxy.offload"]),
        (False, "full", "SecretRedactingLogger", SLIM_EVENT),
    ],
)
def test_in_process_without_a_spool_loads_neither_the_spool_nor_the_recorder_link(
    tmp_path: Path, spool: bool, redact: str, handler: str, loaded: list[str]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGIL_", "AGENTO11Y_"))}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    env["SIGIL_REDACT_SECRETS"] = redact
    if spool:
        env["SIGIL_SPOOL_DIR"] = str(tmp_path / "spool")
    code = LOADED_BY_DEFAULT.replace(
        "SPOOL_OR_LINK", repr(("sigil_sdk_litellm.proxy.spool", "sigil_sdk_litellm.proxy.offload"))
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    name, modules = done.stdout.splitlines()[-2:]
    assert name == handler
    found = json.loads(modules)
    assert all(any(m == want or m.startswith(want + ".") for m in found) for want in loaded), found
    assert bool(found) == bool(loaded), found
    if loaded == SLIM_EVENT:
        assert found == SLIM_EVENT, found
