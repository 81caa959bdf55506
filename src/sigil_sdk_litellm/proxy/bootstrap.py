"""The proxy's Sigil callback, built from ``SIGIL_*`` variables (what ``sigil_callback.py`` calls).

``bootstrap_from_env()`` reads :class:`~sigil_sdk_litellm.proxy.settings.Settings`, builds a
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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from litellm.integrations.custom_logger import CustomLogger
from sigil_sdk import Client

from sigil_sdk_litellm.proxy.builders import (
    RECORDER_TENANT_ENV,
    build_client,
    build_recorder,
    build_tenant_router,
    handler_options,
    recorder_from_env,
    tenant_settings,
)
from sigil_sdk_litellm.proxy.handoff.recorder_settings import HANDOVER_VARIABLE, handover_file
from sigil_sdk_litellm.proxy.log_output import ensure_log_output
from sigil_sdk_litellm.proxy.metrics import pipeline_metrics
from sigil_sdk_litellm.proxy.placement import proxy_workers, resolve_recorder, usable_cpus
from sigil_sdk_litellm.proxy.secret_redaction import build_secret_redactor
from sigil_sdk_litellm.proxy.settings import ConfigError, SettingProblem, Settings
from sigil_sdk_litellm.proxy.settings.loading import load_settings
from sigil_sdk_litellm.proxy.startup_failure import exit_at_startup
from sigil_sdk_litellm.proxy.telemetry.lifecycle import shutdown_within
from sigil_sdk_litellm.proxy.tenants.router import TenantRouter
from sigil_sdk_litellm.recording import DEFAULT_TENANT

if TYPE_CHECKING:
    from sigil_sdk_litellm.handler import SigilLiteLLMLogger
    from sigil_sdk_litellm.proxy.offload.pipe import RecorderLink
    from sigil_sdk_litellm.proxy.spool.worker_side import SpoolLink

# The hand-off to a recorder process and the spool (sqlite3) are imported where they are used: a worker
# recording in process without a spool loads neither (0.8 MiB of sqlite3 alone, docs/memory.md).

__all__ = [
    "SigilDisabledLogger",
    "bootstrap_from_env",
    "build_client",
    "build_handler",
    "build_recorder_link",
    "build_spool_link",
    "handler_options",
    "load_settings",
    "recorder_from_env",
    "register_hooks_guardrail",
]

logger = logging.getLogger("sigil_sdk_litellm.proxy.bootstrap")


class SigilDisabledLogger(CustomLogger):  # type: ignore[misc]
    """The callback when ``SIGIL_ENABLED=false``: LiteLLM needs an object to load, this one does nothing.

    (``callbacks: sigil_callback.sigil_handler`` resolving to ``None`` stops LiteLLM 1.108's proxy at
    start: "neither a CustomLogger instance nor a callable".) Every hook is CustomLogger's no-op.
    """

    def __repr__(self) -> str:
        return "SigilDisabledLogger()"


def build_handler(
    settings: Settings,
    client: Client,
    *,
    router: TenantRouter[Client] | None = None,
    redactor: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> SigilLiteLLMLogger:
    """The LiteLLM callback recording into ``client`` (or, with ``router``, its tenants') with the handler
    options of ``settings``; with SIGIL_REDACT_SECRETS, the handler that records each event redacted (by
    ``redactor`` when the caller built it already)."""
    from sigil_sdk_litellm.handler import SigilLiteLLMLogger
    from sigil_sdk_litellm.proxy.export.direct import DirectWriter

    # in process, generations go past the client straight into its delivery buffer (export.direct)
    writer = DirectWriter()
    if redactor is None:
        redactor = build_secret_redactor(settings.redact_secrets)
    if redactor is not None:
        from sigil_sdk_litellm.proxy.redacting_handler import SecretRedactingLogger

        return SecretRedactingLogger(
            client=client, options=handler_options(settings), redactor=redactor, router=router, writer=writer
        )
    return SigilLiteLLMLogger(client=client, options=handler_options(settings), router=router, writer=writer)


_lock = threading.Lock()
_bootstrapped: CustomLogger | None = None


def bootstrap_from_env(*, hard_exit: bool | None = None) -> CustomLogger:
    """The proxy's callback from the environment, built once per process.

    LiteLLM executes ``sigil_callback.py`` afresh each time it resolves the callback from a file
    next to config.yaml, so the result is kept here: one client, one exit hook per process.

    On a :class:`ConfigError` the one-line message goes to stderr and the process ends. Inside the
    LiteLLM proxy (``hard_exit=None`` detects it) that is ``os._exit(3)``, elsewhere (or ``hard_exit=False``)
    ``SystemExit(2)`` is raised (:func:`~sigil_sdk_litellm.proxy.startup_failure.exit_at_startup`).
    """
    global _bootstrapped
    with _lock:
        if _bootstrapped is None:
            _bootstrapped = _bootstrap(hard_exit)
        return _bootstrapped


def _bootstrap(hard_exit: bool | None) -> CustomLogger:
    ensure_log_output()
    try:
        settings = load_settings()
    except ConfigError as error:
        exit_at_startup(error, hard_exit)
    if not settings.enabled:
        logger.warning("sigil: SIGIL_ENABLED=false: the proxy runs without Sigil telemetry")
        return SigilDisabledLogger()
    handler: CustomLogger
    redactor = build_secret_redactor(settings.redact_secrets)  # one per worker, whichever placement
    chosen = settings.recorder
    settings = settings.model_copy(update={"recorder": resolve_recorder(chosen)})
    if settings.spool_dir is not None and settings.tenant_map is not None:
        try:
            spools = build_tenant_spool_links(settings)
        except OSError as exc:  # the tenants' directories cannot be made: as a bad setting, one line
            problem = SettingProblem.invalid(
                "SIGIL_SPOOL_DIR",
                str(settings.spool_dir),
                f"accepted: a directory where tenants/<tenant id>/ can be created ({exc.strerror or exc})",
            )
            exit_at_startup(ConfigError([problem]), hard_exit)
        _flush_at_exit(spools)
        from sigil_sdk_litellm.proxy.offload.callback import OffloadingSigilLogger

        handler = OffloadingSigilLogger(
            link=spools.default,
            router=spools,
            agent_name_metadata_keys=settings.agent_name_metadata_keys,
            redactor=redactor,
        )
    elif settings.spool_dir is not None:
        spool = build_spool_link(settings)
        _flush_at_exit(spool)
        from sigil_sdk_litellm.proxy.offload.callback import OffloadingSigilLogger

        handler = OffloadingSigilLogger(
            link=spool,
            agent_name_metadata_keys=settings.agent_name_metadata_keys,
            redactor=redactor,
        )
    elif settings.recorder == "process":
        link = build_recorder_link(settings)
        _flush_at_exit(link)
        from sigil_sdk_litellm.proxy.offload.callback import OffloadingSigilLogger

        handler = OffloadingSigilLogger(
            link=link,
            agent_name_metadata_keys=settings.agent_name_metadata_keys,
            redactor=redactor,
        )
    elif (router := build_tenant_router(settings)) is not None:
        _flush_at_exit(router)
        handler = build_handler(settings, router.default, router=router, redactor=redactor)
    else:
        client = build_client(settings)
        _flush_at_exit(client)
        handler = build_handler(settings, client, redactor=redactor)
    logger.info(
        "sigil: exporting generations to %s over %s (auth: %s, recorder: %s%s, spool: %s, secrets redacted: %s)",
        settings.endpoint,
        settings.protocol,
        settings.auth_mode,
        settings.recorder,
        f" (auto: {usable_cpus():g} CPUs usable, {proxy_workers()} workers)" if chosen == "auto" else "",
        settings.spool_dir or "off",
        settings.redact_secrets,
    )
    if settings.tenant_map is not None:  # ids and selectors only: never a token
        logger.info("sigil: per-team tenants: %r", settings.tenant_map)
    if settings.hooks_enabled:  # Sigil hooks at the gateway (docs/hooks.md); off: nothing is registered
        register_hooks_guardrail(settings)
    return handler


def register_hooks_guardrail(settings: Settings) -> CustomLogger:
    """``SIGIL_HOOKS_ENABLED=true``: the ``sigil-hooks`` guardrail (on by default for SIGIL_HOOKS_PHASES)
    joins LiteLLM's callbacks, beside the recording callback; returns it."""
    import litellm

    from sigil_sdk_litellm.proxy.guardrail import hooks_guardrail

    guardrail = hooks_guardrail(settings)

    def add() -> None:  # add_litellm_callback keeps one entry per callback object
        litellm.logging_callback_manager.add_litellm_callback(guardrail)

    add()
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        # In the proxy this runs while LiteLLM resolves `callbacks:` from config.yaml, and a single
        # callback is then assigned as the whole list (`litellm.callbacks = [handler]`), dropping what was
        # added meanwhile. The proxy's startup goes on synchronously until its next await, so adding
        # once more at the loop's next turn lands after that assignment.
        loop.call_soon(add)
    logger.info("sigil: evaluating hooks (%s) on each chat completion: %r", settings.hooks_phases, guardrail)
    return guardrail


def build_recorder_link(settings: Settings) -> RecorderLink:
    """The recorder process of this proxy worker (``SIGIL_RECORDER=process``), started now.

    It inherits this environment and is handed these settings, validated (:func:`recorder_handover`);
    it builds its own client from them (:func:`~sigil_sdk_litellm.proxy.builders.recorder_from_env`, which
    imports neither LiteLLM nor pydantic) and exports what it was handed when the link closes.
    """
    from sigil_sdk_litellm.proxy.handoff.supervisor import recorder_command
    from sigil_sdk_litellm.proxy.offload.pipe import RecorderLink

    env, pass_fds = recorder_handover(settings)
    return RecorderLink(
        recorder_command("sigil_sdk_litellm.proxy.builders:recorder_from_env"),
        env=env,
        pass_fds=pass_fds,
        max_items=settings.buffer_max_items,
        max_bytes=settings.buffer_max_bytes,
        shutdown_grace=settings.shutdown_grace,
        metrics=metrics.handoff() if (metrics := pipeline_metrics(settings.metrics)) is not None else None,
    )


def build_spool_link(
    settings: Settings, tenant: str | None = None, handover: tuple[dict[str, str], tuple[int, ...]] | None = None
) -> SpoolLink:
    """This worker's disk spool and its consumer (a thread here, or the recorder process); with
    ``tenant`` (SIGIL_TENANT_MAP) that tenant's spool, in its own directory, and its client alone.
    ``handover``: the recorders' settings hand-over when several links share one."""
    from sigil_sdk_litellm.proxy.handoff.supervisor import recorder_command
    from sigil_sdk_litellm.proxy.spool.worker_side import SpoolLink

    own = settings if tenant is None else tenant_settings(settings, tenant)
    if tenant is not None and own.spool_dir is not None:
        own.spool_dir.mkdir(parents=True, exist_ok=True)
    if settings.recorder == "process":
        env, pass_fds = handover if handover is not None else recorder_handover(settings)
        env = dict(env)
        if tenant is not None:
            env[RECORDER_TENANT_ENV] = tenant
        command = recorder_command("sigil_sdk_litellm.proxy.builders:recorder_from_env")
        return SpoolLink(own, command=command, env=env, pass_fds=pass_fds)
    return SpoolLink(own, recorder=build_recorder(settings, tenant=tenant))


def build_tenant_spool_links(settings: Settings) -> TenantRouter[SpoolLink]:
    """SIGIL_SPOOL_DIR with SIGIL_TENANT_MAP: a spool and consumer per tenant, so that one tenant's
    outage (its consumer waits until a batch is delivered) never holds another's batches."""
    assert settings.tenant_map is not None
    # one settings file for every tenant's recorder (they read the same settings, and select their tenant)
    handover = recorder_handover(settings) if settings.recorder == "process" else None
    links = {
        tenant.tenant_id: build_spool_link(settings, tenant.tenant_id, handover)
        for tenant in settings.tenant_map.tenants
    }
    return TenantRouter(build_spool_link(settings, DEFAULT_TENANT, handover), links, settings.tenant_map)


def recorder_handover(settings: Settings) -> tuple[dict[str, str], tuple[int, ...]]:
    """A recorder process's environment (this one) and the descriptor it inherits: the validated
    settings in an in-memory file, kept open here for every restart of the recorder."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    fd = handover_file(settings)
    if fd is None:
        return env, ()
    env[HANDOVER_VARIABLE] = str(fd)
    return env, (fd,)


class _Closable(Protocol):
    def shutdown(self) -> None: ...


def _flush_at_exit(client: _Closable) -> None:
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


def _shutdown(client: _Closable) -> None:
    """Export what is still queued, then close the client (a no-op once done); OpenTelemetry's spans and
    metrics (``OTEL_*``) within the same ``SIGIL_SHUTDOWN_GRACE``."""
    try:
        shutdown_within(client.shutdown)
    except Exception as exc:  # noqa: BLE001 - the process is stopping; say what was lost, do not raise
        logger.warning("sigil: flushing generations at exit failed: %s", exc)
