"""The disk spool (``SIGIL_SPOOL_DIR``) through the real proxy: ``kill -9`` of a recorder, of a worker
and of the whole proxy during a Sigil outage, then a restart on the same directory; and a spool on
a full disk (a small tmpfs).

A generation is on disk once LiteLLM's logging task has run the callback, which LiteLLM schedules
after the response (its logging worker queue, in memory, is outside this package's reach). Before
each kill of a worker or of the proxy the test therefore waits until the spool holds every answered
request — it tests that what was spooled survives, not LiteLLM's queue.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_llm.testing import FakeLLMProcess
from sigil_devstack.proxy import ProxyProcess
from sigil_mock_sink.testing import SinkProcess

from tests.integration.test_reliability import Load, assert_exactly_once, proxy_env, wait_for_sink

pytestmark = pytest.mark.integration


def descendants(root: int) -> dict[int, tuple[int, str]]:
    """pid → (parent pid, command line) of every process below ``root``."""
    table: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        table[int(entry.name)] = (ppid, cmdline)
    found: dict[int, tuple[int, str]] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, cmdline) in table.items():
            if ppid == parent and pid not in found:
                found[pid] = (ppid, cmdline)
                frontier.append(pid)
    return found


def recorders(proxy: ProxyProcess) -> dict[int, int]:
    """recorder pid → its worker's pid."""
    assert proxy.process is not None
    tree = descendants(proxy.process.pid)
    return {pid: ppid for pid, (ppid, cmd) in tree.items() if "sigil_sdk_litellm.proxy.offload.recorder_process" in cmd}


def spooled(directory: Path) -> int:
    """Events held by every spool file of ``directory`` (read-only, beside the proxy's writers)."""
    total = 0
    for path in directory.glob("*.spool.sqlite3"):
        with contextlib.suppress(sqlite3.Error), contextlib.closing(sqlite3.connect(path, timeout=5)) as db:
            total += db.execute("SELECT count(*) FROM frames").fetchone()[0]
    return total


def wait_spooled(directory: Path, sink: SinkProcess, conversation: str, answered: int, timeout: float = 30) -> None:
    """Until every answered request is either in the sink or in the spool."""
    deadline = time.monotonic() + timeout
    held = delivered = 0
    while time.monotonic() < deadline:
        held = spooled(directory)
        delivered = len(sink.generations(conversation_id=conversation))
        if held + delivered >= answered:
            return
        time.sleep(0.2)
    raise AssertionError(f"{answered} answered, {delivered} delivered and {held} spooled after {timeout}s")


@pytest.mark.parametrize("recorder", ["process", "inprocess"])
def test_kill_9_during_an_outage_then_restart_delivers_every_answered_request_once(
    fake: FakeLLMProcess, tmp_path: Path, recorder: str
) -> None:
    spool = tmp_path / "spool"
    conversation = f"spool-kill-{recorder}"
    answered: list[str] = []
    with SinkProcess(auth="tenant") as sink:
        env = proxy_env(sink, fake, "http", SIGIL_SPOOL_DIR=str(spool), SIGIL_RECORDER=recorder)
        env["SIGIL_SHUTDOWN_GRACE"] = "4"
        # 2 workers: the process placement (uvicorn's supervisor restarts inprocess workers at start on
        # this loaded 2-core machine, spool or not: it misses their heartbeat while they import)
        workers = 2 if recorder == "process" else 1
        proxy = ProxyProcess(env=env, num_workers=workers)
        with proxy:
            assert proxy.process is not None
            with Load(proxy, conversation) as load:
                time.sleep(2)
                sink.set_faults(unavailable=True)  # 503 until cleared
                time.sleep(4)
                if recorder == "process":  # 1. a worker's recorder; its worker keeps spooling
                    victim = next(iter(recorders(proxy)))
                    os.kill(victim, signal.SIGKILL)
                    time.sleep(3)
                    assert len(recorders(proxy)) == 2, "the recorder was not restarted"
            answered += load.ids
            wait_spooled(spool, sink, conversation, len(answered))
            if workers == 2:  # 2. a worker (its recorder process notices and exits)
                tree = descendants(proxy.process.pid)
                spawned = [
                    pid for pid, (ppid, cmd) in tree.items() if ppid == proxy.process.pid and "spawn_main" in cmd
                ]
                assert len(spawned) == 2, tree
                os.kill(spawned[0], signal.SIGKILL)
                with Load(proxy, conversation) as load:
                    time.sleep(3)
                answered += load.ids
                wait_spooled(spool, sink, conversation, len(answered))
            # 3. the whole proxy, every process of it
            os.killpg(proxy.process.pid, signal.SIGKILL)
            proxy.wait_exit(10)
        assert spooled(spool) > 0, "the outage held nothing back: the test proves nothing"
        sink.clear_faults()
        with ProxyProcess(env=env) as restarted:  # 4. the same directory: the dead processes' spools
            items = wait_for_sink(sink, conversation, len(answered), timeout=90)
            output = restarted.output()
    assert_exactly_once(items, answered)
    assert len(answered) > 20
    assert "Traceback" not in output
    assert list(spool.glob("*.spool.sqlite3")) == [], "spools delivered (or empty at a clean stop) remain"


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (mounting needs root and the capability; skipped with the reason otherwise)."""
    mount = tmp_path / f"tmpfs-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs for a full disk: {result.stderr.strip() or result.returncode}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_drops_new_generations_counted_and_requests_succeed(
    fake: FakeLLMProcess, small_tmpfs: Path
) -> None:
    conversation = "spool-disk-full"
    with SinkProcess(auth="tenant", faults={"unavailable": True}) as sink:
        env = proxy_env(sink, fake, "http", SIGIL_SPOOL_DIR=str(small_tmpfs), SIGIL_SHUTDOWN_GRACE="2")
        env["SIGIL_SPOOL_MAX_BYTES"] = str(64 << 20)  # far above the disk: the disk fills first
        with ProxyProcess(env=env) as proxy:
            with Load(proxy, conversation, threads=4) as load:
                deadline = time.monotonic() + 60
                while "new generations are dropped" not in proxy.output() and time.monotonic() < deadline:
                    time.sleep(0.5)
                time.sleep(1)
            held = spooled(small_tmpfs)
            sink.clear_faults()
            items = wait_for_sink(sink, conversation, held, timeout=60)
            output = proxy.output()
    assert not load.failures, load.failures[:3]
    lines = [line for line in output.splitlines() if "new generations are dropped" in line]
    assert lines and "the disk of SIGIL_SPOOL_DIR is full" in lines[0], output[-3000:]
    assert 0 < held < len(load.ids)
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)) and len(items) >= held
    assert {item["response_id"] for item in items} <= set(load.ids)
    assert "Traceback" not in output
