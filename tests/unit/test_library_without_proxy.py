"""The library works without the ``[proxy]`` extra: the handler never imports what only the proxy needs.

A fresh interpreter where every import *by a sigil_sdk_litellm module* of the proxy subpackage,
pydantic-settings, prometheus-client or PyYAML fails (a meta-path finder), builds the handler on a real
``sigil_sdk.Client`` and records one LiteLLM success event. LiteLLM itself imports pydantic-settings and
PyYAML (they are its dependencies), so LiteLLM and the test helpers are loaded first and those modules
are then dropped from ``sys.modules``: the library's own imports of them go through the finder again.
The import-linter contract checks the same boundary statically; this checks the running handler.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import importlib.abc
import json
import sys

from litellm.integrations.custom_logger import CustomLogger  # noqa: F401 - LiteLLM loads its own deps first
from tests.support import callback_kwargs, capturing_client

BLOCKED = ("sigil_sdk_litellm.proxy", "pydantic_settings", "prometheus_client", "yaml")


def blocked(name):
    return any(name == top or name.startswith(top + ".") for top in BLOCKED)


def importer():
    frame = sys._getframe(2)
    while frame is not None and "importlib" in frame.f_code.co_filename:
        frame = frame.f_back
    return frame.f_globals.get("__name__", "") if frame is not None else ""


attempts = []


class LibraryImportBlocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if not blocked(name):
            return None
        by = importer()
        if name.startswith("sigil_sdk_litellm.") or by.startswith("sigil_sdk_litellm"):
            attempts.append(f"{by} imports {name}")
            raise ModuleNotFoundError(f"{name} is not installed (imported by {by})", name=name)
        return None


for name in list(sys.modules):
    if blocked(name) or name.split(".")[0] == "sigil_sdk_litellm":
        del sys.modules[name]
sys.meta_path.insert(0, LibraryImportBlocker())

from sigil_sdk_litellm import SigilLiteLLMLogger

client, exporter = capturing_client()
handler = SigilLiteLLMLogger(client=client, agent_name="bot", extra_tags={"env": "test"})
handler.log_success_event(callback_kwargs(), None, None, None)
client.shutdown()
[g] = exporter.generations
print(json.dumps({
    "attempts": attempts,
    "problems": handler.problems.counts,
    "loaded": sorted(name for name in sys.modules if blocked(name) and name.startswith("sigil_sdk_litellm")),
    "model": [g.model.provider, g.model.name],
    "agent_name": g.agent_name,
    "input": [p.text for m in g.input for p in m.parts],
    "output": [p.text for m in g.output for p in m.parts],
    "usage": [g.usage.input_tokens, g.usage.output_tokens, g.usage.total_tokens],
    "tags": {k: g.tags[k] for k in ("env", "sigil.framework.source")},
    "wire_model": exporter.protos[0].model.name,
}))
"""


def test_the_handler_records_without_anything_only_the_proxy_needs() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["attempts"] == [] and result["loaded"] == [] and result["problems"] == {}
    assert result["model"] == ["openai", "gpt-4o-mini"]
    assert result["agent_name"] == "bot"
    assert result["input"] == ["Say hello"] and result["output"] == ["Hello there!"]
    assert result["usage"] == [12, 5, 17]
    assert result["tags"] == {"env": "test", "sigil.framework.source": "handler"}
    assert result["wire_model"] == "gpt-4o-mini"
