"""A test-only pre-forking launcher for the LiteLLM proxy: LiteLLM's import paid once, not per start.

The zygote is a process that imports ``litellm.proxy.proxy_server`` once, then forks a child per
start. The child replaces its environment wholesale, sets cwd, stdin, stdout/stderr and a new
session, then runs what the ``litellm`` console script runs, ``sys.exit(run_server())`` with the same
argv, at the top level of the interpreter so shutdown (atexit, exit code) is a normal one. LiteLLM's
start-up (settings, config, our callback's bootstrap) happens in the child, after the environment is
set. A start whose environment differs from the zygote's in a variable LiteLLM read during the import
cannot fork: ``ZygoteClient.can_fork`` says so and ``ProxyProcess`` execs ``litellm`` instead.

Protocol: JSON lines on the zygote's stdin/stdout. The zygote first writes ``{"read": {name: value}}``
(the variables read at import), then per request ``{"pid": N}``, and ``{"exit": N, "status": S}`` when
a child ends (``S`` as ``Popen.returncode``: the code, or ``-signal``).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

# read by iterating os.environ during the import, so they never show as a single read: urllib's
# getproxies (httpx clients built at import) and the pydantic-settings flag of LiteLLM's OTel v2
_ITERATED_SUFFIX = "_proxy"
_ITERATED_NAMES = frozenset({"litellm_otel_v2", "request_method"})
# read by the interpreter itself at start-up (PYTHONUNBUFFERED, PYTHONHASHSEED, …)
_INTERPRETER_PREFIX = "PYTHON"


def read_at_import(name: str, read: dict[str, str | None]) -> bool:
    """Whether the zygote's import (or its interpreter) already used variable ``name``."""
    lower = name.lower()
    return (
        name in read
        or lower.endswith(_ITERATED_SUFFIX)
        or lower in _ITERATED_NAMES
        or name.startswith(_INTERPRETER_PREFIX)
    )


# ---------------------------------------------------------------------------------------------- zygote


def _import_recording_reads() -> dict[str, str | None]:
    """Import LiteLLM's proxy, noting every variable it reads by name and the value it saw."""
    environ_type = type(os.environ)
    getitem, contains, iterate = environ_type.__getitem__, environ_type.__contains__, environ_type.__iter__
    read: dict[str, str | None] = {}
    iterating = [0]  # a whole-environment scan reads every name: those readers are _ITERATED_* above

    def recording_getitem(self: Any, key: str) -> str:
        if not iterating[0]:
            read.setdefault(key, None)
        return getitem(self, key)

    def counting_iter(self: Any) -> Iterator[str]:
        iterating[0] += 1
        try:
            yield from iterate(self)
        finally:
            iterating[0] -= 1

    def recording_contains(self: Any, key: object) -> bool:
        if isinstance(key, str):
            read.setdefault(key, None)
        return contains(self, key)

    environ_type.__getitem__ = recording_getitem  # type: ignore[method-assign]
    environ_type.__contains__ = recording_contains  # type: ignore[method-assign]
    environ_type.__iter__ = counting_iter  # type: ignore[method-assign]
    try:
        import litellm.proxy.proxy_cli
        import litellm.proxy.proxy_server  # noqa: F401
    finally:
        environ_type.__getitem__ = getitem  # type: ignore[method-assign]
        environ_type.__contains__ = contains  # type: ignore[method-assign]
        environ_type.__iter__ = iterate  # type: ignore[method-assign]
    return {name: os.environ.get(name) for name in read}


def _become_child(request: dict[str, Any], fds: list[int]) -> list[str]:
    """In the forked child: the state ``subprocess.Popen`` would have given an exec'd ``litellm``."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for fd in fds:
        os.close(fd)
    os.setsid()
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    log = os.open(request["log"], os.O_WRONLY | os.O_APPEND)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)
    argv: list[str] = request["argv"]
    return argv


def _serve() -> list[str] | None:
    """The zygote's loop; returns in a forked child with the argv to run, or None at end of input."""
    if threading.active_count() != 1:
        raise RuntimeError(f"threads after LiteLLM's import, fork unsafe: {threading.enumerate()}")
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    out = sys.stdout
    pending = b""
    while True:
        ready, _, _ = select.select([0, wake_r], [], [])
        if wake_r in ready:
            os.read(wake_r, 512)
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            out.write(json.dumps({"exit": pid, "status": os.waitstatus_to_exitcode(status)}) + "\n")
            out.flush()
        if 0 not in ready:
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            return None
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            pid = os.fork()
            if pid == 0:
                return _become_child(request, [wake_r, wake_w])
            out.write(json.dumps({"pid": pid}) + "\n")
            out.flush()


def main() -> None:
    read = _import_recording_reads()
    leaked = [name for name in sys.modules if name.startswith("sigil_sdk_litellm")]
    if leaked:
        raise RuntimeError(f"our callback imported before the child's environment is set: {leaked}")
    sys.stdout.write(json.dumps({"read": read}) + "\n")
    sys.stdout.flush()
    argv = _serve()
    if argv is None:
        return
    from litellm import run_server

    # what the ``litellm`` console script does, at the top level of this interpreter
    sys.argv = argv
    sys.exit(run_server())


# ---------------------------------------------------------------------------------------------- client


class ForkedProcess:
    """A ``Popen``-like handle (pid, poll, wait, returncode) on a child of the zygote."""

    def __init__(self, client: ZygoteClient, pid: int) -> None:
        self._client = client
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._client.status(self.pid)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(["litellm (forked)"], timeout or 0.0)
            time.sleep(0.05)
        assert self.returncode is not None
        return self.returncode


class ZygoteClient:
    """One zygote process; ``spawn`` forks a proxy from it, ``close`` ends it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = dict(env)
        self._log = Path(os.devnull)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "sigil_devstack.zygote"],
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._in: IO[bytes] = self._process.stdin
        self._out: IO[bytes] = self._process.stdout
        first = self._out.readline()
        if not first:
            raise RuntimeError(f"zygote exited with {self._process.wait()} before it was ready")
        self.read: dict[str, str | None] = json.loads(first)["read"]
        self._lock = threading.Lock()
        self._exits: dict[int, int] = {}
        self._pids: list[int] = []
        self._cond = threading.Condition(self._lock)
        self._reader = threading.Thread(target=self._read_replies, name="zygote-replies", daemon=True)
        self._reader.start()
        self.forked = 0

    def can_fork(self, env: dict[str, str]) -> bool:
        """False when ``env`` differs from the zygote's in a variable LiteLLM read at import."""
        names = set(env) | set(self.env)
        return all(env.get(n) == self.env.get(n) for n in names if read_at_import(n, self.read))

    def spawn(self, argv: list[str], env: dict[str, str], cwd: str, log: str) -> ForkedProcess:
        with self._cond:
            request = {"argv": argv, "env": env, "cwd": cwd, "log": log}
            self._in.write(json.dumps(request).encode() + b"\n")
            self._in.flush()
            if not self._cond.wait_for(lambda: bool(self._pids), timeout=30):
                raise RuntimeError("zygote did not fork")
            pid = self._pids.pop(0)
        self.forked += 1
        return ForkedProcess(self, pid)

    def status(self, pid: int) -> int | None:
        with self._lock:
            return self._exits.get(pid)

    def _read_replies(self) -> None:
        for line in self._out:
            reply = json.loads(line)
            with self._cond:
                if "pid" in reply:
                    self._pids.append(reply["pid"])
                else:
                    self._exits[reply["exit"]] = reply["status"]
                self._cond.notify_all()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._in.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


if __name__ == "__main__":
    main()
