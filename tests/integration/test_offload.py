"""Out-of-process recording: OffloadingSigilLogger → recorder process → a real sigil_sdk.Client."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from sigil_sdk_litellm.mapping import MappingOptions, map_generation
from sigil_sdk_litellm.proxy.handoff.supervisor import recorder_command
from sigil_sdk_litellm.proxy.offload.callback import OffloadingSigilLogger
from sigil_sdk_litellm.proxy.offload.pipe import RecorderLink
from tests.support import callback_kwargs, failure_slo, standard_logging_object, wait_until

pytestmark = pytest.mark.integration


def read_capture(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def make_link(tmp_path: Path, factory: str = "recorder", **kw: Any) -> tuple[RecorderLink, Path]:
    capture = tmp_path / "capture.jsonl"
    env = dict(os.environ, TEST_CAPTURE_PATH=str(capture), PYTHONPATH=str(Path(__file__).parents[2]))
    env.update(kw.pop("env", {}))
    link = RecorderLink(recorder_command(f"tests.recorder_factories:{factory}"), env=env, **kw)
    return link, capture


def call(n: int, **slo: Any) -> dict[str, Any]:
    return callback_kwargs(standard_logging_object(litellm_call_id=f"call-{n}", **slo))


async def test_events_are_recorded_by_the_recorder_process(tmp_path: Path) -> None:
    link, capture = make_link(tmp_path)
    handler = OffloadingSigilLogger(link=link)
    try:
        for n in range(20):
            await handler.async_log_success_event(call(n), None, None, None)
        failed = callback_kwargs(failure_slo(litellm_call_id="call-failed"), exception=RuntimeError("boom"))
        await handler.async_log_failure_event(failed, None, None, None)
        skipped = callback_kwargs(standard_logging_object(call_type="image_generation"), call_type="image_generation")
        await handler.async_log_success_event(skipped, None, None, None)
    finally:
        link.close()
    records = read_capture(capture)
    assert len(records) == 21
    ids = {r["metadata"]["litellm.call_id"] for r in records}
    assert ids == {f"call-{n}" for n in range(20)} | {"call-failed"}
    ok = next(r for r in records if r["metadata"]["litellm.call_id"] == "call-3")
    direct = map_generation(call(3), None, MappingOptions(agent_name="offloaded")).generation
    assert ok["agent_name"] == "offloaded"
    assert ok["model"] == {"provider": direct.model.provider, "name": direct.model.name}
    assert ok["input"][0]["parts"][0]["text"] == "Say hello"
    assert ok["system_prompt"] == "You are terse."
    assert ok["output"][0]["parts"][0]["text"] == "Hello there!"
    assert ok["usage"]["total_tokens"] == "17"
    bad = next(r for r in records if r["metadata"]["litellm.call_id"] == "call-failed")
    assert bad["call_error"] == "litellm.RateLimitError: slow down"
    assert link.dropped == 0 and link.lost == 0 and link.sent == 21


async def test_a_full_queue_drops_and_counts_instead_of_blocking(tmp_path: Path) -> None:
    link, capture = make_link(tmp_path, "slow_recorder", max_items=5, env={"TEST_RECORD_DELAY": "0.2"})
    handler = OffloadingSigilLogger(link=link)
    try:
        for n in range(200):
            await handler.async_log_success_event(call(n), None, None, None)
        assert link.dropped > 0
        assert handler.problems.count("offload:queue-full") == link.dropped
    finally:
        link.close(timeout=120)
    records = read_capture(capture)
    assert len(records) == 200 - link.dropped


async def test_a_crashed_recorder_is_restarted(tmp_path: Path) -> None:
    link, capture = make_link(tmp_path, "crashing_recorder")
    handler = OffloadingSigilLogger(link=link)
    try:
        await handler.async_log_success_event(call(0), None, None, None)
        assert wait_until(lambda: link.sent == 1)
        await handler.async_log_success_event(
            callback_kwargs(standard_logging_object(litellm_call_id="crash")), None, None, None
        )
        assert wait_until(lambda: (capture.parent / "capture.jsonl.crashed").exists())
        assert wait_until(lambda: link._child is not None and link._child.poll() is not None, timeout=5)
        for n in range(1, 6):
            await handler.async_log_success_event(call(n), None, None, None)
        assert wait_until(lambda: link.restarts == 1, timeout=10)
    finally:
        link.close()
    ids = {r["metadata"]["litellm.call_id"] for r in read_capture(capture)}
    assert {f"call-{n}" for n in range(1, 6)} <= ids
    assert handler.problems.count("offload:restart") == 1


@pytest.mark.parametrize("tenants", [False, True])
def test_the_recorder_process_loads_neither_litellm_nor_pydantic(tmp_path: Path, tenants: bool) -> None:
    """The worker hands its validated settings over (tenants included): the recorder skips LiteLLM, the
    settings model (pydantic, pydantic-settings) and, without a spool, sqlite3 (docs/memory.md); and
    the handed-over secrets are not in its environment."""
    from sigil_sdk_litellm.proxy.bootstrap import load_settings, recorder_handover

    modules = tmp_path / "modules.txt"
    env = {"SIGIL_ENDPOINT": "http://127.0.0.1:9/api", "SIGIL_PROTOCOL": "http"}
    if tenants:
        token = tmp_path / "token"
        token.write_text("tok-ml-from-a-file")
        env["SIGIL_TENANT_MAP"] = json.dumps({"team_id:t1": {"tenant_id": "ml", "token_file": str(token)}})
    link_env, pass_fds = recorder_handover(load_settings(env))
    link_env.update(TEST_MODULES_PATH=str(modules), PYTHONPATH=str(Path(__file__).parents[2]))
    factory = "tests.recorder_factories:recorder_from_env_listing_modules"
    link = RecorderLink(recorder_command(factory), env=link_env, pass_fds=pass_fds)
    try:
        assert wait_until(modules.exists, timeout=60)
        assert link._child is not None
        environ = Path(f"/proc/{link._child.pid}/environ").read_bytes()
        assert b"SIGIL_RECORDER_SETTINGS" in environ  # the descriptor's number, not the values
        assert b"tok-ml-from-a-file" not in environ and b"127.0.0.1:9" not in environ
    finally:
        link.close(timeout=30)
    loaded = {name.partition(".")[0] for name in modules.read_text(encoding="utf-8").split()}
    assert "sigil_sdk" in loaded and "sigil_sdk_litellm" in loaded  # the listing is of a real recorder
    assert not loaded & {"litellm", "pydantic", "pydantic_core", "pydantic_settings", "sqlite3"}
