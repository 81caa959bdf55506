"""A LiteLLM callback that does nothing: the proxy's own cost of having *a* callback at all.

``bench/config_null.yaml`` names ``null_callback.sigil_handler``. With any callback registered, LiteLLM
builds its logging payload (``standard_logging_object`` and friends) and schedules the success
handlers for every request; with none it can skip that. Measuring this configuration next to "no
callback" separates LiteLLM's callback machinery from what a handler itself costs.
"""

from __future__ import annotations

from litellm.integrations.custom_logger import CustomLogger

sigil_handler = CustomLogger()
