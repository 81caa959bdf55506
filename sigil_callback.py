"""LiteLLM proxy callback module (filled in by the distribution bootstrap)."""
