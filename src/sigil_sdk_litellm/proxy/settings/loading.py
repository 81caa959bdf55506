"""The settings of the environment, read once per process, with their warnings said once.

:func:`load_settings` is what the bootstrap, a config.yaml guardrail and a recorder process started by hand
call; ``Settings.from_env`` is the reader itself (:mod:`.environment`, :mod:`.model`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from sigil_sdk_litellm.proxy.settings.model import Settings, unknown_variables

logger = logging.getLogger(__name__)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings of ``env`` (default ``os.environ``); raises :class:`ConfigError`.

    Warns once per process (names only, never values) about ``SIGIL_*`` variables that are no setting, and about
    settings that are valid but probably not meant.
    """
    settings = Settings.from_env(env)
    unknown = unknown_variables(os.environ if env is None else env)
    warnings = [
        f"ignoring {', '.join(unknown)}: not a setting of this proxy (see the configuration table in the README)"
    ]
    for warning in (warnings if unknown else []) + list(settings.notices()):
        if warning not in _WARNED:  # the callback and a config.yaml guardrail both load: say it once
            _WARNED.add(warning)
            logger.warning("sigil: %s", warning)
    return settings


_WARNED: set[str] = set()
