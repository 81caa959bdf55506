"""How a proxy worker stops when its configuration is wrong: one line on stderr, then the right exit status.

Both the callback's bootstrap and a guardrail LiteLLM builds from config.yaml stop this way.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

from sigil_sdk_litellm.proxy.settings import ConfigError

# The exit status of a worker that cannot start. uvicorn's supervisor (STARTUP_FAILURE) and gunicorn's
# arbiter (WORKER_BOOT_ERROR) both read 3 as "failed to boot: stop the server"; any other status makes
# them start the worker again, forever.
EXIT_STARTUP_FAILURE = 3
# The exit status outside the proxy (a plain ``import sigil_callback``): a usage/configuration error.
EXIT_CONFIG_ERROR = 2


def exit_at_startup(error: ConfigError, hard_exit: bool | None) -> NoReturn:
    """Print ``error`` (one line) and end the process: ``os._exit(3)`` inside the LiteLLM proxy (``hard_exit=None``
    detects it), else ``SystemExit(2)``."""
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
