"""A recorder process's life: its command line, its start, its restarts with a back-off, its end.

Both ways of handing events to a recorder process use it: the pipe (:mod:`sigil_sdk_litellm.proxy.offload.pipe`)
restarts it when a write finds it gone, the spool's worker side (:mod:`sigil_sdk_litellm.proxy.spool.worker_side`)
watches it and restarts it when it exits. Its stdin is a pipe either way: it closes when the worker goes,
however it goes, which tells the recorder to finish.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from collections.abc import Sequence

from sigil_sdk_litellm.problem_log import ProblemLog
from sigil_sdk_litellm.proxy.metrics import forget_process

# Restart n waits min(MAX_BACKOFF, FIRST_BACKOFF * 2**n) seconds: a recorder that keeps dying costs little.
FIRST_BACKOFF = 0.2
MAX_BACKOFF = 5.0


def recorder_command(factory: str) -> list[str]:
    """The command line of a recorder process whose SdkRecorder comes from ``module:function``."""
    return [sys.executable, "-m", "sigil_sdk_litellm.proxy.offload.recorder_process", "--factory", factory]


class RecorderSupervisor:
    """One recorder process, started now; restarted by :meth:`restart`, or by a watcher thread (``watch``)
    whenever it exits before :meth:`close`."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        pass_fds: Sequence[int] = (),
        problems: ProblemLog | None = None,
        watch: bool = False,
    ) -> None:
        self.command = list(command)
        self.env = env
        self.pass_fds = tuple(pass_fds)
        self.problems = problems or ProblemLog()
        self.restarts = 0
        self._closing = threading.Event()
        self.child: subprocess.Popen[bytes] = self._spawn()
        self._watcher: threading.Thread | None = None
        if watch:
            self._watcher = threading.Thread(target=self._watch, name="sigil-recorder-watch", daemon=True)
            self._watcher.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.command, stdin=subprocess.PIPE, env=self.env, close_fds=True, pass_fds=self.pass_fds
        )

    def restart(self, reason: object) -> bool:
        """Stop the recorder if it still runs, wait the back-off, start a new one; False if it cannot start
        (or the supervisor is closing)."""
        child = self.child
        code = child.poll()
        self.problems.report("offload:restart", f"recorder process exited ({code}, {reason}); restarting it")
        if child.poll() is None:
            child.kill()
            child.wait(5)
        forget_process(child.pid)  # a recorder that died cannot mark its buffer gauges dead itself
        if self._closing.wait(min(MAX_BACKOFF, FIRST_BACKOFF * (2**self.restarts))):
            return False
        try:
            self.child = self._spawn()
        except OSError as exc:
            self.problems.report("offload:spawn", f"could not restart the recorder process: {exc}")
            return False
        self.restarts += 1
        return True

    def _watch(self) -> None:
        while True:
            code = self.child.wait()
            if self._closing.is_set():
                return
            if not self.restart(f"status {code}") and self._closing.wait(MAX_BACKOFF):
                return

    def close(self, grace: float) -> None:
        """Close the recorder's stdin and let it finish within ``grace`` seconds, else kill it."""
        self._closing.set()
        child = self.child
        if child.stdin is not None:
            with contextlib.suppress(OSError):
                child.stdin.close()
        try:
            child.wait(grace)
        except subprocess.TimeoutExpired:
            self.problems.report("offload:grace", f"recorder did not finish within {grace}s; stopping it")
            child.kill()
            child.wait(5)
        forget_process(child.pid)
