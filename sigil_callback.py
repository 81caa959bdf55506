"""The LiteLLM proxy's Sigil callback, configured by ``SIGIL_*`` environment variables.

Name it in the proxy's config.yaml::

    litellm_settings:
      callbacks: sigil_callback.sigil_handler

LiteLLM resolves ``sigil_callback`` first as a file next to config.yaml (it executes
``<config dir>/sigil_callback.py``), else as an importable top-level module: the package installs
this file as one (the wheel force-includes it), so the distribution's ``config/config.yaml`` finds it.

Loading it builds the Sigil client and handler once per process
(:func:`sigil_sdk_litellm.proxy.bootstrap.bootstrap_from_env`). A wrong ``SIGIL_*`` value stops the proxy at
start with one line on stderr, e.g.
``sigil: invalid configuration: SIGIL_AUTH_MODE='bearr' — accepted: none, tenant, bearer, basic``;
``SIGIL_ENABLED=false`` makes ``sigil_handler`` a callback that does nothing. Generations still
queued when the proxy exits are flushed. The variables are documented in the README.
"""

from sigil_sdk_litellm.proxy.bootstrap import bootstrap_from_env

sigil_handler = bootstrap_from_env()
