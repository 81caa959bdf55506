"""The comparison peer's proxy callback: PyPI ``sigil-sdk-litellm`` built from the same ``SIGIL_*`` env.

``bench/config_peer.yaml`` names ``peer_callback.sigil_handler``; LiteLLM executes this file (it sits
next to the config) in the peer's virtualenv (``side_venvs.peer``), where ``sigil_sdk_litellm`` is the
PyPI package, installed there, never copied. ``sigil_sdk.Client()`` resolves the endpoint, protocol,
TLS and auth from the canonical ``SIGIL_*`` variables itself, so the peer sees the same settings as our
handler. Queued generations are flushed at interpreter exit (the bench counts them before stopping).
"""

from __future__ import annotations

import atexit

from sigil_sdk import Client

from sigil_sdk_litellm import SigilLiteLLMLogger

_client = Client()
atexit.register(_client.shutdown)
sigil_handler = SigilLiteLLMLogger(client=_client)
