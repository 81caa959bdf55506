"""LiteLLM callback handler that exports every generation to Grafana Sigil.

The handler classes are imported on first use, so tools that only need the LiteLLM-free parts of
this package (the out-of-process recorder) never import LiteLLM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.3.0"

__all__ = ["SigilLiteLLMLogger", "__version__", "create_sigil_litellm_logger"]

if TYPE_CHECKING:
    from sigil_sdk_litellm.handler import SigilLiteLLMLogger, create_sigil_litellm_logger


def __getattr__(name: str) -> Any:
    if name in ("SigilLiteLLMLogger", "create_sigil_litellm_logger"):
        from sigil_sdk_litellm import handler

        return getattr(handler, name)
    raise AttributeError(f"module 'sigil_sdk_litellm' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
