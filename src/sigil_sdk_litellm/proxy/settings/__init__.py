"""The proxy distribution's configuration: every ``SIGIL_*`` variable, validated at start.

:class:`Settings` (:mod:`.model`) declares them; :mod:`.environment` reads them (variables,
``<VARIABLE>_FILE``, ``SIGIL_SECRETS_DIR``, ``AGENTO11Y_*`` aliases); :mod:`.values` parses each;
:mod:`.consistency` checks combinations; :mod:`.problems` writes a wrong configuration as one line
(:class:`ConfigError`). The README's table of them is rendered by ``python -m sigil_env_table``.
"""

from __future__ import annotations

from sigil_sdk_litellm.proxy.settings.environment import DEFAULT_SECRETS_DIR, alias_of
from sigil_sdk_litellm.proxy.settings.errors import ConfigError, SettingProblem
from sigil_sdk_litellm.proxy.settings.model import Settings, unknown_variables

__all__ = ["DEFAULT_SECRETS_DIR", "ConfigError", "SettingProblem", "Settings", "alias_of", "unknown_variables"]
