"""LiteLLM callback handler that exports every generation to Grafana Sigil."""

from .handler import SigilLiteLLMLogger, create_sigil_litellm_logger

__version__ = "0.3.0"

__all__ = ["SigilLiteLLMLogger", "__version__", "create_sigil_litellm_logger"]
