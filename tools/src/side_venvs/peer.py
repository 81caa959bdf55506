"""The comparison peer: PyPI ``sigil-sdk-litellm`` (the package users migrate from) in a side venv.

Shared by the parity test (``tests/integration/test_parity.py``) and the benchmarks (``bench/``).
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

from side_venvs import ensure_venv

PEER_VERSION = os.environ.get("PEER_VERSION", "0.9.3")


def ensure_peer_venv() -> Path:
    """The peer's ``python``: PyPI ``sigil-sdk-litellm==PEER_VERSION`` on top of this interpreter's LiteLLM
    and sigil-sdk, with ``bin/litellm`` beside it to start the proxy for the load benchmark.

    Those dependencies are linked, not installed again: this interpreter's site-packages is searched
    after the peer's own, so the peer's ``sigil_sdk_litellm`` is found first and ours (an editable
    install, whose ``.pth`` is not processed from a linked directory) not at all. Both handlers then
    run on the same LiteLLM and SDK builds (a fair comparison), and the venv costs seconds instead of
    minutes of pip install (measured: ``litellm[proxy]`` ≈ 8 min, plain ``litellm`` ≈ 4.5 min on the
    loaded CI machine). The link makes it one venv per project virtualenv.
    """
    return ensure_venv(
        "peer",
        [f"sigil-sdk-litellm=={PEER_VERSION}"],
        no_deps=True,
        link=Path(sysconfig.get_paths()["purelib"]),
        launchers={"litellm": "litellm.proxy.proxy_cli:run_server"},
    )
