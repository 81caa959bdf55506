"""The proxy's Sigil callback, built from ``SIGIL_*`` variables (what ``sigil_callback.py`` calls).

``bootstrap_from_env()`` reads :class:`~sigil_sdk_litellm.settings.Settings`, builds a
``sigil_sdk.Client`` from an explicit ``ClientConfig`` (nothing is left to the SDK's own reading of
the environment), arranges for ``client.shutdown()`` to flush what is queued when the proxy stops
(see :func:`_flush_at_exit`), and returns the LiteLLM callback. A configuration error stops the proxy
at start with one line on stderr; ``SIGIL_ENABLED=false`` returns a callback that does nothing.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import inspect
import logging
import os
import sys
import threading
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from litellm.integrations.custom_logger import CustomLogger
from sigil_sdk import ApiConfig, AuthConfig, Client, ClientConfig, ContentCaptureMode, GenerationExportConfig

from .settings import ConfigError, Settings, unknown_variables

if TYPE_CHECKING:
    from .handler import SigilLiteLLMLogger

__all__ = [
    "SigilDisabledLogger",
    "bootstrap_from_env",
    "build_client",
    "build_handler",
    "load_settings",
]

logger = logging.getLogger("sigil_sdk_litellm.bootstrap")

# The exit status of a worker that cannot start. uvicorn's supervisor (STARTUP_FAILURE) and gunicorn's
# arbiter (WORKER_BOOT_ERROR) both read 3 as "failed to boot: stop the server"; any other status makes
# them start the worker again, forever.
EXIT_STARTUP_FAILURE = 3
# The exit status outside the proxy (a plain ``import sigil_callback``): a usage/configuration error.
EXIT_CONFIG_ERROR = 2

_PACKAGE_LOGGERS = ("sigil_sdk_litellm", "sigil_sdk")


class SigilDisabledLogger(CustomLogger):  # type: ignore[misc]
    """The callback when ``SIGIL_ENABLED=false``: LiteLLM needs an object to load, this one does nothing.

    (``callbacks: sigil_callback.sigil_handler`` resolving to ``None`` stops LiteLLM 1.108's proxy at
    start: "neither a CustomLogger instance nor a callable".) Every hook is CustomLogger's no-op.
    """

    def __repr__(self) -> str:
        return "SigilDisabledLogger()"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings of ``env`` (default ``os.environ``); raises :class:`ConfigError`.

    Warns (names only, never values) about ``SIGIL_*`` variables that are no setting, and about
    settings that are valid but probably not meant.
    """
    settings = Settings.from_env(env)
    unknown = unknown_variables(os.environ if env is None else env)
    if unknown:
        logger.warning(
            "sigil: ignoring %s: not a setting of this proxy (see the configuration table in the README)",
            ", ".join(unknown),
        )
    for notice in settings.notices():
        logger.warning("sigil: %s", notice)
    return settings


def build_client(settings: Settings) -> Client:
    """A ``sigil_sdk.Client`` configured by ``settings`` alone.

    Every field the SDK would otherwise fill from ``SIGIL_*`` variables is set explicitly. (One the
    SDK reads regardless: it merges ``os.environ["SIGIL_TAGS"]`` under the configured tags, which adds
    nothing when the settings were read from ``os.environ``, as in the proxy.) With ``SIGIL_DEBUG``
    the loggers ``sigil_sdk`` and ``sigil_sdk_litellm`` are set to DEBUG.
    """
    if settings.debug:
        for name in _PACKAGE_LOGGERS:
            logging.getLogger(name).setLevel(logging.DEBUG)
    token = settings.auth_token.get_secret_value() if settings.auth_token is not None else ""
    tenant = settings.auth_tenant_id
    auth = AuthConfig(
        mode=settings.auth_mode,
        tenant_id=tenant,
        # Both token fields, whatever the mode: the SDK fills an empty one from SIGIL_AUTH_TOKEN itself.
        bearer_token=token,
        basic_user=tenant if settings.auth_mode == "basic" else "",
        basic_password=token,
    )
    export = GenerationExportConfig(
        protocol=settings.protocol,
        endpoint=settings.endpoint,
        headers={name: value.get_secret_value() for name, value in settings.headers.items()},
        auth=auth,
        insecure=settings.insecure,
        batch_size=settings.batch_size,
        flush_interval=timedelta(seconds=settings.flush_interval),
        queue_size=settings.queue_size,
        max_retries=settings.max_retries,
        initial_backoff=timedelta(seconds=settings.initial_backoff),
        max_backoff=timedelta(seconds=settings.max_backoff),
    )
    config = ClientConfig(
        generation_export=export,
        api=ApiConfig(endpoint=settings.endpoint),
        content_capture=ContentCaptureMode(settings.content_capture_mode),
        agent_name=settings.agent_name,
        agent_version=settings.agent_version,
        user_id=settings.user_id,
        tags=dict(settings.tags),
        ingest_actor="",
        debug=settings.debug,
        use_experimental_otel=False,
        logger=logging.getLogger("sigil_sdk"),
    )
    return Client(config)


def build_handler(settings: Settings, client: Client) -> SigilLiteLLMLogger:
    """The LiteLLM callback recording into ``client`` with the handler options of ``settings``."""
    from .handler import SigilLiteLLMLogger

    return SigilLiteLLMLogger(
        client=client,
        capture_inputs=settings.capture_inputs,
        capture_outputs=settings.capture_outputs,
        agent_name=settings.agent_name,
        agent_version=settings.agent_version,
        conversation_id=settings.conversation_id,
        extra_metadata=dict(settings.extra_metadata),
    )


