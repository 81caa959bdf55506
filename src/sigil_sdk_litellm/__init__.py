"""LiteLLM callback handler that exports every generation to Grafana Sigil."""

__version__ = "0.3.0"
