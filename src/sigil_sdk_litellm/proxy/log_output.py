"""Where the package's log lines go in the proxy: stderr, when nothing else is configured."""

from __future__ import annotations

import logging
import sys

# the loggers of this package and of the SDK it records through
PACKAGE_LOGGERS = ("sigil_sdk_litellm", "sigil_sdk")


def ensure_log_output() -> None:
    """Make the package's log lines visible in the proxy.

    The LiteLLM proxy configures no root handler: INFO lines would vanish and warnings print bare.
    When nothing is configured, the package loggers get a stderr handler of their own.
    """
    if logging.getLogger().handlers:
        return
    for name in PACKAGE_LOGGERS:
        package_logger = logging.getLogger(name)
        if package_logger.handlers:
            continue
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s - %(levelname)s: %(message)s", "%H:%M:%S"))
        package_logger.addHandler(handler)
        package_logger.propagate = False
        if package_logger.level == logging.NOTSET:
            package_logger.setLevel(logging.INFO if name == "sigil_sdk_litellm" else logging.WARNING)