_lock = threading.Lock()
_bootstrapped: CustomLogger | None = None


def bootstrap_from_env(*, hard_exit: bool | None = None) -> CustomLogger:
    """The proxy's callback from the environment, built once per process.

    LiteLLM executes ``sigil_callback.py`` afresh each time it resolves the callback from a file
    next to config.yaml, so the result is kept here: one client, one exit hook per process.

    On a :class:`ConfigError` the one-line message goes to stderr and the process ends. Inside the
    LiteLLM proxy (``hard_exit=None`` detects it) that is ``os._exit(3)``, see :func:`_exit`;
    elsewhere (or ``hard_exit=False``) ``SystemExit(2)`` is raised.
    """
    global _bootstrapped
    with _lock:
        if _bootstrapped is None:
            _bootstrapped = _bootstrap(hard_exit)
        return _bootstrapped


def _bootstrap(hard_exit: bool | None) -> CustomLogger:
    _ensure_log_output()
    try:
        settings = load_settings()
    except ConfigError as error:
        _exit(error, hard_exit)
    if not settings.enabled:
        logger.warning("sigil: SIGIL_ENABLED=false: the proxy runs without Sigil telemetry")
        return SigilDisabledLogger()
    client = build_client(settings)
    _flush_at_exit(client)
    handler = build_handler(settings, client)
    logger.info(
        "sigil: exporting generations to %s over %s (auth: %s)",
        settings.endpoint,
        settings.protocol,
        settings.auth_mode,
    )
    return handler


def _exit(error: ConfigError, hard_exit: bool | None) -> NoReturn:
    print(str(error), file=sys.stderr)
    if hard_exit is None:
        hard_exit = "litellm.proxy.proxy_server" in sys.modules
    if hard_exit:
        # Why not SystemExit: LiteLLM loads callbacks inside the ASGI app's startup, and Starlette's
        # lifespan catches BaseException. Measured with LiteLLM 1.108.5: a SystemExit there prints a
        # traceback of ~350 lines after our line (~800 with gunicorn) before uvicorn gives up. The
        # worker then exits 3, yet with `--num_workers N` uvicorn's parent exits 0.
        # os._exit(3) ends this process at once with the one line as the last word; 3 is the status
        # uvicorn and gunicorn take for "worker failed to boot", so with several workers the server
        # stops instead of restarting the worker in a loop (any other status would do that). Nothing
        # is lost: the proxy has not started serving, and no Sigil client exists yet.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_STARTUP_FAILURE)
    raise SystemExit(EXIT_CONFIG_ERROR)


def _flush_at_exit(client: Client) -> None:
    """Flush ``client`` when the process stops: at the proxy's shutdown, and at interpreter exit.

    atexit alone is not enough in the proxy. On SIGTERM (``docker stop``, Kubernetes) uvicorn shuts
    the app down gracefully, then restores the default SIGTERM disposition and raises the signal
    again so the process ends "killed by SIGTERM": atexit handlers never run (measured with LiteLLM
    1.108.5 / uvicorn 0.54: a generation queued with a long SIGIL_FLUSH_INTERVAL was lost). So, in
    the proxy, the flush is chained after LiteLLM's ``proxy_shutdown_event``, which its lifespan
    calls once in-flight requests have finished. atexit still covers Ctrl-C, plain Python use and
    servers that exit normally; ``client.shutdown()`` runs once whichever comes first.
    """
    atexit.register(_shutdown, client)
    proxy_server = sys.modules.get("litellm.proxy.proxy_server")
    if proxy_server is None:
        return
    original = getattr(proxy_server, "proxy_shutdown_event", None)
    if original is None or not inspect.iscoroutinefunction(original):
        logger.warning(
            "sigil: cannot hook the LiteLLM proxy's shutdown (no proxy_shutdown_event): generations queued "
            "when the proxy is stopped by SIGTERM may be lost"
        )
        return

    @functools.wraps(original)
    async def proxy_shutdown_event(*args: Any, **kwargs: Any) -> Any:
        try:
            return await original(*args, **kwargs)
        finally:
            await asyncio.to_thread(_shutdown, client)

    setattr(proxy_server, "proxy_shutdown_event", proxy_shutdown_event)  # noqa: B010 - a module we do not type


def _shutdown(client: Client) -> None:
    """Export what is still queued, then close the client (a no-op once done)."""
    try:
        client.shutdown()
    except Exception as exc:  # noqa: BLE001 - the process is stopping; say what was lost, do not raise
        logger.warning("sigil: flushing generations at exit failed: %s", exc)


def _ensure_log_output() -> None:
    """Make the package's log lines visible in the proxy.

    The LiteLLM proxy configures no root handler: INFO lines would vanish and warnings print bare.
    When nothing is configured, the package loggers get a stderr handler of their own.
    """
    if logging.getLogger().handlers:
        return
    for name in _PACKAGE_LOGGERS:
        package_logger = logging.getLogger(name)
        if package_logger.handlers:
            continue
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s - %(levelname)s: %(message)s", "%H:%M:%S"))
        package_logger.addHandler(handler)
        package_logger.propagate = False
        if package_logger.level == logging.NOTSET:
            package_logger.setLevel(logging.INFO if name == "sigil_sdk_litellm" else logging.WARNING)
